/**
 * Memory estimate and fit verdict for a Hugging Face safetensors model served by vLLM.
 *
 * vLLM claims `gpu_memory_utilization × total` of the GPU up front. From that budget it subtracts
 * the weights, the peak activation of a profiling forward pass and non-PyTorch allocations; the
 * rest becomes the KV cache. It refuses to start when that KV space cannot hold one sequence of
 * `max_model_len` tokens, and (V1) when the GPU's free memory is below the claimed budget.
 * (vLLM docs, "Engine arguments": --gpu-memory-utilization, --max-model-len, --kv-cache-dtype.)
 */
import { type FitSuggestion, type FitVerdict, type OtherGpu, GiB, MiB } from './types.js';
import { formatBytes } from '../../../shared/format-bytes.js';

export type VllmWeightDtype = 'float32' | 'bfloat16' | 'float16' | 'fp8' | 'int8' | 'int4';
export const VLLM_DTYPE_BYTES: Record<VllmWeightDtype, number> = { float32: 4, bfloat16: 2, float16: 2, fp8: 1, int8: 1, int4: 0.5 };

/** `auto` stores the KV cache in the model's activation dtype (2 bytes for bf16/fp16 models). */
export type VllmKvCacheDtype = 'auto' | 'fp8';

export interface VllmModelFacts {
  /** Parameter counts by dtype, from the safetensors headers (a quantized model mixes dtypes). */
  weights: Array<{ dtype: VllmWeightDtype; parameters: number }>;
  /** config.json num_hidden_layers */
  numLayers: number;
  /** config.json num_attention_heads */
  numAttentionHeads: number;
  /** config.json num_key_value_heads (defaults to num_attention_heads) */
  numKvHeads: number;
  /** config.json head_dim, else hidden_size / num_attention_heads */
  headDim: number;
  hiddenSize: number;
  intermediateSize: number;
  vocabSize: number;
  /** config.json max_position_embeddings: vLLM's default max_model_len. */
  maxPositionEmbeddings: number;
  /** The activation dtype (config.json torch_dtype); KV cache `auto` uses it. */
  activationDtype: 'float32' | 'bfloat16' | 'float16';
}

/** The config.json fields {@link vllmFactsFromHfConfig} reads. */
export interface HfConfigLike {
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads?: number;
  head_dim?: number;
  hidden_size: number;
  intermediate_size: number;
  vocab_size: number;
  max_position_embeddings: number;
  torch_dtype?: string;
}

/** Maps a Hugging Face config.json plus safetensors parameter counts onto {@link VllmModelFacts}. */
export function vllmFactsFromHfConfig(config: HfConfigLike, weights: VllmModelFacts['weights']): VllmModelFacts {
  const dtype = config.torch_dtype === 'float32' || config.torch_dtype === 'float16' ? config.torch_dtype : 'bfloat16';
  return {
    weights,
    numLayers: config.num_hidden_layers,
    numAttentionHeads: config.num_attention_heads,
    numKvHeads: config.num_key_value_heads ?? config.num_attention_heads,
    headDim: config.head_dim ?? config.hidden_size / config.num_attention_heads,
    hiddenSize: config.hidden_size,
    intermediateSize: config.intermediate_size,
    vocabSize: config.vocab_size,
    maxPositionEmbeddings: config.max_position_embeddings,
    activationDtype: dtype,
  };
}

export interface VllmFitOptions {
  gpuTotalMiB: number;
  /** Free memory now; when given, the V1 start-up check (free ≥ util × total) is applied. */
  gpuFreeMiB?: number;
  /** vLLM's --gpu-memory-utilization. Default 0.9, vLLM's default. */
  gpuMemoryUtilization?: number;
  /** vLLM's --max-model-len. Default: maxPositionEmbeddings. */
  maxModelLen?: number;
  kvCacheDtype?: VllmKvCacheDtype;
  /** Tokens in the profiling pass (--max-num-batched-tokens). Default 8192. */
  maxNumBatchedTokens?: number;
  /** --max-num-seqs; bounds the logits computed per step. Default 256. */
  maxNumSeqs?: number;
  /**
   * CUDA context, NCCL/cuBLAS workspaces and the CUDA-graph pool, outside PyTorch's allocator.
   * Default 1 GiB. UNVERIFIED: a rule of thumb, not yet checked against vLLM on a GPU.
   */
  overheadBytes?: number;
  otherGpus?: OtherGpu[];
}

export interface VllmEstimate {
  weightsBytes: number;
  activationBytes: number;
  overheadBytes: number;
  /** gpu_memory_utilization × total. */
  budgetBytes: number;
  kvBytesPerToken: number;
  maxModelLen: number;
  /** KV bytes for one sequence of max_model_len. */
  kvBytesPerSequence: number;
  /** What is left for the KV cache (may be negative). */
  kvCacheBytes: number;
  kvTokenCapacity: number;
  /** How many max_model_len sequences fit at once (vLLM's "maximum concurrency"). */
  maxConcurrency: number;
}

export interface VllmFit {
  estimate: VllmEstimate;
  verdict: FitVerdict;
  suggestions: FitSuggestion[];
}

/** KV bytes per token: 2 (K and V) × layers × kv heads × head dim × bytes per element. */
export function vllmKvBytesPerToken(f: VllmModelFacts, kvCacheDtype: VllmKvCacheDtype = 'auto'): number {
  const bytes = kvCacheDtype === 'fp8' ? 1 : f.activationDtype === 'float32' ? 4 : 2;
  return 2 * f.numLayers * f.numKvHeads * f.headDim * bytes;
}

/** Estimates vLLM's memory split without a verdict. */
export function estimateVllmMemory(f: VllmModelFacts, o: VllmFitOptions): VllmEstimate {
  const util = o.gpuMemoryUtilization ?? 0.9;
  const maxModelLen = o.maxModelLen ?? f.maxPositionEmbeddings;
  const weightsBytes = Math.ceil(f.weights.reduce((s, w) => s + w.parameters * VLLM_DTYPE_BYTES[w.dtype], 0));
  const actBytes = f.activationDtype === 'float32' ? 4 : 2;
  const tokens = o.maxNumBatchedTokens ?? 8192;
  // Peak of the profiling pass: one layer's MLP intermediates (gate and up: 2 × intermediate) and
  // the residual/attention tensors (~4 × hidden) for every batched token, plus f32 logits for the
  // sampled tokens (at most max_num_seqs). Layers run one at a time, so this does not scale with depth.
  const activationBytes =
    tokens * (2 * f.intermediateSize + 4 * f.hiddenSize) * actBytes + Math.min(o.maxNumSeqs ?? 256, tokens) * f.vocabSize * 4;
  const overheadBytes = o.overheadBytes ?? 1 * GiB;
  const budgetBytes = Math.floor(util * o.gpuTotalMiB * MiB);
  const kvBytesPerToken = vllmKvBytesPerToken(f, o.kvCacheDtype);
  const kvCacheBytes = budgetBytes - weightsBytes - activationBytes - overheadBytes;
  const kvTokenCapacity = Math.max(0, Math.floor(kvCacheBytes / kvBytesPerToken));
  return {
    weightsBytes,
    activationBytes,
    overheadBytes,
    budgetBytes,
    kvBytesPerToken,
    maxModelLen,
    kvBytesPerSequence: kvBytesPerToken * maxModelLen,
    kvCacheBytes,
    kvTokenCapacity,
    maxConcurrency: kvTokenCapacity / maxModelLen,
  };
}

/** Decides whether vLLM can serve the model on this GPU, why not, and what to change. */
export function fitVllm(f: VllmModelFacts, o: VllmFitOptions): VllmFit {
  const e = estimateVllmMemory(f, o);
  const util = o.gpuMemoryUtilization ?? 0.9;
  const suggestions: FitSuggestion[] = [];
  const fitsWith = (opts: Partial<VllmFitOptions>) => {
    const x = estimateVllmMemory(f, { ...o, ...opts });
    return x.kvCacheBytes >= x.kvBytesPerSequence;
  };
  const otherGpus = () => {
    for (const g of o.otherGpus ?? []) {
      // Judged on its free memory as if it were the whole card: conservative, since vLLM claims util × total.
      if (fitsWith({ gpuTotalMiB: g.freeMiB, gpuFreeMiB: undefined })) {
        suggestions.push({ kind: 'other-gpu', gpuIndex: g.index, freeMiB: g.freeMiB, message: `GPU ${g.index} (${g.freeMiB} MiB free) can hold it.` });
      }
    }
  };

  if (o.gpuFreeMiB !== undefined && o.gpuFreeMiB < util * o.gpuTotalMiB) {
    const lower = Math.floor((o.gpuFreeMiB / o.gpuTotalMiB) * 100) / 100 - 0.01;
    if (lower > 0 && fitsWith({ gpuMemoryUtilization: lower })) {
      suggestions.push({
        kind: 'lower-gpu-memory-utilization',
        gpuMemoryUtilization: lower,
        message: `Set --gpu-memory-utilization ${lower.toFixed(2)}: other processes hold memory vLLM would claim.`,
      });
    }
    otherGpus();
    return {
      estimate: e,
      verdict: {
        kind: 'does-not-fit',
        reason: 'free-memory-below-utilization',
        message: `vLLM claims ${formatBytes(e.budgetBytes)} (${util} × total) but only ${o.gpuFreeMiB} MiB is free.`,
      },
      suggestions,
    };
  }

  if (e.kvCacheBytes >= e.kvBytesPerSequence) {
    return {
      estimate: e,
      verdict: {
        kind: 'fits',
        device: 'gpu',
        reason: 'fits-in-vram',
        message: `Fits: ${formatBytes(e.kvCacheBytes)} of KV cache = ${e.kvTokenCapacity} tokens, ${e.maxConcurrency.toFixed(1)} × ${e.maxModelLen}-token sequences.`,
      },
      suggestions,
    };
  }

  const weightsTooBig = e.weightsBytes + e.activationBytes + e.overheadBytes >= e.budgetBytes;
  if (!weightsTooBig) {
    // Largest max_model_len the KV space holds, in whole 256-token steps.
    const len = Math.floor(e.kvTokenCapacity / 256) * 256;
    if (len >= 256) {
      suggestions.push({ kind: 'smaller-context', contextSize: len, message: `Set --max-model-len ${len} (asked: ${e.maxModelLen}).` });
    }
    if ((o.kvCacheDtype ?? 'auto') !== 'fp8' && fitsWith({ kvCacheDtype: 'fp8' })) {
      suggestions.push({ kind: 'quantize-kv-cache', cacheType: 'fp8', requiresFlashAttention: false, message: 'Set --kv-cache-dtype fp8 to halve the KV cache.' });
    }
    const higher = 0.95;
    if (util < higher && (o.gpuFreeMiB === undefined || o.gpuFreeMiB >= higher * o.gpuTotalMiB) && fitsWith({ gpuMemoryUtilization: higher })) {
      suggestions.push({ kind: 'raise-gpu-memory-utilization', gpuMemoryUtilization: higher, message: `Set --gpu-memory-utilization ${higher}.` });
    }
  } else {
    const maxWeightsBytes = Math.floor(e.budgetBytes - e.activationBytes - e.overheadBytes - e.kvBytesPerSequence);
    if (maxWeightsBytes > 0) {
      suggestions.push({
        kind: 'smaller-quantization',
        maxWeightsBytes,
        message: `Use a quantized variant (AWQ/GPTQ/FP8) with weights under ${formatBytes(maxWeightsBytes)} (this one: ${formatBytes(e.weightsBytes)}).`,
      });
    }
  }
  otherGpus();
  return {
    estimate: e,
    verdict: weightsTooBig
      ? {
          kind: 'does-not-fit',
          reason: 'weights-exceed-vram',
          message: `Weights (${formatBytes(e.weightsBytes)}) plus activations and overhead exceed vLLM's budget of ${formatBytes(e.budgetBytes)}.`,
        }
      : {
          kind: 'does-not-fit',
          reason: 'kv-cache-too-small',
          message: `Only ${formatBytes(Math.max(0, e.kvCacheBytes))} left for the KV cache; one ${e.maxModelLen}-token sequence needs ${formatBytes(e.kvBytesPerSequence)}.`,
        },
    suggestions,
  };
}
