/**
 * The LLM worker's routes and what its /health and /v1/models say about the loaded model. The
 * shared worker contract (common/worker-server.ts) serves them: it listens before the model has
 * loaded, answers /health "loading" with the load fraction until then, and 503 on the generation
 * endpoints.
 */
import type http from 'node:http';
import type { ServerResponse } from 'node:http';
import { sendJson } from '../../lib/http.js';
import { createWorkerServer } from '../common/worker-server.js';
import type { WorkerRoute, WorkerState } from '../common/worker-server.js';
import type { LlmWorkerConfig } from './config.js';
import type { Engine } from './engine.js';
import { handleCompletions } from './generate.js';
import { handleChatCompletions } from './chat-completions.js';
import { handleEmbeddings } from './embeddings.js';

export type LlmState = WorkerState<Engine>;

export interface LlmServerOptions {
  config: LlmWorkerConfig;
  /** Read on every request: the contract swaps it from loading to ready. */
  state: () => LlmState;
  log: (line: string) => void;
}

const startedAt = Math.floor(Date.now() / 1000);

/** What /health and /v1/models report about the loaded model. */
function modelInfo(config: LlmWorkerConfig, engine: Engine) {
  return {
    path: config.modelPath,
    architecture: engine.architecture,
    backend: engine.backend,
    gpu_layers: engine.gpuLayers,
    threads: engine.threads,
    n_ctx: engine.ctxSize,
    parallel: engine.slots.size,
    embedding_only: engine.context === null,
    chat_template: engine.chatTemplate,
    node_llama_cpp: engine.nodeLlamaCppVersion,
    warmup_ms: engine.warmupMs === null ? null : Math.round(engine.warmupMs),
  };
}

/** What /health adds to `{status: "ok", model}` once loaded. */
export function llmHealth(config: LlmWorkerConfig, engine: Engine): Record<string, unknown> {
  return { slots_idle: engine.slots.size - engine.slots.busyCount, slots_processing: engine.slots.busyCount, ...modelInfo(config, engine) };
}

function models(res: ServerResponse, config: LlmWorkerConfig, state: LlmState): void {
  sendJson(res, 200, {
    object: 'list',
    data: [
      {
        id: config.modelName,
        object: 'model',
        created: startedAt,
        owned_by: 'aima',
        meta: state.phase === 'ready' ? { status: 'ok', ...modelInfo(config, state.model) } : { status: 'loading', path: config.modelPath },
      },
    ],
  });
}

/** The worker's routes (paths with and without /v1, as llama-server accepts both). */
export function llmRoutes(config: LlmWorkerConfig): WorkerRoute<Engine>[] {
  return [
    {
      method: 'GET',
      paths: ['/v1/models', '/models'],
      whileLoading: true,
      handle: (_req, res, state) => {
        models(res, config, state);
        return { status: 200, note: '' };
      },
    },
    { method: 'POST', paths: ['/v1/completions', '/completions'], handle: (req, res, engine, receivedAt) => handleCompletions(req, res, engine, config, receivedAt) },
    { method: 'POST', paths: ['/v1/chat/completions', '/chat/completions'], handle: (req, res, engine, receivedAt) => handleChatCompletions(req, res, engine, config, receivedAt) },
    { method: 'POST', paths: ['/v1/embeddings', '/embeddings'], handle: (req, res, engine) => handleEmbeddings(req, res, engine, config) },
  ];
}

/** Creates (does not start) the worker's HTTP server over `state`, as main's contract runs it. */
export function createLlmServer({ config, state, log }: LlmServerOptions): http.Server {
  return createWorkerServer<Engine>({
    name: 'llm',
    modelName: config.modelName,
    state,
    routes: llmRoutes(config),
    health: (engine) => llmHealth(config, engine),
    log,
  });
}
