/**
 * A size-only fit hint for a GGUF variant before it is downloaded. hardware/fit's estimator
 * (fitGguf) needs the model's facts (layers, heads, context) that only the file's header holds, so
 * a listing gets this rough rule instead: weights plus ~20% for KV cache and buffers, against GPU
 * memory when known, else RAM. The manager takes any `(sizeBytes) => FitHint`, so a better
 * estimator can replace it without touching the downloader.
 */
import type { FitHint } from '../../shared/contract/index.js';
import { formatBytes } from '../../shared/format-bytes.js';

export interface MemoryBudget {
  ramBytes: number;
  /** Free memory of the best GPU, when there is one. */
  gpuFreeBytes?: number;
}


export function sizeFitHint(sizeBytes: number, m: MemoryBudget): FitHint {
  const need = sizeBytes * 1.2;
  if (m.gpuFreeBytes !== undefined && need <= m.gpuFreeBytes) return { kind: 'fits', message: `Fits on the GPU (~${formatBytes(need)} of ${formatBytes(m.gpuFreeBytes)} free).` };
  if (need <= m.ramBytes * 0.6) return { kind: 'fits', message: `Fits in RAM (~${formatBytes(need)} of ${formatBytes(m.ramBytes)})${m.gpuFreeBytes !== undefined ? ', partly offloaded to the GPU' : ''}.` };
  if (need <= m.ramBytes * 0.9) return { kind: 'tight', message: `Tight: needs ~${formatBytes(need)} of ${formatBytes(m.ramBytes)} RAM.` };
  return { kind: 'too-big', message: `Too big: needs ~${formatBytes(need)}, this machine has ${formatBytes(m.ramBytes)} RAM.` };
}
