/**
 * Command-line configuration of the embedded LLM worker. Every flag is declared once here as one zod
 * schema that the shared worker contract (common/worker-server.ts) parses, so a typo or a bad value
 * stops the worker with one line naming the flag instead of a confusing failure later.
 */
import path from 'node:path';
import { z } from 'zod';
import { intFlag, parseWorkerOptions, portFlag } from '../common/worker-server.js';

/** Which llama.cpp compute backend to ask node-llama-cpp for. */
export type GpuChoice = 'auto' | 'cpu' | 'cuda' | 'vulkan' | 'metal';

export interface LlmWorkerConfig {
  /** Absolute path of the GGUF file. */
  modelPath: string;
  /** The id clients must send as `model` (also listed by /v1/models). */
  modelName: string;
  host: string;
  /** 0 picks a free port; the `listening on` line reports the real one. */
  port: number;
  /** CPU threads for evaluation; 'auto' decides from the model size once its file is known. */
  threads: number | 'auto';
  /** Context size per parallel sequence, in tokens; 'auto' is min(trained context, 4096). */
  ctxSize: number | 'auto';
  gpu: GpuChoice;
  gpuLayers: number | 'max' | 'auto';
  /** Number of sequences generating at once; more concurrent requests get 429. */
  parallel: number;
  maxBodyBytes: number;
  /** Forces a chat wrapper type (node-llama-cpp's resolvable names); 'auto' reads the GGUF. */
  chatTemplate: string;
}

export const DEFAULT_PORT = 8080;
export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;

export const USAGE = `usage: node out/workers/llm.mjs --model PATH [options]
  --model PATH           GGUF file to serve (required)
  --model-name NAME      id clients send as "model" (default: file name without .gguf)
  --host HOST            address to bind (default 127.0.0.1)
  --port N               port to bind, 0 = any free port (default ${DEFAULT_PORT})
  --threads N|auto       CPU threads (default auto: 1 for models under 64 MiB, else all math cores)
  --ctx-size N|auto      context tokens per parallel sequence (default auto: min(trained, 4096))
  --gpu auto|cpu|cuda|vulkan|metal   compute backend (default auto)
  --gpu-layers N|max|auto            layers to offload (default auto)
  --parallel N           concurrent generations (default 1)
  --max-body-bytes N     request body limit (default ${DEFAULT_MAX_BODY_BYTES})
  --chat-template NAME   force a chat wrapper (auto, general, chatML, llama3.1, ...; default auto)`;

const autoOr = <T extends z.ZodType>(inner: T) => z.union([z.literal('auto'), inner]);

/** The worker's command line, one key per flag, validated into {@link LlmWorkerConfig}. */
export const llmOptions = z
  .object({
    model: z.string({ error: '--model PATH is required (the .gguf file to serve)' }).min(1, '--model PATH is required (the .gguf file to serve)'),
    'model-name': z.string().min(1).optional(),
    host: z.string().min(1).default('127.0.0.1'),
    port: portFlag.optional(),
    threads: autoOr(intFlag('--threads', 1)).default('auto'),
    'ctx-size': autoOr(intFlag('--ctx-size', 16)).default('auto'),
    gpu: z.enum(['auto', 'cpu', 'cuda', 'vulkan', 'metal'], { error: '--gpu must be auto, cpu, cuda, vulkan or metal' }).default('auto'),
    'gpu-layers': z.union([z.literal('max'), autoOr(intFlag('--gpu-layers', 0))], { error: '--gpu-layers must be max, auto or a whole number' }).default('auto'),
    parallel: intFlag('--parallel', 1).optional(),
    'max-body-bytes': intFlag('--max-body-bytes', 1).optional(),
    'chat-template': z.string().min(1).default('auto'),
  })
  .transform((f): LlmWorkerConfig => {
    const modelPath = path.resolve(f.model);
    return {
      modelPath,
      modelName: f['model-name'] ?? path.basename(modelPath).replace(/\.gguf$/i, ''),
      host: f.host,
      port: f.port ?? DEFAULT_PORT,
      threads: f.threads,
      ctxSize: f['ctx-size'],
      gpu: f.gpu,
      gpuLayers: f['gpu-layers'],
      parallel: f.parallel ?? 1,
      maxBodyBytes: f['max-body-bytes'] ?? DEFAULT_MAX_BODY_BYTES,
      chatTemplate: f['chat-template'],
    };
  });

/** Parses argv (without node and script) into a validated configuration; throws OptionsError. */
export function parseConfig(argv: readonly string[]): LlmWorkerConfig {
  return parseWorkerOptions(llmOptions, argv);
}
