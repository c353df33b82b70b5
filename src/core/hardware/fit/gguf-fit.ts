/**
 * The GGUF fit verdict: where a llama.cpp model runs (all on the GPU, partly offloaded, on the CPU,
 * or nowhere), why, and what to change. Built on the estimate and split in ./gguf.ts.
 */
import { type FitSuggestion, type FitVerdict, type OtherGpu, MiB } from './types.js';
import { formatBytes } from '../../../shared/format-bytes.js';
import { type GgufMemoryEstimate, type GgufMemoryOptions, type GgufModelFacts, type GgufSplit, estimateGgufMemory, splitGgufMemory } from './gguf.js';

export interface GgufFitOptions extends GgufMemoryOptions {
  /** Free memory on the target GPU; absent = no GPU (CPU only). */
  gpuFreeMiB?: number;
  /**
   * Kept free on the GPU for what the estimate does not count: the CUDA context and cuBLAS
   * workspace (a few hundred MiB per process). Default 512 MiB. UNVERIFIED figure: a rule of thumb.
   */
  headroomMiB?: number;
  /** RAM the model may use (MemAvailable). Absent = the CPU side is not checked. */
  ramAvailableBytes?: number;
  /** Other GPUs, for an "use GPU n instead" suggestion. */
  otherGpus?: OtherGpu[];
}

export interface GgufFit {
  estimate: GgufMemoryEstimate;
  /** The split the verdict chose. */
  split: GgufSplit;
  verdict: FitVerdict;
  suggestions: FitSuggestion[];
}

/** Largest n_gpu_layers (0…layerCount+1) whose GPU part fits `budget` bytes. */
function maxGpuLayers(f: GgufModelFacts, e: GgufMemoryEstimate, budget: number): number {
  for (let n = f.layerCount + 1; n > 0; n--) if (splitGgufMemory(f, e, n).gpuBytes <= budget) return n;
  return 0;
}

function suggest(f: GgufModelFacts, o: GgufFitOptions, e: GgufMemoryEstimate, budget: number): FitSuggestion[] {
  const out: FitSuggestion[] = [];
  const fullGpu = (opts: GgufMemoryOptions) => splitGgufMemory(f, estimateGgufMemory(f, opts), f.layerCount + 1).gpuBytes;
  for (let ctx = Math.floor(e.contextSize / 2); ctx >= 256; ctx = Math.floor(ctx / 2)) {
    if (fullGpu({ ...o, contextSize: ctx }) <= budget) {
      out.push({ kind: 'smaller-context', contextSize: ctx, message: `Use a context of ${ctx} tokens (asked: ${e.contextSize}) to keep every layer on the GPU.` });
      break;
    }
  }
  if (e.cacheType === 'f16') {
    for (const cacheType of ['q8_0', 'q4_0'] as const) {
      if (fullGpu({ ...o, cacheType, flashAttention: true }) <= budget) {
        out.push({
          kind: 'quantize-kv-cache',
          cacheType,
          requiresFlashAttention: true,
          message: `Quantize the KV cache to ${cacheType} (with flash attention) to fit ${e.contextSize} tokens on the GPU.`,
        });
        break;
      }
    }
  }
  const full = splitGgufMemory(f, e, f.layerCount + 1);
  const nonWeights = full.gpuBytes - (f.tensorDataBytes - (f.tokenEmbeddingBytes ?? 0));
  const maxWeightsBytes = Math.floor(budget - nonWeights);
  if (maxWeightsBytes > 0 && maxWeightsBytes < f.tensorDataBytes) {
    out.push({
      kind: 'smaller-quantization',
      maxWeightsBytes,
      message: `Pick a quantization of this model whose file is under ${formatBytes(maxWeightsBytes)} (this one: ${formatBytes(f.tensorDataBytes)}).`,
    });
  }
  const cpu = splitGgufMemory(f, e, 0).cpuBytes;
  if (o.ramAvailableBytes === undefined || cpu <= o.ramAvailableBytes) {
    out.push({ kind: 'cpu-only', ramBytes: cpu, message: `Run it on the CPU: it needs ${formatBytes(cpu)} of RAM (slower).` });
  }
  const headroom = (o.headroomMiB ?? 512) * MiB;
  for (const g of o.otherGpus ?? []) {
    if (g.freeMiB * MiB - headroom >= full.gpuBytes) {
      out.push({ kind: 'other-gpu', gpuIndex: g.index, freeMiB: g.freeMiB, message: `GPU ${g.index} has ${g.freeMiB} MiB free: enough for the whole model.` });
    }
  }
  return out;
}

/**
 * Decides where a GGUF model runs: entirely on the GPU, partly offloaded (how many layers), on the
 * CPU, or nowhere — with the reason and suggestions.
 */
export function fitGguf(f: GgufModelFacts, options: GgufFitOptions = {}): GgufFit {
  const e = estimateGgufMemory(f, options);
  const L = f.layerCount;
  const ram = options.ramAvailableBytes;
  const cpuOnly = splitGgufMemory(f, e, 0);
  const cpuFits = ram === undefined || cpuOnly.cpuBytes <= ram;

  if (options.gpuFreeMiB === undefined) {
    const verdict: FitVerdict = cpuFits
      ? { kind: 'fits', device: 'cpu', reason: 'no-gpu', message: `No GPU: runs on the CPU using ${formatBytes(cpuOnly.cpuBytes)} of RAM.` }
      : { kind: 'does-not-fit', reason: 'exceeds-memory', message: `Needs ${formatBytes(cpuOnly.cpuBytes)} of RAM; ${formatBytes(ram ?? 0)} available.` };
    return { estimate: e, split: cpuOnly, verdict, suggestions: suggest(f, options, e, 0).filter((s) => s.kind === 'other-gpu') };
  }

  const budget = (options.gpuFreeMiB - (options.headroomMiB ?? 512)) * MiB;
  const full = splitGgufMemory(f, e, L + 1);
  if (full.gpuBytes <= budget) {
    return {
      estimate: e,
      split: full,
      verdict: { kind: 'fits', device: 'gpu', reason: 'fits-in-vram', message: `Fits on the GPU: ${formatBytes(full.gpuBytes)} of ${formatBytes(budget)} usable.` },
      suggestions: [],
    };
  }
  const weightsOnGpu = f.tensorDataBytes - (f.tokenEmbeddingBytes ?? 0);
  const reason = weightsOnGpu > budget ? 'weights-exceed-vram' : 'context-exceeds-vram';
  const why =
    reason === 'weights-exceed-vram'
      ? `the weights (${formatBytes(weightsOnGpu)}) exceed the GPU's usable ${formatBytes(Math.max(0, budget))}`
      : `weights + KV cache + compute buffer for ${e.contextSize} tokens (${formatBytes(full.gpuBytes)}) exceed the GPU's usable ${formatBytes(budget)}`;
  const suggestions = suggest(f, options, e, budget);
  const n = maxGpuLayers(f, e, budget);
  const partial = splitGgufMemory(f, e, n);
  if (n > 0 && (ram === undefined || partial.cpuBytes <= ram)) {
    return {
      estimate: e,
      split: partial,
      verdict: { kind: 'partial-offload', gpuLayers: n, totalLayers: L + 1, reason, message: `Partial offload: ${n} of ${L + 1} layers on the GPU, because ${why}.` },
      suggestions,
    };
  }
  if (n === 0 && ram !== undefined && cpuFits) {
    return {
      estimate: e,
      split: cpuOnly,
      verdict: { kind: 'fits', device: 'cpu', reason, message: `Runs on the CPU only, because ${why}.` },
      suggestions,
    };
  }
  return {
    estimate: e,
    split: n > 0 ? partial : cpuOnly,
    verdict: { kind: 'does-not-fit', reason: n > 0 ? 'exceeds-memory' : reason, message: n > 0 ? `Does not fit: the CPU part (${formatBytes(partial.cpuBytes)}) exceeds available RAM too.` : `Does not fit: ${why}.` },
    suggestions,
  };
}
