/**
 * Shared shapes of fit verdicts: will a model run on this GPU, partly, or not at all — why, and
 * what to change. Closed unions so every adapter (API, CLI, Dashboard) must handle each case.
 */

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

/** Why a verdict came out as it did. */
export type FitReason =
  /** Everything (weights, KV cache, compute buffers) fits in the GPU's free memory. */
  | 'fits-in-vram'
  /** No GPU given: the model runs on the CPU, from RAM. */
  | 'no-gpu'
  /** The weights alone exceed the GPU budget (offload what fits). */
  | 'weights-exceed-vram'
  /** The weights fit but the KV cache / compute buffers for the asked context do not. */
  | 'context-exceeds-vram'
  /** vLLM: free memory is below gpu_memory_utilization × total, so vLLM refuses to start. */
  | 'free-memory-below-utilization'
  /** vLLM: not even one sequence of max_model_len fits in the KV cache space left. */
  | 'kv-cache-too-small'
  /** Nothing fits: not the GPU, and not RAM either (or RAM was not given for a CPU fallback). */
  | 'exceeds-memory';

export type FitVerdict =
  | { kind: 'fits'; device: 'gpu' | 'cpu'; reason: FitReason; message: string }
  /** `gpuLayers` is llama.cpp's n_gpu_layers (0…layers+1): the output layer plus gpuLayers − 1 blocks. */
  | { kind: 'partial-offload'; gpuLayers: number; totalLayers: number; reason: FitReason; message: string }
  | { kind: 'does-not-fit'; reason: FitReason; message: string };

/** Something the user can change to make a model fit (or fit better). */
export type FitSuggestion =
  | { kind: 'smaller-context'; contextSize: number; message: string }
  /** llama.cpp: a quantized V cache needs flash attention. */
  | { kind: 'quantize-kv-cache'; cacheType: 'q8_0' | 'q4_0' | 'fp8'; requiresFlashAttention: boolean; message: string }
  | { kind: 'smaller-quantization'; maxWeightsBytes: number; message: string }
  | { kind: 'cpu-only'; ramBytes: number; message: string }
  | { kind: 'other-gpu'; gpuIndex: number; freeMiB: number; message: string }
  | { kind: 'raise-gpu-memory-utilization'; gpuMemoryUtilization: number; message: string }
  | { kind: 'lower-gpu-memory-utilization'; gpuMemoryUtilization: number; message: string };

/** Another GPU the model could go to instead. */
export interface OtherGpu {
  index: number;
  freeMiB: number;
}

