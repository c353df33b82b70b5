/**
 * Loads a GGUF with node-llama-cpp and owns everything that lives as long as the worker: the
 * llama.cpp backend, the model, the generation context with one sequence per parallel slot, the
 * chat wrapper, and the lazily created embedding context. Startup failures become a
 * {@link StartupError} whose message names the model, the backend and the fix.
 */
import { open, stat } from 'node:fs/promises';
import os from 'node:os';
import {
  GeneralChatWrapper,
  GgufInsights,
  InsufficientMemoryError,
  LlamaLogLevel,
  NoBinaryFoundError,
  getLlama,
  getModuleVersion,
  readGgufFileInfo,
  resolvableChatWrapperTypeNames,
  resolveChatWrapper,
} from 'node-llama-cpp';
import type {
  ChatWrapper,
  GgufFileInfo,
  Llama,
  LlamaContext,
  LlamaEmbeddingContext,
  LlamaModel,
  ResolvableChatWrapperTypeName,
} from 'node-llama-cpp';
import { StartupError as WorkerStartupError } from '../common/worker-server.js';
import type { LlmWorkerConfig } from './config.js';
import { SlotPool } from './slots.js';
import { formatBytes } from '../../shared/format-bytes.js';

/** Why the worker could not start; each has its own message and fix. */
export type StartupFailure =
  | 'model-missing'
  | 'not-a-file'
  | 'not-gguf'
  | 'unsupported-architecture'
  | 'out-of-memory'
  | 'no-binary'
  | 'bad-chat-template'
  | 'load-failed';

export class StartupError extends WorkerStartupError {
  constructor(
    readonly reason: StartupFailure,
    message: string,
  ) {
    super(message);
  }
}

/** Where the chat template came from, reported by /health and /v1/models. */
export interface ChatTemplateInfo {
  /** 'gguf': the model's own tokenizer.chat_template; 'flag': --chat-template; 'fallback': see below. */
  source: 'gguf' | 'flag' | 'fallback';
  /** node-llama-cpp's wrapper name, e.g. "JinjaTemplate", "ChatML", "General". */
  wrapper: string;
}

/**
 * Architectures that only produce embeddings (encoders): they get no generation context and answer
 * chat/completions with 400.
 */
const ENCODER_ARCHITECTURES = new Set(['bert', 'nomic-bert', 'nomic-bert-moe', 'jina-bert-v2', 'jina-bert-v3', 'modern-bert', 'neo-bert', 't5encoder']);

/** Models below this size run fastest on one thread: thread sync costs more than the math. */
const TINY_MODEL_BYTES = 64 * 1024 * 1024;

/** Default per-sequence context when --ctx-size is auto: enough for chat, modest on memory. */
const AUTO_CTX_CAP = 4096;

export interface Engine {
  llama: Llama;
  model: LlamaModel;
  /** null for encoder-only (embedding) models. */
  context: LlamaContext | null;
  slots: SlotPool;
  chatWrapper: ChatWrapper;
  chatTemplate: ChatTemplateInfo;
  architecture: string;
  /** 'cpu', 'cuda', 'vulkan' or 'metal'. */
  backend: string;
  threads: number;
  ctxSize: number;
  gpuLayers: number;
  nodeLlamaCppVersion: string;
  /** How long the warm-up evaluation took at load (null: encoder-only model, nothing to warm). */
  warmupMs: number | null;
  /** Embedding context, created on first /v1/embeddings call. */
  embeddingContext(): Promise<LlamaEmbeddingContext>;
  dispose(): Promise<void>;
}

/** Checks the model file before anything heavy runs: exists, is a file, starts with "GGUF". */
export async function checkModelFile(modelPath: string): Promise<void> {
  let info;
  try {
    info = await stat(modelPath);
  } catch {
    throw new StartupError(
      'model-missing',
      `model file not found: ${modelPath}. Fix: pass --model with the path of an existing .gguf file (download or import the model first).`,
    );
  }
  if (!info.isFile()) {
    throw new StartupError('not-a-file', `model path is not a file: ${modelPath}. Fix: pass --model with the path of the .gguf file itself, not its folder.`);
  }
  const handle = await open(modelPath, 'r');
  try {
    const magic = Buffer.alloc(4);
    const { bytesRead } = await handle.read(magic, 0, 4, 0);
    if (bytesRead < 4 || magic.toString('latin1') !== 'GGUF') {
      const seen = bytesRead === 0 ? 'the file is empty' : `it starts with ${JSON.stringify(magic.subarray(0, bytesRead).toString('latin1'))}`;
      throw new StartupError(
        'not-gguf',
        `model file is not a GGUF: ${modelPath} (${seen}, not "GGUF"). Fix: point --model at a .gguf file (llama.cpp models; convert other formats with llama.cpp's convert_hf_to_gguf.py or download a GGUF build).`,
      );
    }
  } finally {
    await handle.close();
  }
}


/** Options for {@link loadEngine}: log lines go to `log`, load progress (0..1) to `onProgress`. */
export interface LoadEngineOptions {
  log: (line: string) => void;
  onProgress: (fraction: number) => void;
}

/**
 * Loads backend, model, context and chat wrapper. Throws {@link StartupError}. Call
 * {@link checkModelFile} first (main does, before it starts listening).
 */
export async function loadEngine(config: LlmWorkerConfig, { log, onProgress }: LoadEngineOptions): Promise<Engine> {
  if (config.chatTemplate !== 'auto' && !(resolvableChatWrapperTypeNames as readonly string[]).includes(config.chatTemplate)) {
    throw new StartupError(
      'bad-chat-template',
      `unknown --chat-template "${config.chatTemplate}" for model ${config.modelPath}. Fix: use one of ${resolvableChatWrapperTypeNames.join(', ')}.`,
    );
  }

  // llama.cpp's own warnings and errors: the last error line explains most load failures.
  let lastLlamaError = '';
  const logger = (level: LlamaLogLevel, message: string) => {
    const text = message.trim();
    if (!text) return;
    if (level === LlamaLogLevel.error || level === LlamaLogLevel.fatal) lastLlamaError = text;
    process.stderr.write(`llama.cpp ${level}: ${text}\n`);
  };

  const wanted = config.gpu === 'cpu' ? false : config.gpu;
  let llama: Llama;
  try {
    // build: 'never' so a missing binary fails in milliseconds instead of compiling llama.cpp.
    llama = await getLlama({ build: 'never', gpu: wanted, logLevel: LlamaLogLevel.warn, logger, progressLogs: false });
  } catch (err) {
    const why = err instanceof NoBinaryFoundError ? 'no prebuilt llama.cpp binary is installed for it' : (err as Error).message;
    const fix =
      config.gpu === 'cuda' || config.gpu === 'vulkan'
        ? `install the ${config.gpu} prebuilt (a plain \`npm ci\` installs @node-llama-cpp/linux-x64-${config.gpu}) and the GPU driver, or start with --gpu auto or --gpu cpu`
        : 'install the CPU prebuilt: npm install @node-llama-cpp/linux-x64 (or the package for this platform)';
    throw new StartupError('no-binary', `cannot start llama.cpp backend "${config.gpu}" for model ${config.modelPath}: ${why}. Fix: ${fix}.`);
  }
  const backend = llama.gpu === false ? 'cpu' : llama.gpu;
  const nodeLlamaCppVersion = await getModuleVersion().catch(() => 'unknown');
  log(`backend: ${backend} (node-llama-cpp ${nodeLlamaCppVersion}, ${llama.buildType} binary)`);

  let fileInfo: GgufFileInfo;
  try {
    fileInfo = await readGgufFileInfo(config.modelPath, { readTensorInfo: true, logWarnings: false });
  } catch (err) {
    throw new StartupError(
      'not-gguf',
      `cannot read the GGUF header of ${config.modelPath}: ${(err as Error).message}. Fix: the file is damaged or truncated; download it again.`,
    );
  }
  const architecture = String(fileInfo.metadata?.general?.architecture ?? 'unknown');
  const insights = await GgufInsights.from(fileInfo, llama);
  if (!insights.isSupportedByLlamaCpp) {
    throw new StartupError(
      'unsupported-architecture',
      `model ${config.modelPath} has architecture "${architecture}", which llama.cpp in node-llama-cpp ${nodeLlamaCppVersion} (backend ${backend}) cannot run. Fix: update node-llama-cpp to a release that supports "${architecture}", or pick a model with a supported architecture.`,
    );
  }
  const encoderOnly = ENCODER_ARCHITECTURES.has(architecture);

  const threads = config.threads === 'auto' ? (insights.modelSize < TINY_MODEL_BYTES ? 1 : Math.max(1, llama.cpuMathCores)) : config.threads;
  const trainCtx = insights.trainContextSize ?? 2048;
  const ctxSize = config.ctxSize === 'auto' ? Math.min(trainCtx, AUTO_CTX_CAP) : config.ctxSize;

  const oom = (what: string, err: unknown) =>
    new StartupError(
      'out-of-memory',
      `out of memory while ${what} ${config.modelPath} (${formatBytes(insights.modelSize)} of weights, backend ${backend}, ctx ${ctxSize} x ${config.parallel} sequences): ${(err as Error).message}. Fix: lower --ctx-size or --parallel, lower --gpu-layers (or --gpu cpu), or use a smaller quantization of the model.`,
    );
  const isOom = (err: unknown) =>
    err instanceof InsufficientMemoryError || /out of memory|insufficient memory|failed to allocate|cannot allocate|ErrorOutOfDeviceMemory/i.test(`${(err as Error)?.message} ${lastLlamaError}`);

  let model: LlamaModel;
  const loadStart = performance.now();
  try {
    model = await llama.loadModel({
      modelPath: config.modelPath,
      gpuLayers: config.gpuLayers,
      onLoadProgress: onProgress,
    });
  } catch (err) {
    if (isOom(err)) throw oom('loading', err);
    if (/unknown model architecture|unsupported model architecture/i.test(lastLlamaError)) {
      throw new StartupError(
        'unsupported-architecture',
        `model ${config.modelPath} has architecture "${architecture}", which llama.cpp in node-llama-cpp ${nodeLlamaCppVersion} (backend ${backend}) cannot load (${lastLlamaError}). Fix: update node-llama-cpp or pick a model with a supported architecture.`,
      );
    }
    const detail = lastLlamaError ? `${(err as Error).message}; llama.cpp said: ${lastLlamaError}` : (err as Error).message;
    throw new StartupError(
      'load-failed',
      `failed to load model ${config.modelPath} (architecture "${architecture}", backend ${backend}): ${detail}. Fix: check that the file is complete (download it again), or try --gpu cpu.`,
    );
  }
  log(`model loaded in ${Math.round(performance.now() - loadStart)} ms: architecture ${architecture}, ${formatBytes(model.size)}, ${backend === 'cpu' ? 'all layers on the CPU' : `${model.gpuLayers}/${insights.totalLayers} layers offloaded to ${backend}`}`);

  let context: LlamaContext | null = null;
  if (!encoderOnly) {
    // node-llama-cpp checks VRAM but not system RAM for an explicit context size: a context that
    // cannot fit in this machine's RAM at all would otherwise be allocated (and swapped) slowly.
    const need = model.fileInsights.estimateContextResourceRequirements({ contextSize: ctxSize, sequences: config.parallel, modelGpuLayers: model.gpuLayers });
    if (need.cpuRam > os.totalmem()) {
      await model.dispose().catch(() => undefined);
      throw oom('creating the context for', new Error(`the context needs about ${formatBytes(need.cpuRam)} of RAM, this machine has ${formatBytes(os.totalmem())}`));
    }
    try {
      context = await model.createContext({ sequences: config.parallel, contextSize: ctxSize, threads });
    } catch (err) {
      await model.dispose().catch(() => undefined);
      if (isOom(err)) throw oom('creating the context for', err);
      throw new StartupError(
        'load-failed',
        `cannot create a context of ${ctxSize} tokens x ${config.parallel} sequences for ${config.modelPath} (backend ${backend}): ${(err as Error).message}. Fix: lower --ctx-size or --parallel.`,
      );
    }
  }

  const warmupMs = context ? await warmUp(model, context, backend) : null;
  if (warmupMs !== null) log(`warm-up: ${Math.round(warmupMs)} ms (a prompt batch and one decoded token on ${backend}, before ready)`);

  const { chatWrapper, chatTemplate } = pickChatWrapper(model, config.chatTemplate);

  let embeddingPromise: Promise<LlamaEmbeddingContext> | null = null;
  const embeddingContext = () => {
    // One context for all embedding requests; batchSize = contextSize because a non-causal
    // (encoder) model must see a whole input in one batch.
    embeddingPromise ??= model.createEmbeddingContext({ contextSize: ctxSize, batchSize: ctxSize, threads });
    embeddingPromise.catch(() => {
      embeddingPromise = null;
    });
    return embeddingPromise;
  };

  return {
    llama,
    model,
    context,
    slots: new SlotPool(context, config.parallel),
    chatWrapper,
    chatTemplate,
    architecture,
    backend,
    threads,
    ctxSize: context?.contextSize ?? ctxSize,
    gpuLayers: model.gpuLayers,
    nodeLlamaCppVersion,
    warmupMs,
    embeddingContext,
    async dispose() {
      await context?.dispose().catch(() => undefined);
      if (embeddingPromise) await (await embeddingPromise.catch(() => null))?.dispose().catch(() => undefined);
      await model.dispose().catch(() => undefined);
      await llama.dispose().catch(() => undefined);
    },
  };
}

/**
 * Runs one short prompt batch and one single-token decode on a sequence that is then given back,
 * so the backend's first-use costs (a GPU backend loads its kernels and math-library handles on the
 * first evaluation, which otherwise lands on the first request's time to first token) are paid
 * while the worker is still loading. Also a smoke test: a model that cannot evaluate fails at load.
 */
async function warmUp(model: LlamaModel, context: LlamaContext, backend: string): Promise<number> {
  const start = performance.now();
  const sequence = context.getSequence();
  try {
    const prompt = model.tokenize('Hello, how are you?');
    const tokens = model.tokens.bos !== null && prompt[0] !== model.tokens.bos ? [model.tokens.bos, ...prompt] : prompt;
    if (tokens.length === 0) return performance.now() - start;
    const generated = sequence.evaluate(tokens, { temperature: 0 });
    const first = await generated.next();
    if (!first.done) await generated.next();
    await generated.return();
  } catch (err) {
    throw new StartupError('load-failed', `the model loaded but its first evaluation failed (backend ${backend}): ${(err as Error).message}. Fix: try --gpu cpu, a smaller --ctx-size, or download the model again.`);
  } finally {
    sequence.dispose();
  }
  return performance.now() - start;
}

/**
 * Chat template policy:
 * - `--chat-template NAME` (other than auto) forces that node-llama-cpp wrapper.
 * - A GGUF with `tokenizer.chat_template` gets `resolveChatWrapper(model)`: node-llama-cpp renders
 *   the Jinja template or the specialised wrapper it recognises as equivalent.
 * - FALLBACK: a GGUF without a chat template gets node-llama-cpp's `GeneralChatWrapper`, a plain
 *   transcript ("### System" / "### Human" / "### Assistant" sections). We do not guess a
 *   model-family template from the file name or architecture (resolveChatWrapper would pick
 *   Llama 2's [INST] format for any llama-architecture base model): models without a template
 *   are mostly base models, which continue a plain transcript better than special-token formats.
 */
function pickChatWrapper(model: LlamaModel, forced: string): { chatWrapper: ChatWrapper; chatTemplate: ChatTemplateInfo } {
  if (forced !== 'auto') {
    const chatWrapper = resolveChatWrapper(model, { type: forced as ResolvableChatWrapperTypeName }) ?? new GeneralChatWrapper();
    return { chatWrapper, chatTemplate: { source: 'flag', wrapper: chatWrapper.wrapperName } };
  }
  const template = model.fileInfo.metadata?.tokenizer?.chat_template;
  if (typeof template === 'string' && template.trim()) {
    const chatWrapper = resolveChatWrapper(model) ?? new GeneralChatWrapper();
    return { chatWrapper, chatTemplate: { source: 'gguf', wrapper: chatWrapper.wrapperName } };
  }
  const chatWrapper = new GeneralChatWrapper();
  return { chatWrapper, chatTemplate: { source: 'fallback', wrapper: chatWrapper.wrapperName } };
}
