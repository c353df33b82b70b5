/**
 * Domain types for hardware detection: what a GPU, a GPU process, the CPU, memory, OS and disk look
 * like once probed, and how each probing tool fared. Plain data (JSON-serialisable) so the API, CLI
 * and Dashboard can send it as is.
 */

/** Who made the GPU. `other` covers anything systeminformation reports that we don't recognise. */
export type GpuVendor = 'nvidia' | 'amd' | 'intel' | 'apple' | 'other';

/** One GPU as the vendor tool (or systeminformation) describes it. Memory in MiB, as nvidia-smi reports it. */
export interface GpuInfo {
  /** Index in the vendor tool's own numbering (nvidia-smi index, rocm-smi card number). */
  index: number;
  /** Stable id: nvidia-smi's `GPU-…` UUID, rocm-smi's Unique ID, or a synthesized `vendor:index`. */
  uuid: string;
  name: string;
  vendor: GpuVendor;
  pciBusId?: string;
  driverVersion?: string;
  /** The CUDA version the driver supports (nvidia-smi `-q -x` cuda_version). */
  cudaVersion?: string;
  /** "9.0" for an H100. */
  computeCapability?: string;
  /** MIG mode as `-q -x` reports it; undefined where the GPU has no MIG. */
  migMode?: { current: 'enabled' | 'disabled'; pending: 'enabled' | 'disabled' };
  memoryTotalMiB: number;
  memoryUsedMiB: number;
  memoryFreeMiB: number;
  /** Percent, 0–100. */
  utilizationGpu?: number;
  utilizationMemory?: number;
  temperatureC?: number;
  powerDrawW?: number;
  powerLimitW?: number;
  clockSmMHz?: number;
  clockSmMaxMHz?: number;
}

/** A process holding GPU memory. */
export interface GpuProcess {
  pid: number;
  name: string;
  usedMemoryMiB: number;
  /** Which GPU; absent when the tool was asked without `gpu_uuid` (older recordings). */
  gpuUuid?: string;
}

/** How one probing tool fared. `not-present`: the binary is missing (ENOENT), which is normal. */
export type ProbeOutcome = 'ok' | 'not-present' | 'failed' | 'timeout';

export interface ProbeStatus {
  tool: 'nvidia-smi' | 'rocm-smi' | 'systeminformation';
  status: ProbeOutcome;
  /** What went wrong, in the tool's own words where it said something (stderr, exit code, timeout). */
  error?: string;
  durationMs: number;
}

export interface CpuInfo {
  manufacturer: string;
  brand: string;
  /** Physical cores. */
  cores: number;
  /** Logical processors (hardware threads). */
  threads: number;
  avx2: boolean;
  avx512: boolean;
  flags: string[];
}

export interface MemoryInfo {
  totalBytes: number;
  /** What the OS could hand out now (MemAvailable on Linux), not just "free". */
  availableBytes: number;
}

export interface OsInfo {
  platform: string;
  distro: string;
  release: string;
  kernel: string;
  arch: string;
}

export interface DiskInfo {
  /** The directory asked about. */
  path: string;
  /** The existing directory actually measured (the nearest existing ancestor of `path`). */
  measuredPath: string;
  freeBytes: number;
  totalBytes: number;
}

/** Everything `detectHardware` found. A part that could not be read is absent, and its probe says why. */
export interface HardwareReport {
  gpus: GpuInfo[];
  /** Per-GPU processes holding memory, from nvidia-smi (empty where unknown). */
  gpuProcesses: GpuProcess[];
  gpuProbes: ProbeStatus[];
  cpu?: CpuInfo;
  memory?: MemoryInfo;
  os?: OsInfo;
  disk?: DiskInfo;
  /** Errors reading CPU/RAM/OS/disk, one line each. */
  errors: string[];
  detectedAt: string;
  durationMs: number;
}
