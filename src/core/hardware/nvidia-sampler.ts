/**
 * The telemetry sample function for NVIDIA GPUs.
 *
 * Why a stream: each spawn costs the parent milliseconds of CPU (a fork of a large Node process),
 * so two `nvidia-smi` spawns per second alone exceed the 1 %-of-a-core budget (bench/telemetry.mjs
 * compares the two modes). In `stream` mode one long-lived
 * `nvidia-smi --query-gpu=… -lms <interval>` prints a block of rows every interval (and keeps NVML
 * initialised, which also makes each probe cheaper for nvidia-smi itself); the per-process query,
 * whose answer changes rarely, is a one-shot spawn every `processesIntervalMs`. `spawn` mode runs
 * both one-shot queries every sample. The loop child ends when telemetry stops (`close`).
 * UNVERIFIED against a real nvidia-smi: `-lms` loop output was only exercised with the fake binary.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { NVIDIA_QUERY_APPS_ARGS, NVIDIA_QUERY_GPU_ARGS, parseNvidiaComputeApps, parseNvidiaQueryGpu } from './nvidia-smi.js';
import { runTool } from './run-tool.js';
import type { GpuSample } from './telemetry.js';
import type { GpuInfo, GpuProcess } from './types.js';

export interface NvidiaSamplerOptions {
  /** nvidia-smi executable (env AIMA_NVIDIA_SMI). Default `nvidia-smi` on PATH. */
  nvidiaSmiPath?: string;
  /** How long a sample may take before it fails. Default 5 s. */
  timeoutMs?: number;
  /** `stream` (default): one looping nvidia-smi; `spawn`: two processes per sample. */
  mode?: 'stream' | 'spawn';
  /** The loop interval passed to nvidia-smi in stream mode; match the telemetry interval. Default 1000. */
  intervalMs?: number;
  /** How often the process list is refreshed. Default 5000 in stream mode, every sample in spawn mode. */
  processesIntervalMs?: number;
}

/** A sample function that may hold a child process: call `close` when sampling stops. */
export interface NvidiaSampler {
  (): Promise<GpuSample[]>;
  close(): void;
}

/** The stream child failed to start this many times in a row: fall back to spawning. */
const MAX_STREAM_FAILURES = 3;

/**
 * Creates the NVIDIA sampler for {@link createTelemetry} (pass `close` as its `onStop`). A sample
 * rejects when the GPU summary cannot be read; a failing process query leaves the lists empty.
 */
export function createNvidiaSampler(options: NvidiaSamplerOptions = {}): NvidiaSampler {
  const file = options.nvidiaSmiPath || 'nvidia-smi';
  const timeoutMs = options.timeoutMs ?? 5_000;
  const intervalMs = options.intervalMs ?? 1000;
  let streaming = (options.mode ?? 'stream') === 'stream';
  const processesIntervalMs = options.processesIntervalMs ?? (streaming ? 5_000 : 0);

  let processes: GpuProcess[] = [];
  let processesAt = -Infinity;

  let child: ChildProcess | undefined;
  let gpuCount = 0;
  let pending: GpuInfo[] = [];
  let partialLine = '';
  let latest: { seq: number; gpus: GpuInfo[] } | undefined;
  let returnedSeq = 0;
  let seq = 0;
  let streamFailures = 0;
  let lastStderr = '';
  const waiters = new Set<{ resolve: () => void; reject: (e: Error) => void }>();

  const notify = (err?: Error) => {
    for (const w of [...waiters]) {
      if (err) w.reject(err);
      else w.resolve();
    }
    waiters.clear();
  };

  const onLine = (line: string) => {
    if (!line.trim()) return;
    let gpu: GpuInfo;
    try {
      [gpu] = parseNvidiaQueryGpu(line);
    } catch {
      pending = []; // a garbled line spoils its block; the next block resynchronises
      return;
    }
    // A repeated index means the previous block was cut short: start over from this row.
    if (pending.some((g) => g.index === gpu.index)) pending = [];
    pending.push(gpu);
    if (pending.length === gpuCount) {
      latest = { seq: ++seq, gpus: pending };
      pending = [];
      streamFailures = 0;
      notify();
    }
  };

  const startStream = () => {
    const c = spawn(file, [...NVIDIA_QUERY_GPU_ARGS, '-lms', String(intervalMs)], { stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    child = c;
    const seqAtStart = seq;
    c.stdout?.setEncoding('utf8');
    c.stdout?.on('data', (chunk: string) => {
      const lines = (partialLine + chunk).split('\n');
      partialLine = lines.pop() ?? '';
      for (const l of lines) onLine(l);
    });
    c.stderr?.setEncoding('utf8');
    c.stderr?.on('data', (chunk: string) => {
      lastStderr = (lastStderr + chunk).slice(-500);
    });
    const ended = (why: string) => {
      if (child !== c) return; // closed on purpose, or already replaced
      child = undefined;
      pending = [];
      partialLine = '';
      if (seq === seqAtStart && ++streamFailures >= MAX_STREAM_FAILURES) streaming = false;
      notify(new Error(`nvidia-smi stream ended (${why})${lastStderr.trim() ? `: ${lastStderr.trim().split('\n').at(-1)}` : ''}`));
    };
    c.on('error', (err) => ended(err.message));
    c.on('exit', (code, signal) => ended(signal ? `signal ${signal}` : `exit code ${code}`));
  };

  const stopStream = () => {
    const c = child;
    child = undefined;
    pending = [];
    partialLine = '';
    if (c && c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  };

  const oneShotGpus = async (): Promise<GpuInfo[]> => {
    const r = await runTool(file, NVIDIA_QUERY_GPU_ARGS, { timeoutMs });
    if (r.kind !== 'ok') throw new Error(r.error);
    return parseNvidiaQueryGpu(r.stdout);
  };

  const refreshProcesses = async () => {
    if (performance.now() - processesAt < processesIntervalMs) return;
    const r = await runTool(file, NVIDIA_QUERY_APPS_ARGS, { timeoutMs });
    processesAt = performance.now();
    try {
      processes = r.kind === 'ok' ? parseNvidiaComputeApps(r.stdout) : [];
    } catch {
      processes = [];
    }
  };

  const nextStreamBlock = async (): Promise<GpuInfo[]> => {
    if (!latest || latest.seq <= returnedSeq) {
      await new Promise<void>((resolve, reject) => {
        const w = { resolve: () => (clearTimeout(timer), resolve()), reject: (e: Error) => (clearTimeout(timer), reject(e)) };
        const timer = setTimeout(() => {
          waiters.delete(w);
          stopStream(); // a silent stream is as good as dead: the next sample starts a new one
          reject(new Error(`nvidia-smi stream gave no sample within ${timeoutMs} ms`));
        }, timeoutMs + intervalMs);
        waiters.add(w);
      });
    }
    returnedSeq = latest!.seq;
    return latest!.gpus;
  };

  const combine = (gpus: GpuInfo[]): GpuSample[] => {
    // Three-column process lists carry no GPU UUID: on a one-GPU host they can only be on that GPU.
    const procs = gpus.length === 1 ? processes.map((p) => (p.gpuUuid ? p : { ...p, gpuUuid: gpus[0].uuid })) : processes;
    return gpus.map((gpu) => ({ gpu, processes: procs.filter((p) => p.gpuUuid === gpu.uuid) }));
  };

  const sample = (async () => {
    const procs = refreshProcesses();
    let gpus: GpuInfo[];
    if (!streaming) {
      gpus = await oneShotGpus();
    } else if (!child) {
      // (Re)starting: a one-shot answers now and tells how many rows make a block.
      gpus = await oneShotGpus();
      gpuCount = gpus.length;
      latest = undefined;
      returnedSeq = seq;
      if (gpuCount > 0) startStream();
    } else {
      gpus = await nextStreamBlock();
    }
    await procs;
    return combine(gpus);
  }) as NvidiaSampler;

  sample.close = () => {
    stopStream();
    notify(new Error('nvidia-smi sampler closed'));
    processesAt = -Infinity;
  };
  return sample;
}
