/**
 * CPU, RAM, OS and GPUs of vendors without a dedicated tool, through systeminformation; free disk
 * at the data directory through statfs. systeminformation is injected as a narrow interface so
 * tests can replace it and so this file does not depend on its full typings.
 */
import { readFile, statfs } from 'node:fs/promises';
import os from 'node:os';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { CpuInfo, DiskInfo, GpuInfo, GpuVendor, MemoryInfo, OsInfo } from './types.js';

/** The part of systeminformation that detection uses. */
export interface SystemInformationLike {
  cpu(): Promise<{ manufacturer: string; brand: string; cores: number; physicalCores: number }>;
  cpuFlags(): Promise<string>;
  mem(): Promise<{ total: number; available: number }>;
  graphics(): Promise<{
    controllers: Array<{ vendor: string; model: string; vram: number | null; bus?: string; pciBus?: string; driverVersion?: string }>;
  }>;
}

/** Reads CPU model, cores, threads and the SIMD flags llama.cpp's CPU builds care about. */
export async function readCpu(si: SystemInformationLike): Promise<CpuInfo> {
  const [cpu, flagText] = await Promise.all([si.cpu(), si.cpuFlags()]);
  const flags = flagText.split(/\s+/).filter(Boolean);
  return {
    manufacturer: cpu.manufacturer,
    brand: cpu.brand,
    cores: cpu.physicalCores,
    threads: cpu.cores,
    avx2: flags.includes('avx2'),
    // avx512f is the foundation every AVX-512 CPU has; the other subsets are optional extras.
    avx512: flags.includes('avx512f'),
    flags,
  };
}

export async function readMemory(si: SystemInformationLike): Promise<MemoryInfo> {
  const m = await si.mem();
  return { totalBytes: m.total, availableBytes: m.available };
}

/**
 * OS name and versions from node:os and /etc/os-release, not systeminformation's osInfo(), which
 * spawns several commands and took ~0.5 s here (it was the slowest part of detection).
 */
export async function readOs(): Promise<OsInfo> {
  let distro: string = os.type();
  let release = os.release();
  if (process.platform === 'linux') {
    try {
      const text = await readFile('/etc/os-release', 'utf8');
      const field = (k: string) => new RegExp(`^${k}="?([^"\\n]*)"?$`, 'm').exec(text)?.[1];
      distro = field('NAME') ?? distro;
      release = field('VERSION_ID') ?? field('VERSION') ?? release;
    } catch {
      // No os-release (minimal containers): keep the kernel's name and version.
    }
  } else if (process.platform === 'darwin' || process.platform === 'win32') {
    distro = os.version();
  }
  return { platform: process.platform, distro, release, kernel: os.release(), arch: os.arch() };
}

/**
 * Free and total bytes on the filesystem holding `dir`. The data directory may not exist yet on a
 * first run, so the nearest existing ancestor is measured (it is where the directory will live).
 */
export async function readDisk(dir: string): Promise<DiskInfo> {
  let measured = path.resolve(dir);
  while (!existsSync(measured) && path.dirname(measured) !== measured) measured = path.dirname(measured);
  const s = await statfs(measured);
  return { path: dir, measuredPath: measured, freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
}

function vendorOf(name: string): GpuVendor {
  const v = name.toLowerCase();
  if (v.includes('nvidia')) return 'nvidia';
  if (v.includes('intel')) return 'intel';
  if (v.includes('apple')) return 'apple';
  // Word match: "ati" is inside "corporation".
  if (/\b(amd|ati)\b/.test(v) || v.includes('advanced micro devices')) return 'amd';
  return 'other';
}

/**
 * GPUs that systeminformation sees. Used for vendors without a dedicated probe (Intel, Apple,
 * others), and for NVIDIA/AMD only when their own tool did not answer, so a card is never listed
 * twice. systeminformation reports VRAM in MB and no usage, so used/free are unknown (0 / total).
 */
export async function readOtherGpus(si: SystemInformationLike, skipVendors: ReadonlySet<GpuVendor> = new Set()): Promise<GpuInfo[]> {
  const { controllers } = await si.graphics();
  const out: GpuInfo[] = [];
  controllers.forEach((c, i) => {
    const vendor = vendorOf(`${c.vendor} ${c.model}`);
    if (skipVendors.has(vendor)) return;
    const total = c.vram ?? 0;
    out.push({
      index: i,
      uuid: `${vendor}:${c.pciBus ?? c.bus ?? i}`,
      name: c.model || c.vendor || `GPU ${i}`,
      vendor,
      pciBusId: c.pciBus,
      driverVersion: c.driverVersion || undefined,
      memoryTotalMiB: total,
      memoryUsedMiB: 0,
      memoryFreeMiB: total,
    });
  });
  return out;
}
