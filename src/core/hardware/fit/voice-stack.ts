/**
 * Budgets the voice stack (LLM + ASR + TTS) on one GPU: each part's VRAM, the total, and whether
 * it all fits in the GPU's free memory with some headroom left.
 */
import { MiB } from './types.js';
import { formatBytes } from '../../../shared/format-bytes.js';

export type VoiceRole = 'llm' | 'asr' | 'tts';

/** One service's estimate; `gpuBytes` from fitGguf's split, fitVllm's budget, or an engine's figure. */
export interface VoicePartEstimate {
  role: VoiceRole;
  name: string;
  gpuBytes: number;
  /** RAM the part also needs (reported, not budgeted against the GPU). */
  cpuBytes?: number;
}

/** The GPU fields the budget reads; a {@link GpuInfo} satisfies it. */
export interface VoiceGpu {
  index?: number;
  name?: string;
  memoryTotalMiB: number;
  memoryFreeMiB: number;
}

export interface VoiceBudgetPart extends VoicePartEstimate {
  /** Share of the GPU's usable free memory, 0–1 (may exceed 1). */
  shareOfBudget: number;
}

export type VoiceBudgetVerdict =
  | { kind: 'fits'; headroomBytes: number; message: string }
  | { kind: 'does-not-fit'; overByBytes: number; largest: VoiceRole; message: string };

export interface VoiceBudget {
  parts: VoiceBudgetPart[];
  totalGpuBytes: number;
  totalCpuBytes: number;
  /** Free memory minus the headroom kept back. */
  budgetBytes: number;
  verdict: VoiceBudgetVerdict;
}

/**
 * Adds up the parts against the GPU's free memory. `headroomMiB` (default 512) is kept back per
 * GPU for CUDA contexts, which each process creates on its own.
 */
export function budgetVoiceStack(gpu: VoiceGpu, parts: VoicePartEstimate[], options: { headroomMiB?: number } = {}): VoiceBudget {
  const budgetBytes = Math.max(0, (gpu.memoryFreeMiB - (options.headroomMiB ?? 512)) * MiB);
  const totalGpuBytes = parts.reduce((s, p) => s + p.gpuBytes, 0);
  const totalCpuBytes = parts.reduce((s, p) => s + (p.cpuBytes ?? 0), 0);
  const withShare = parts.map((p) => ({ ...p, shareOfBudget: budgetBytes > 0 ? p.gpuBytes / budgetBytes : Infinity }));
  const label = gpu.name ?? `GPU ${gpu.index ?? 0}`;
  if (totalGpuBytes <= budgetBytes) {
    return {
      parts: withShare,
      totalGpuBytes,
      totalCpuBytes,
      budgetBytes,
      verdict: {
        kind: 'fits',
        headroomBytes: budgetBytes - totalGpuBytes,
        message: `The voice stack needs ${formatBytes(totalGpuBytes)} of ${formatBytes(budgetBytes)} usable on ${label}.`,
      },
    };
  }
  const largest = parts.reduce((a, b) => (b.gpuBytes > a.gpuBytes ? b : a));
  return {
    parts: withShare,
    totalGpuBytes,
    totalCpuBytes,
    budgetBytes,
    verdict: {
      kind: 'does-not-fit',
      overByBytes: totalGpuBytes - budgetBytes,
      largest: largest.role,
      message: `The voice stack needs ${formatBytes(totalGpuBytes)} but ${label} has ${formatBytes(budgetBytes)} usable: ${formatBytes(totalGpuBytes - budgetBytes)} over; the ${largest.role} (${largest.name}) is the largest part.`,
    },
  };
}
