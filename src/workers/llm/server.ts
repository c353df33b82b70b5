/**
 * The LLM worker's HTTP surface: routing, /health and /v1/models, and the error boundary that turns
 * every failure into OpenAI's error shape so one bad request never stops the worker. The server
 * listens before the model has loaded; until then /health says "loading" with the load fraction and
 * the generation endpoints answer 503.
 */
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError, sendError, sendJson } from '../common/http.js';
import type { LlmWorkerConfig } from './config.js';
import type { Engine } from './engine.js';
import { handleChatCompletions, handleCompletions } from './generate.js';
import type { RequestSummary } from './generate.js';
import { handleEmbeddings } from './embeddings.js';

/** The worker's lifecycle as the server sees it. */
export type WorkerState = { phase: 'loading'; progress: number } | { phase: 'ready'; engine: Engine };

export interface LlmServerOptions {
  config: LlmWorkerConfig;
  /** Read on every request: main swaps it from loading to ready. */
  state: () => WorkerState;
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
  };
}

function health(res: ServerResponse, config: LlmWorkerConfig, state: WorkerState): void {
  if (state.phase === 'loading') {
    sendJson(res, 503, { status: 'loading', progress: Math.round(state.progress * 1000) / 1000, model: config.modelName }, { 'retry-after': '1' });
    return;
  }
  const { engine } = state;
  sendJson(res, 200, {
    status: 'ok',
    model: config.modelName,
    slots_idle: engine.slots.size - engine.slots.busyCount,
    slots_processing: engine.slots.busyCount,
    ...modelInfo(config, engine),
  });
}

function models(res: ServerResponse, config: LlmWorkerConfig, state: WorkerState): void {
  sendJson(res, 200, {
    object: 'list',
    data: [
      {
        id: config.modelName,
        object: 'model',
        created: startedAt,
        owned_by: 'aima',
        meta: state.phase === 'ready' ? { status: 'ok', ...modelInfo(config, state.engine) } : { status: 'loading', path: config.modelPath },
      },
    ],
  });
}

type Route = 'health' | 'models' | 'completions' | 'chat' | 'embeddings';

/** Paths with and without the /v1 prefix, as llama-server accepts both. */
const ROUTES: Record<string, { route: Route; method: 'GET' | 'POST' }> = {
  '/health': { route: 'health', method: 'GET' },
  '/v1/health': { route: 'health', method: 'GET' },
  '/v1/models': { route: 'models', method: 'GET' },
  '/models': { route: 'models', method: 'GET' },
  '/v1/completions': { route: 'completions', method: 'POST' },
  '/completions': { route: 'completions', method: 'POST' },
  '/v1/chat/completions': { route: 'chat', method: 'POST' },
  '/chat/completions': { route: 'chat', method: 'POST' },
  '/v1/embeddings': { route: 'embeddings', method: 'POST' },
  '/embeddings': { route: 'embeddings', method: 'POST' },
};

/** Creates (does not start) the worker's HTTP server. */
export function createLlmServer({ config, state, log }: LlmServerOptions): http.Server {
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<RequestSummary | null> => {
    const receivedAt = performance.now();
    const path = (req.url ?? '/').split('?')[0];
    const entry = ROUTES[path];
    if (!entry) throw new HttpError(404, `Unknown endpoint ${req.method} ${path}.`, 'not_found_error', 'unknown_endpoint');
    if (req.method !== entry.method) {
      throw new HttpError(405, `${path} takes ${entry.method}, not ${req.method}.`, 'invalid_request_error', 'method_not_allowed', null, { allow: entry.method });
    }
    const current = state();
    if (entry.route === 'health') {
      health(res, config, current);
      return null;
    }
    if (entry.route === 'models') {
      models(res, config, current);
      return { status: 200, note: '' };
    }
    if (current.phase !== 'ready') {
      req.resume();
      throw new HttpError(
        503,
        `Model '${config.modelName}' is still loading (${Math.round(current.progress * 100)}%). Retry when /health reports ok.`,
        'server_error',
        'model_loading',
        null,
        { 'retry-after': '1' },
      );
    }
    switch (entry.route) {
      case 'completions':
        return handleCompletions(req, res, current.engine, config, receivedAt);
      case 'chat':
        return handleChatCompletions(req, res, current.engine, config, receivedAt);
      case 'embeddings':
        return handleEmbeddings(req, res, current.engine, config);
    }
  };

  return http.createServer((req, res) => {
    const started = performance.now();
    handle(req, res).then(
      (done) => {
        if (done) log(`${req.method} ${req.url} ${done.status} ${Math.round(performance.now() - started)} ms${done.note ? `: ${done.note}` : ''}`);
      },
      (err: unknown) => {
        const status = err instanceof HttpError ? err.status : 500;
        if (!(err instanceof HttpError)) process.stderr.write(`llm worker: ${req.method} ${req.url} failed: ${(err as Error)?.stack ?? String(err)}\n`);
        log(`${req.method} ${req.url} ${status} ${Math.round(performance.now() - started)} ms: ${err instanceof Error ? err.message : String(err)}`);
        sendError(res, err);
      },
    );
  });
}
