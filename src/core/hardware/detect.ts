/**
 * One call that answers "what is this machine?": GPUs from every vendor tool (each with its own
 * probe status), CPU, RAM, OS and free disk at the data directory. Never throws: a part that could
 * not be read is absent and the reason is in `gpuProbes` or `errors`.
 */
import { createRequire } from 'node:module';
import type { GpuInfo, GpuVendor, HardwareReport, ProbeStatus } from './types.js';
import { probeNvidia } from './nvidia-smi.js';
import { probeRocm } from './rocm-smi.js';
import { readCpu, readDisk, readMemory, readOs, readOtherGpus, type SystemInformationLike } from './system-info.js';

export interface DetectHardwareOptions {
  /** Directory whose filesystem's free space is reported (AIMA's data directory). */
  dataDir: string;
  /** nvidia-smi executable; the lead feeds env AIMA_NVIDIA_SMI here. Default: `nvidia-smi` on PATH. */
  nvidiaSmiPath?: string;
  /** rocm-smi executable. Default: `rocm-smi` on PATH. */
  rocmSmiPath?: string;
  /** Per-tool timeout. A hung driver must not hang the app. Default 10 s. */
  timeoutMs?: number;
  /** Replaces systeminformation (tests). */
  systemInformation?: SystemInformationLike;
}

class TimeoutError extends Error {}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

async function settle<T>(what: string, p: Promise<T>, errors: string[]): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    errors.push(`${what}: ${(err as Error).message}`);
    return undefined;
  }
}

/** Detects GPUs, CPU, RAM, OS and free disk. See {@link HardwareReport}. */
export async function detectHardware(options: DetectHardwareOptions): Promise<HardwareReport> {
  const started = performance.now();
  const timeoutMs = options.timeoutMs ?? 10_000;
  // Loaded on the first detection, not with the core: most starts answer requests long before one.
  const sys: SystemInformationLike = options.systemInformation ?? (createRequire(import.meta.url)('systeminformation') as SystemInformationLike);
  const errors: string[] = [];

  // systeminformation's graphics() runs alongside the vendor tools; its timing is its own.
  const graphics = (async () => {
    const t0 = performance.now();
    try {
      const gpus = await withTimeout(readOtherGpus(sys), timeoutMs, 'systeminformation graphics');
      return { gpus, status: { tool: 'systeminformation', status: 'ok', durationMs: Math.round(performance.now() - t0) } as ProbeStatus };
    } catch (err) {
      const status: ProbeStatus = {
        tool: 'systeminformation',
        status: err instanceof TimeoutError ? 'timeout' : 'failed',
        error: (err as Error).message,
        durationMs: Math.round(performance.now() - t0),
      };
      return { gpus: [] as GpuInfo[], status };
    }
  })();

  const [nvidia, rocm, other, cpu, memory, os, disk] = await Promise.all([
    probeNvidia({ nvidiaSmiPath: options.nvidiaSmiPath, timeoutMs }),
    probeRocm({ rocmSmiPath: options.rocmSmiPath, timeoutMs }),
    graphics,
    settle('cpu', withTimeout(readCpu(sys), timeoutMs, 'systeminformation cpu'), errors),
    settle('memory', withTimeout(readMemory(sys), timeoutMs, 'systeminformation mem'), errors),
    settle('os', readOs(), errors),
    settle('disk', readDisk(options.dataDir), errors),
  ]);

  // Vendors already answered by their own tool are not listed again from systeminformation.
  const covered = new Set<GpuVendor>();
  if (nvidia.status.status === 'ok') covered.add('nvidia');
  if (rocm.status.status === 'ok') covered.add('amd');
  const others = other.gpus.filter((g) => !covered.has(g.vendor));

  return {
    gpus: [...nvidia.gpus, ...rocm.gpus, ...others],
    gpuProcesses: nvidia.processes,
    gpuProbes: [nvidia.status, rocm.status, other.status],
    cpu,
    memory,
    os,
    disk,
    errors,
    detectedAt: new Date().toISOString(),
    durationMs: Math.round(performance.now() - started),
  };
}
