/**
 * Embedded LLM worker: an OpenAI-compatible llama.cpp server process on node-llama-cpp, the default
 * LLM engine of a fresh install. Started by the Services supervisor as
 * `node out/workers/llm.mjs --model PATH --port N ...` (flags in config.ts).
 *
 * It fills in the shared worker contract (common/worker-server.ts). Its stdout lines, one event each:
 *   llm worker: model PATH as NAME (...)     configuration
 *   listening on http://HOST:PORT             the real port, also when --port 0
 *   backend: cpu (...)                        llama.cpp backend chosen
 *   loading model: N%                         every 5% of the load
 *   model loaded in N ms: ...
 *   ready: ...                                /health now answers 200 {status: "ok"}
 * A missing or non-GGUF file fails before listening. Any startup failure prints one line
 * `llm worker: error: ...` (model, backend, fix) to stderr as the last line and exits 1; a bad
 * command line exits 2.
 */
import { USAGE, llmOptions } from './config.js';
import { checkModelFile, loadEngine } from './engine.js';
import type { Engine } from './engine.js';
import { llmHealth, llmRoutes } from './server.js';
import { runWorker } from '../common/worker-server.js';

void runWorker<typeof llmOptions, Engine>({
  name: 'llm',
  usage: USAGE,
  options: llmOptions,
  describe: (c) =>
    `llm worker: model ${c.modelPath} as ${c.modelName} (gpu ${c.gpu}, gpu-layers ${c.gpuLayers}, threads ${c.threads}, ctx-size ${c.ctxSize}, parallel ${c.parallel})`,
  // Nothing to supervise when the file is missing or not a GGUF: fail before listening.
  check: (c) => checkModelFile(c.modelPath),
  reportsProgress: true,
  load: (c, progress, log) => loadEngine(c, { log, onProgress: progress }),
  ready: (c, engine) =>
    `ready: ${c.modelName}, chat template ${engine.chatTemplate.wrapper} (${engine.chatTemplate.source}), ctx ${engine.ctxSize} x ${engine.slots.size} slot(s), ${engine.threads} thread(s), backend ${engine.backend}`,
  routes: llmRoutes,
  health: llmHealth,
  close: (engine) => engine.dispose(),
});
