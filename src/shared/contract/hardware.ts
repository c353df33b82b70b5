/**
 * Hardware as the API shows it: the detection report (GPUs with each probe's outcome, CPU, RAM, OS,
 * disk, the container platform), live GPU telemetry behind a watch lease, and fit estimates.
 * These are also the core's own hardware types (src/core/hardware/types.ts takes them from here).
 */
import { z } from 'zod';
import { fitCacheTypes } from './enums.js';

/** Who made the GPU. `other` covers anything systeminformation reports that we don't recognise. */
export const gpuVendors = ['nvidia', 'amd', 'intel', 'apple', 'other'] as const;
/** How one probing tool fared. `not-present`: the binary is missing (ENOENT), which is normal. */
export const probeOutcomes = ['ok', 'not-present', 'failed', 'timeout'] as const;

/** One GPU as the vendor tool (or systeminformation) describes it. Memory in MiB, as nvidia-smi reports it. */
export const GpuInfo = z.object({
  /** Index in the vendor tool's own numbering (nvidia-smi index, rocm-smi card number). */
  index: z.number().int(),
  /** Stable id: nvidia-smi's `GPU-…` UUID, rocm-smi's Unique ID, or a synthesized `vendor:index`. */
  uuid: z.string(),
  name: z.string(),
  vendor: z.enum(gpuVendors),
  pciBusId: z.string().optional(),
  driverVersion: z.string().optional(),
  /** The CUDA version the driver supports (nvidia-smi `-q -x` cuda_version). */
  cudaVersion: z.string().optional(),
  /** "9.0" for an H100. */
  computeCapability: z.string().optional(),
  /** MIG mode as `-q -x` reports it; absent where the GPU has no MIG. */
  migMode: z.object({ current: z.enum(['enabled', 'disabled']), pending: z.enum(['enabled', 'disabled']) }).optional(),
  memoryTotalMiB: z.number(),
  memoryUsedMiB: z.number(),
  memoryFreeMiB: z.number(),
  /** Percent, 0–100. */
  utilizationGpu: z.number().optional(),
  utilizationMemory: z.number().optional(),
  temperatureC: z.number().optional(),
  powerDrawW: z.number().optional(),
  powerLimitW: z.number().optional(),
  clockSmMHz: z.number().optional(),
  clockSmMaxMHz: z.number().optional(),
});
export type GpuInfo = z.infer<typeof GpuInfo>;

/** A process holding GPU memory. */
export const GpuProcess = z.object({
  pid: z.number().int(),
  name: z.string(),
  usedMemoryMiB: z.number(),
  /** Which GPU; absent when the tool was asked without `gpu_uuid` (older recordings). */
  gpuUuid: z.string().optional(),
});
export type GpuProcess = z.infer<typeof GpuProcess>;

export const ProbeStatus = z.object({
  tool: z.enum(['nvidia-smi', 'rocm-smi', 'systeminformation']),
  status: z.enum(probeOutcomes),
  /** What went wrong, in the tool's own words where it said something (stderr, exit code, timeout). */
  error: z.string().optional(),
  durationMs: z.number(),
});
export type ProbeStatus = z.infer<typeof ProbeStatus>;

export const CpuInfo = z.object({
  manufacturer: z.string(),
  brand: z.string(),
  /** Physical cores. */
  cores: z.number().int(),
  /** Logical processors (hardware threads). */
  threads: z.number().int(),
  avx2: z.boolean(),
  avx512: z.boolean(),
  flags: z.array(z.string()),
});
export type CpuInfo = z.infer<typeof CpuInfo>;
export const MemoryInfo = z.object({
  totalBytes: z.number(),
  /** What the OS could hand out now (MemAvailable on Linux), not just "free". */
  availableBytes: z.number(),
});
export type MemoryInfo = z.infer<typeof MemoryInfo>;
export const OsInfo = z.object({ platform: z.string(), distro: z.string(), release: z.string(), kernel: z.string(), arch: z.string() });
export type OsInfo = z.infer<typeof OsInfo>;
export const DiskInfo = z.object({
  /** The directory asked about. */
  path: z.string(),
  /** The existing directory actually measured (the nearest existing ancestor of `path`). */
  measuredPath: z.string(),
  freeBytes: z.number(),
  totalBytes: z.number(),
});
export type DiskInfo = z.infer<typeof DiskInfo>;

/** Where one GPU's used memory went: AIMA's services (by name) and foreign processes (by name). */
export const GpuAttribution = z.object({
  uuid: z.string(),
  index: z.number().int(),
  usedMiB: z.number(),
  totalMiB: z.number(),
  ownMiB: z.number(),
  own: z.array(z.object({ pid: z.number().int(), service: z.string(), usedMemoryMiB: z.number() })),
  byService: z.record(z.string(), z.number()),
  foreignMiB: z.number(),
  foreign: z.array(z.object({ pid: z.number().int(), name: z.string(), usedMemoryMiB: z.number() })),
  /** Used memory no listed process accounts for (the driver's reservation, other namespaces). */
  unattributedMiB: z.number(),
});
export type GpuAttribution = z.infer<typeof GpuAttribution>;

export const GpuContainerSupport = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('nvidia-runtime'), isDefault: z.boolean() }),
  z.object({ kind: z.literal('cdi'), devices: z.array(z.string()) }),
  z.object({ kind: z.literal('none'), reason: z.literal('nvidia-runtime-missing'), explanation: z.string(), fix: z.string() }),
]);

/** Docker: running (with how GPUs reach containers), or why not and the fix. */
export const ContainerPlatform = z.discriminatedUnion('status', [
  z.object({
    status: z.literal('running'),
    endpoint: z.string(),
    version: z.string(),
    apiVersion: z.string(),
    os: z.string().optional(),
    arch: z.string().optional(),
    defaultRuntime: z.string().optional(),
    runtimes: z.array(z.string()),
    cdiSpecDirs: z.array(z.string()),
    cdiDevices: z.array(z.string()),
    gpu: GpuContainerSupport,
  }),
  z.object({
    status: z.enum(['not-running', 'permission-denied', 'timeout', 'error']),
    endpoint: z.string(),
    error: z.string(),
    fix: z.string(),
  }),
]);
export type ContainerPlatform = z.infer<typeof ContainerPlatform>;

export const HardwareReport = z.object({
  gpus: z.array(GpuInfo),
  gpuProcesses: z.array(GpuProcess),
  /** Per GPU: its processes split into AIMA's services and foreign ones. */
  attribution: z.array(GpuAttribution),
  gpuProbes: z.array(ProbeStatus),
  /** A part that could not be read is absent, and its probe (or `errors`) says why. */
  cpu: CpuInfo.optional(),
  memory: MemoryInfo.optional(),
  os: OsInfo.optional(),
  /** Free space where the data directory is. */
  disk: DiskInfo.optional(),
  containerPlatform: ContainerPlatform,
  /** Errors reading CPU/RAM/OS/disk, one line each. */
  errors: z.array(z.string()),
  detectedAt: z.string(),
  durationMs: z.number(),
});
export type HardwareReport = z.infer<typeof HardwareReport>;

export const HardwareWatchParams = z
  .object({
    /** Renew this lease (or re-open it if it expired); absent = open a new one. */
    leaseId: z.string().min(1).max(100).optional(),
    /** How long the lease lives without a renewal (default 10 s); a client that stops renewing stops the sampling within one lease. */
    ttlMs: z.number().int().min(1000).max(120_000).optional(),
  })
  .strict();
export const HardwareWatch = z.object({
  leaseId: z.string(),
  ttlMs: z.number().int(),
  /** Call hardware.watch with the leaseId this often. */
  renewEveryMs: z.number().int(),
  intervalMs: z.number().int(),
  /** Leases open now, this one included. */
  watchers: z.number().int(),
});
export type HardwareWatch = z.infer<typeof HardwareWatch>;
export const HardwareUnwatchParams = z.object({ leaseId: z.string().min(1).max(100) }).strict();
export const HardwareUnwatch = z.object({ closed: z.boolean(), watchers: z.number().int() });

/** `hardware.sample`: one telemetry tick (1 Hz while watched), or why it failed. */
export const HardwareSample = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('sample'),
    /** Epoch ms when the sample started. */
    at: z.number(),
    durationMs: z.number(),
    gpus: z.array(GpuInfo),
    attribution: z.array(GpuAttribution),
    /** Host RAM and CPU at the same tick (cheap: from the OS, no process spawned). */
    memory: MemoryInfo,
    cpuPercent: z.number(),
  }),
  z.object({ type: z.literal('error'), at: z.number(), error: z.string() }),
]);
export type HardwareSample = z.infer<typeof HardwareSample>;

// ----------------------------------------------------------------------------------- fit

export const fitReasons = [
  'fits-in-vram',
  'no-gpu',
  'weights-exceed-vram',
  'context-exceeds-vram',
  'free-memory-below-utilization',
  'kv-cache-too-small',
  'exceeds-memory',
  /** models.fit only: the model's format has no estimator, or its metadata lacks what one needs. */
  'unsupported-format',
  'missing-metadata',
] as const;

export const FitVerdict = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('fits'), device: z.enum(['gpu', 'cpu']), reason: z.enum(fitReasons), message: z.string() }),
  z.object({ kind: z.literal('partial-offload'), gpuLayers: z.number().int(), totalLayers: z.number().int(), reason: z.enum(fitReasons), message: z.string() }),
  z.object({ kind: z.literal('does-not-fit'), reason: z.enum(fitReasons), message: z.string() }),
  z.object({ kind: z.literal('no-estimate'), reason: z.enum(fitReasons), message: z.string() }),
]);
export type FitVerdict = z.infer<typeof FitVerdict>;

export const FitSuggestion = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('smaller-context'), contextSize: z.number().int(), message: z.string() }),
  z.object({ kind: z.literal('quantize-kv-cache'), cacheType: z.enum(['q8_0', 'q4_0', 'fp8']), requiresFlashAttention: z.boolean(), message: z.string() }),
  z.object({ kind: z.literal('smaller-quantization'), maxWeightsBytes: z.number(), message: z.string() }),
  z.object({ kind: z.literal('cpu-only'), ramBytes: z.number(), message: z.string() }),
  z.object({ kind: z.literal('other-gpu'), gpuIndex: z.number().int(), freeMiB: z.number(), message: z.string() }),
  z.object({ kind: z.literal('raise-gpu-memory-utilization'), gpuMemoryUtilization: z.number(), message: z.string() }),
  z.object({ kind: z.literal('lower-gpu-memory-utilization'), gpuMemoryUtilization: z.number(), message: z.string() }),
]);
export type FitSuggestion = z.infer<typeof FitSuggestion>;

export { fitCacheTypes } from './enums.js';

export const ModelFitParams = z
  .object({
    name: z.string().min(1),
    /** Context (GGUF: per sequence) / vLLM max_model_len. Default: the model's trained context. */
    ctx: z.number().int().min(16).max(10_000_000).optional(),
    /** GPU index; default: the GPU with the most free memory. */
    gpu: z.number().int().min(0).optional(),
    /** KV cache type: f16/q8_0/q4_0 for GGUF (llama.cpp), fp8 for vLLM. */
    cacheType: z.enum(fitCacheTypes).optional(),
    /** Parallel sequences (GGUF). */
    parallel: z.number().int().min(1).max(256).optional(),
  })
  .strict();
export type ModelFitParams = z.input<typeof ModelFitParams>;

/** The numbers behind a verdict; which are present depends on the estimator. Bytes unless named otherwise. */
export const FitNumbers = z.object({
  contextSize: z.number().int().optional(),
  parallel: z.number().int().optional(),
  cacheType: z.string().optional(),
  weightsBytes: z.number().optional(),
  kvCacheBytes: z.number().optional(),
  kvBytesPerToken: z.number().optional(),
  computeBufferBytes: z.number().optional(),
  outputBufferBytes: z.number().optional(),
  totalBytes: z.number().optional(),
  /** GGUF: the chosen split. */
  gpuBytes: z.number().optional(),
  cpuBytes: z.number().optional(),
  gpuLayers: z.number().int().optional(),
  totalLayers: z.number().int().optional(),
  /** vLLM. */
  budgetBytes: z.number().optional(),
  activationBytes: z.number().optional(),
  overheadBytes: z.number().optional(),
  kvTokenCapacity: z.number().optional(),
  maxConcurrency: z.number().optional(),
  /** What was measured against. */
  gpuFreeMiB: z.number().optional(),
  gpuTotalMiB: z.number().optional(),
  ramAvailableBytes: z.number().optional(),
});
export type FitNumbers = z.infer<typeof FitNumbers>;

export const ModelFit = z.object({
  model: z.string(),
  format: z.string(),
  /** Which estimator answered: llama.cpp's memory model for GGUF, vLLM's for safetensors, none otherwise. */
  estimator: z.enum(['gguf', 'vllm']).nullable(),
  gpu: z.object({ index: z.number().int(), name: z.string(), totalMiB: z.number(), freeMiB: z.number() }).nullable(),
  verdict: FitVerdict,
  suggestions: z.array(FitSuggestion),
  numbers: FitNumbers,
  /** Approximations made (missing metadata filled with defaults, ...). */
  notes: z.array(z.string()),
});
export type ModelFit = z.infer<typeof ModelFit>;
