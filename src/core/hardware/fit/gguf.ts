/**
 * Memory estimate for a GGUF model on llama.cpp (node-llama-cpp, llama-server): weights, KV cache,
 * compute buffer and output buffer, split between GPU and CPU for a given number of offloaded
 * layers (the verdict is in ./gguf-fit.ts). Inputs are the few metadata fields a model detector reads from the
 * GGUF header ({@link GgufModelFacts}); no file access here.
 */

/** KV cache element types llama.cpp accepts for `--cache-type-k/-v` that AIMA offers. */
export type GgufKvCacheType = 'f16' | 'q8_0' | 'q4_0';

/**
 * Bytes per element. ggml block layouts: q8_0 = 32 int8 + one f16 scale = 34 bytes per 32
 * elements; q4_0 = 16 bytes of nibbles + one f16 scale = 18 bytes per 32.
 */
export const KV_CACHE_BYTES_PER_ELEMENT: Record<GgufKvCacheType, number> = { f16: 2, q8_0: 34 / 32, q4_0: 18 / 32 };

/**
 * What the estimator needs from a GGUF header (`<arch>.*` keys and the tensor table). A model
 * detector maps its metadata onto this; every field names its GGUF key.
 */
export interface GgufModelFacts {
  /** `<arch>.block_count` */
  layerCount: number;
  /** `<arch>.context_length`: the trained context, the default context size. */
  contextLength: number;
  /** `<arch>.embedding_length` */
  embeddingLength: number;
  /** `<arch>.attention.head_count` */
  headCount: number;
  /** `<arch>.attention.head_count_kv` (equals headCount without grouped-query attention). */
  headCountKv: number;
  /** `<arch>.attention.key_length`; default embeddingLength / headCount. */
  keyLength?: number;
  /** `<arch>.attention.value_length`; default embeddingLength / headCount. */
  valueLength?: number;
  /** `<arch>.feed_forward_length`; default 4 × embeddingLength. */
  feedForwardLength?: number;
  /** `<arch>.vocab_size` or the length of `tokenizer.ggml.tokens`. */
  vocabSize: number;
  /** Sum of all tensors' data sizes (≈ file size minus header). */
  tensorDataBytes: number;
  /** Data bytes of each `blk.N.*` group, in order; when absent the rest is spread evenly. */
  layerWeightBytes?: number[];
  /** `token_embd.weight`: llama.cpp keeps it in RAM even at full offload (it is a lookup). */
  tokenEmbeddingBytes?: number;
  /**
   * `output.weight` + `output_norm.weight`: the first thing offloaded (n_gpu_layers ≥ 1). With tied
   * embeddings (no output.weight) llama.cpp duplicates token_embd for the output: pass its size.
   */
  outputBytes?: number;
}

export interface GgufMemoryOptions {
  /** Context per sequence (llama.cpp n_ctx_seq). Default: the trained context. */
  contextSize?: number;
  cacheType?: GgufKvCacheType;
  /** Parallel sequences (llama-server -np, node-llama-cpp `sequences`); each gets its own context. */
  parallel?: number;
  /** Micro-batch (n_ubatch). Default 512, llama.cpp's default. */
  batchSize?: number;
  /** Flash attention skips the n_head × n_kv × n_ubatch score matrix. Default false (the larger estimate). */
  flashAttention?: boolean;
}

export interface GgufMemoryEstimate {
  contextSize: number;
  parallel: number;
  cacheType: GgufKvCacheType;
  /** KV cells actually allocated (all sequences, padded as llama.cpp pads). */
  kvCells: number;
  /** The micro-batch the compute buffer was sized for. */
  batchSize: number;
  weightsBytes: number;
  kvCacheBytes: number;
  kvBytesPerToken: number;
  computeBufferBytes: number;
  /** Host buffer for logits (llama.cpp `output_reserve`). */
  outputBufferBytes: number;
  totalBytes: number;
}

/** llama.cpp pads KV cache sizes to a multiple of 256 cells. */
const KV_PAD = 256;
const padUp = (n: number, to: number) => Math.ceil(n / to) * to;

function headDims(f: GgufModelFacts): { k: number; v: number } {
  const d = f.embeddingLength / f.headCount;
  return { k: f.keyLength ?? d, v: f.valueLength ?? d };
}

/**
 * KV cache bytes per token, all layers: `layers × kvHeads × (keyLength + valueLength) × bytes`.
 * With keyLength = valueLength = headDim this is the familiar 2 × layers × kvHeads × headDim × bytes.
 */
export function ggufKvBytesPerToken(f: GgufModelFacts, cacheType: GgufKvCacheType = 'f16'): number {
  const { k, v } = headDims(f);
  return f.layerCount * f.headCountKv * (k + v) * KV_CACHE_BYTES_PER_ELEMENT[cacheType];
}

/**
 * The compute buffer llama.cpp reserves for its worst-case graph (one full micro-batch), estimated
 * from the largest live intermediates of a Llama-style layer, all f32:
 *   4 × n_ubatch × (n_vocab + 2·n_ff + n_embd + [no flash attention] n_head × n_kv)
 *   + [flash attention] 2 × n_ubatch × n_kv (the f16 KQ mask).
 * The terms follow llama.cpp's graph (src/llama-graph.cpp): logits for every token of the
 * reserve batch, the FFN gate/up activations, the residual stream, and the attention score
 * matrix KQ that flash attention avoids. Calibrated against llama.cpp's own "CPU compute buffer
 * size" log for stories260K (node-llama-cpp 3.22.1, this repo's fit test): 9.76 MiB measured vs
 * 9.78 estimated at ctx 512 without FA; 2.02 vs 2.30 MiB with FA; 2.63 vs 2.90 MiB at ctx 256.
 * UNVERIFIED on large models and GPU backends, where llama.cpp splits the graph between devices.
 */
export function ggufComputeBufferBytes(f: GgufModelFacts, o: Required<Pick<GgufMemoryOptions, 'batchSize' | 'flashAttention'>> & { kvPerSeq: number; cells: number }): number {
  const ubatch = Math.min(o.batchSize, o.cells);
  const ff = f.feedForwardLength ?? 4 * f.embeddingLength;
  const scores = o.flashAttention ? 0 : f.headCount * o.kvPerSeq;
  const mask = o.flashAttention ? 2 * ubatch * o.kvPerSeq : 0;
  return 4 * ubatch * (f.vocabSize + 2 * ff + f.embeddingLength + scores) + mask;
}

/** Estimates the memory a GGUF model needs in total (CPU + GPU) at the given context. */
export function estimateGgufMemory(f: GgufModelFacts, options: GgufMemoryOptions = {}): GgufMemoryEstimate {
  const contextSize = options.contextSize ?? f.contextLength;
  const parallel = Math.max(1, options.parallel ?? 1);
  const cacheType = options.cacheType ?? 'f16';
  const kvPerSeq = padUp(contextSize, KV_PAD);
  const kvCells = kvPerSeq * parallel;
  const kvBytesPerToken = ggufKvBytesPerToken(f, cacheType);
  const kvCacheBytes = Math.ceil(kvBytesPerToken * kvCells);
  const batchSize = options.batchSize ?? 512;
  const computeBufferBytes = ggufComputeBufferBytes(f, {
    batchSize,
    flashAttention: options.flashAttention ?? false,
    kvPerSeq,
    cells: kvCells,
  });
  // llama.cpp reserves logits for one output per sequence up front (n_outputs_max = n_seq_max).
  const outputBufferBytes = 4 * f.vocabSize * parallel;
  const weightsBytes = f.tensorDataBytes;
  return {
    contextSize,
    parallel,
    cacheType,
    kvCells,
    batchSize,
    weightsBytes,
    kvCacheBytes,
    kvBytesPerToken,
    computeBufferBytes,
    outputBufferBytes,
    totalBytes: weightsBytes + kvCacheBytes + computeBufferBytes + outputBufferBytes,
  };
}

function layerBytes(f: GgufModelFacts): number[] {
  if (f.layerWeightBytes && f.layerWeightBytes.length === f.layerCount) return f.layerWeightBytes;
  const rest = f.tensorDataBytes - (f.tokenEmbeddingBytes ?? 0) - (f.outputBytes ?? 0);
  return Array.from({ length: f.layerCount }, () => rest / f.layerCount);
}

export interface GgufSplit {
  gpuLayers: number;
  gpuBytes: number;
  cpuBytes: number;
  /** The weights part of each side (what node-llama-cpp's estimateModelResourceRequirements reports). */
  gpuWeightsBytes: number;
  cpuWeightsBytes: number;
}

/**
 * Splits an estimate between GPU and CPU for llama.cpp's n_gpu_layers = `gpuLayers` (0…layerCount+1).
 * llama.cpp counts the output layer as the last "layer" and offloads from the end:
 * `i_gpu_start = n_layer + 1 - n_gpu_layers` (src/llama-model.cpp in the llama.cpp bundled with
 * node-llama-cpp 3.22.1), so 1 offloads only the output layer, k offloads it plus the last k − 1
 * blocks, and layerCount + 1 offloads everything. Offloaded blocks take their share of the KV cache.
 * The token embedding stays in RAM (an input layer). Any offload puts a full compute buffer on the
 * GPU; the CPU keeps one too unless everything is offloaded (then only the input embeddings).
 */
export function splitGgufMemory(f: GgufModelFacts, e: GgufMemoryEstimate, gpuLayers: number): GgufSplit {
  const L = f.layerCount;
  const n = Math.max(0, Math.min(gpuLayers, L + 1));
  const outputOnGpu = n >= 1;
  const onGpu = Math.max(0, n - 1);
  const layers = layerBytes(f);
  const gpuLayerWeights = layers.slice(L - onGpu).reduce((s, b) => s + b, 0);
  const cpuLayerWeights = layers.slice(0, L - onGpu).reduce((s, b) => s + b, 0);
  const output = f.outputBytes ?? 0;
  const kvPerLayer = e.kvCacheBytes / L;
  const full = n > L;
  const hostCompute = full ? 4 * Math.min(e.batchSize, e.kvCells) * f.embeddingLength : e.computeBufferBytes;
  const gpuWeightsBytes = gpuLayerWeights + (outputOnGpu ? output : 0);
  const cpuWeightsBytes = (f.tokenEmbeddingBytes ?? 0) + cpuLayerWeights + (outputOnGpu ? 0 : output);
  const gpuBytes = n === 0 ? 0 : gpuWeightsBytes + kvPerLayer * onGpu + e.computeBufferBytes;
  const cpuBytes = cpuWeightsBytes + kvPerLayer * (L - onGpu) + hostCompute + e.outputBufferBytes;
  return {
    gpuLayers: n,
    gpuBytes: Math.ceil(gpuBytes),
    cpuBytes: Math.ceil(cpuBytes),
    gpuWeightsBytes: Math.ceil(gpuWeightsBytes),
    cpuWeightsBytes: Math.ceil(cpuWeightsBytes),
  };
}
