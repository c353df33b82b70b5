/**
 * Domain types for hardware detection: what a GPU, a GPU process, the CPU, memory, OS and disk look
 * like once probed, and how each probing tool fared. They are the contract's types (one declaration,
 * with its zod schema, in src/shared/contract/hardware.ts), so the API, CLI and Dashboard send them as is.
 */
import type { HardwareReport as HardwareReportDto, gpuVendors, probeOutcomes } from '../../shared/contract/hardware.js';

export type { CpuInfo, DiskInfo, GpuInfo, GpuProcess, MemoryInfo, OsInfo, ProbeStatus } from '../../shared/contract/hardware.js';

/** Who made the GPU. `other` covers anything systeminformation reports that we don't recognise. */
export type GpuVendor = (typeof gpuVendors)[number];

/** How one probing tool fared. `not-present`: the binary is missing (ENOENT), which is normal. */
export type ProbeOutcome = (typeof probeOutcomes)[number];

/**
 * Everything `detectHardware` found: the API's report less what the hardware feature adds (GPU
 * memory attribution, the container platform). A part that could not be read is absent, and its
 * probe says why.
 */
export type HardwareReport = Omit<HardwareReportDto, 'attribution' | 'containerPlatform'>;

/** A GPU as placement and the services' guards name it: its index and model (a GpuInfo is one). */
export interface GpuRef {
  index: number;
  name: string;
}
