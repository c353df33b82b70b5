/**
 * Embedded LLM worker: an OpenAI-compatible llama.cpp server process on node-llama-cpp, the default
 * LLM engine of a fresh install. Started by the Services supervisor as
 * `node out/workers/llm.mjs --model PATH --port N ...` (flags in config.ts).
 *
 * Startup contract (stdout lines, one event each):
 *   llm worker: model PATH as NAME (...)     configuration
 *   listening on http://HOST:PORT             the real port, also when --port 0
 *   backend: cpu (...)                        llama.cpp backend chosen
 *   loading model: N%                         every 5% of the load
 *   model loaded in N ms: ...
 *   ready: ...                                /health now answers 200 {status: "ok"}
 * A startup failure prints one line `llm worker: error: ...` (model, backend, fix) to stderr as
 * the last line and exits 1; a bad command line exits 2.
 */
import { ConfigError, parseConfig } from './config.js';
import type { LlmWorkerConfig } from './config.js';
import { StartupError, checkModelFile, loadEngine } from './engine.js';
import type { Engine } from './engine.js';
import { createLlmServer } from './server.js';
import type { WorkerState } from './server.js';

const log = (line: string) => process.stdout.write(`${line}\n`);

function fail(message: string, code: number): never {
  process.stderr.write(`llm worker: error: ${message}\n`);
  process.exit(code);
}

async function main(): Promise<void> {
  let config: LlmWorkerConfig;
  try {
    config = parseConfig(process.argv.slice(2));
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message, 2);
    throw err;
  }
  log(
    `llm worker: model ${config.modelPath} as ${config.modelName} (gpu ${config.gpu}, gpu-layers ${config.gpuLayers}, threads ${config.threads}, ctx-size ${config.ctxSize}, parallel ${config.parallel})`,
  );
  // Fail before listening when the file is missing or not a GGUF: nothing to supervise then.
  try {
    await checkModelFile(config.modelPath);
  } catch (err) {
    if (err instanceof StartupError) fail(err.message, 1);
    throw err;
  }

  let state: WorkerState = { phase: 'loading', progress: 0 };
  let engine: Engine | null = null;
  const server = createLlmServer({ config, state: () => state, log });
  await new Promise<void>((resolve) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      fail(`cannot listen on ${config.host}:${config.port} for model ${config.modelPath}: ${err.code ?? err.message}. Fix: choose a free --port (or --port 0).`, 1),
    );
    server.listen(config.port, config.host, resolve);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  log(`listening on http://${host}:${port}`);

  let shuttingDown = false;
  const shutdown = async (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    log(`stopping (${signal})`);
    server.close();
    server.closeAllConnections();
    await engine?.dispose();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  let lastLogged = -1;
  try {
    engine = await loadEngine(config, {
      log,
      onProgress: (fraction) => {
        state = { phase: 'loading', progress: fraction };
        const step = Math.floor((fraction * 100) / 5) * 5;
        if (step > lastLogged) {
          lastLogged = step;
          log(`loading model: ${step}%`);
        }
      },
    });
  } catch (err) {
    if (err instanceof StartupError) fail(err.message, 1);
    fail(`unexpected failure loading ${config.modelPath} (gpu ${config.gpu}): ${(err as Error)?.stack ?? String(err)}`, 1);
  }
  state = { phase: 'ready', engine };
  log(
    `ready: ${config.modelName}, chat template ${engine.chatTemplate.wrapper} (${engine.chatTemplate.source}), ctx ${engine.ctxSize} x ${engine.slots.size} slot(s), ${engine.threads} thread(s), backend ${engine.backend}`,
  );
}

process.on('unhandledRejection', (reason) => {
  process.stderr.write(`llm worker: unhandled rejection: ${(reason as Error)?.stack ?? String(reason)}\n`);
});

void main();
