/**
 * Hardware: detection (nvidia-smi, rocm-smi, systeminformation), GPU telemetry as events, the
 * container platform check, and fit estimators. Electron-free; the composition root wires it to
 * the API, CLI and Dashboard.
 */
export type {
  CpuInfo,
  DiskInfo,
  GpuInfo,
  GpuProcess,
  GpuVendor,
  HardwareReport,
  MemoryInfo,
  OsInfo,
  ProbeOutcome,
  ProbeStatus,
} from './types.js';
export { detectHardware, type DetectHardwareOptions } from './detect.js';
export {
  NVIDIA_QUERY_APPS_ARGS,
  NVIDIA_QUERY_GPU_ARGS,
  NVIDIA_QUERY_GPU_FIELDS,
  NVIDIA_XML_ARGS,
  NvidiaSmiParseError,
  mergeNvidiaDetails,
  parseNvidiaComputeApps,
  parseNvidiaQueryGpu,
  parseNvidiaXml,
  probeNvidia,
  type NvidiaProbeOptions,
  type NvidiaProbeResult,
  type NvidiaXmlGpuDetails,
  type NvidiaXmlReport,
} from './nvidia-smi.js';
export { ROCM_SMI_ARGS, RocmSmiParseError, parseRocmSmiJson, probeRocm, type RocmProbeResult } from './rocm-smi.js';
export { readCpu, readDisk, readMemory, readOs, readOtherGpus, type SystemInformationLike } from './system-info.js';
export { runTool, type RunToolOptions, type ToolResult } from './run-tool.js';
export {
  attributeGpuMemory,
  createTelemetry,
  type ForeignProcessUsage,
  type GpuAttribution,
  type GpuSample,
  type OwnProcessUsage,
  type Telemetry,
  type TelemetryEvent,
  type TelemetryListener,
  type TelemetryOptions,
} from './telemetry.js';
export { createNvidiaSampler, type NvidiaSampler, type NvidiaSamplerOptions } from './nvidia-sampler.js';
export {
  NVIDIA_TOOLKIT_FIX,
  checkContainerPlatform,
  createDockerClient,
  describeEndpoint,
  dockerOptionsFromHost,
  gpuSupportFromInfo,
  type ContainerPlatform,
  type ContainerPlatformFailure,
  type ContainerPlatformReady,
  type ContainerPlatformUnavailable,
  type DockerInfoLike,
  type DockerLike,
  type GpuContainerSupport,
} from './container-platform.js';
export * from './fit/index.js';
