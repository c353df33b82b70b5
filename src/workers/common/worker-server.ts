/**
 * The one startup contract every embedded worker (LLM, ASR, TTS) fills in, after GPUStack's
 * `InferenceServer` base: a worker declares its options as one zod schema, a cheap check, a slow
 * load and its routes; this module does the rest the same way for all of them:
 *
 *   1. validate the command line; a bad option prints the usage and then one line naming the option
 *      and the fix on stderr, and exits 2
 *   2. run the worker's cheap check (does the model file exist, is it the right format); a failure
 *      prints `NAME worker: error: ...` as the last stderr line and exits 1: nothing to supervise
 *   3. listen, then print `listening on http://HOST:PORT` (the line supervisors wait for)
 *   4. load the model; meanwhile `/health` answers 503 `{status: "loading", progress?, model}` and
 *      every other route, unless declared usable while loading, 503 `model_loading` with
 *      Retry-After in OpenAI's error shape; progress, where the worker reports it, is logged every 5%
 *   5. `/health` answers 200 `{status: "ok", model, ...}` — what the catalog's health checks match —
 *      or, when the load fails, the last stderr line says why and the worker exits 1
 *
 * SIGTERM/SIGINT close the server and the model and exit 0, in any phase.
 */
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { HttpError, listenAndAnnounce, sendError, sendJson } from '../../lib/http.js';

/**
 * Test seam, honoured only here: milliseconds to wait after listening and before loading, so tests
 * can observe the loading phase deterministically. Declared with AIMA's other variables in
 * src/core/config/env.ts (workers do not import the core, so it is read here).
 */
export const LOAD_DELAY_ENV = 'AIMA_WORKER_LOAD_DELAY_MS';

/** A failure the worker expected and can explain (missing file, bad format, unusable model). */
export class StartupError extends Error {}

/** What a route handler reports for the request log; nothing means "not logged". */
export interface RequestSummary {
  status: number;
  note: string;
}

/** The worker's lifecycle as its server sees it. */
export type WorkerState<M> = { phase: 'loading'; progress?: number } | { phase: 'ready'; model: M };

type RouteResult = Promise<RequestSummary | null | void> | RequestSummary | null | void;

/** A route answered only once the model is ready. */
export interface ReadyRoute<M> {
  method: 'GET' | 'POST';
  /** Every path it answers (with and without /v1, as llama-server accepts both). */
  paths: readonly string[];
  whileLoading?: false;
  handle: (req: IncomingMessage, res: ServerResponse, model: M, receivedAt: number) => RouteResult;
}

/** A route answered while the model loads too (a model listing): it sees the state itself. */
export interface AnytimeRoute<M> {
  method: 'GET' | 'POST';
  paths: readonly string[];
  whileLoading: true;
  handle: (req: IncomingMessage, res: ServerResponse, state: WorkerState<M>) => RouteResult;
}

export type WorkerRoute<M> = ReadyRoute<M> | AnytimeRoute<M>;

export interface WorkerServerOptions<M> {
  /** `llm`, `asr`, `tts`: names the worker in log and error lines. */
  name: string;
  /** The id clients send as `model`; /health reports it. */
  modelName: string;
  /** Read on every request. */
  state: () => WorkerState<M>;
  routes: readonly WorkerRoute<M>[];
  /** Fields /health adds to `{status: "ok", model}` once ready. */
  health: (model: M) => Record<string, unknown>;
  log: (line: string) => void;
}

const HEALTH_PATHS = new Set(['/health', '/v1/health']);

/** The 503 every route but /health gets while the model loads. */
export function loadingError(modelName: string, progress: number | undefined): HttpError {
  const pct = progress === undefined ? '' : ` (${Math.round(progress * 100)}%)`;
  return new HttpError(503, `Model '${modelName}' is still loading${pct}. Retry when /health reports ok.`, 'server_error', 'model_loading', null, {
    'retry-after': '1',
  });
}

/**
 * Creates (does not start) a worker's HTTP server: /health, the loading gate, routing with 404 and
 * 405, and the error boundary that turns every failure into OpenAI's error shape so one bad request
 * never stops the worker.
 */
export function createWorkerServer<M>(opts: WorkerServerOptions<M>): http.Server {
  const byPath = new Map<string, WorkerRoute<M>>();
  for (const route of opts.routes) for (const p of route.paths) byPath.set(p, route);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<RequestSummary | null | void> => {
    const receivedAt = performance.now();
    const path = (req.url ?? '/').split('?')[0];
    const state = opts.state();
    if (HEALTH_PATHS.has(path) && req.method === 'GET') {
      if (state.phase === 'loading') {
        const progress = state.progress === undefined ? {} : { progress: Math.round(state.progress * 1000) / 1000 };
        sendJson(res, 503, { status: 'loading', ...progress, model: opts.modelName }, { 'retry-after': '1' });
      } else {
        sendJson(res, 200, { status: 'ok', model: opts.modelName, ...opts.health(state.model) });
      }
      return null;
    }
    const route = byPath.get(path);
    if (!route) {
      if (HEALTH_PATHS.has(path)) throw new HttpError(405, `${path} takes GET, not ${req.method}.`, 'invalid_request_error', 'method_not_allowed', null, { allow: 'GET' });
      throw new HttpError(404, `Unknown endpoint ${req.method} ${path}.`, 'not_found_error', 'unknown_endpoint');
    }
    if (req.method !== route.method) {
      throw new HttpError(405, `${path} takes ${route.method}, not ${req.method}.`, 'invalid_request_error', 'method_not_allowed', null, { allow: route.method });
    }
    if (route.whileLoading) return route.handle(req, res, state);
    if (state.phase !== 'ready') {
      // Not read: drop the body instead of buffering it for nothing.
      req.resume();
      throw loadingError(opts.modelName, state.progress);
    }
    return route.handle(req, res, state.model, receivedAt);
  };

  return http.createServer((req, res) => {
    const started = performance.now();
    Promise.resolve()
      .then(() => handle(req, res))
      .then(
        (done) => {
          if (done) opts.log(`${req.method} ${req.url} ${done.status} ${Math.round(performance.now() - started)} ms${done.note ? `: ${done.note}` : ''}`);
        },
        (err: unknown) => {
          const status = err instanceof HttpError ? err.status : 500;
          if (!(err instanceof HttpError)) process.stderr.write(`${opts.name} worker: ${req.method} ${req.url} failed: ${(err as Error)?.stack ?? String(err)}\n`);
          opts.log(`${req.method} ${req.url} ${status} ${Math.round(performance.now() - started)} ms: ${err instanceof Error ? err.message : String(err)}`);
          sendError(res, err);
        },
      );
  });
}

/** A command line the worker cannot run with; the message names the option and the fix. */
export class OptionsError extends Error {}

/** A worker's command line: an object with one key per `--flag`, optionally transformed. */
export type OptionsSchema = z.ZodObject | z.ZodPipe<z.ZodObject, z.ZodType>;

/**
 * Parses `argv` (without node and script) with node:util's parseArgs — every key of the schema's
 * object is a `--flag VALUE` — and validates the values with `schema`. Throws {@link OptionsError}.
 */
export function parseWorkerOptions<S extends OptionsSchema>(schema: S, argv: readonly string[]): z.output<S> {
  const shape = schema instanceof z.ZodPipe ? schema.in.shape : (schema as z.ZodObject).shape;
  const flags = Object.fromEntries(Object.keys(shape).map((k) => [k, { type: 'string' as const }]));
  let values: Record<string, unknown>;
  try {
    values = parseArgs({ args: [...argv], options: flags, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new OptionsError(`${(err as Error).message}. Fix: use only the options listed above.`);
  }
  const result = schema.safeParse(values);
  if (!result.success) {
    const messages = result.error.issues.map((issue) => {
      const flag = `--${String(issue.path[0] ?? '')}`;
      const got = issue.path.length ? values[String(issue.path[0])] : undefined;
      const text = issue.message.includes(flag) ? issue.message : `${flag}: ${issue.message}`;
      return got === undefined ? text : `${text} (got "${String(got)}")`;
    });
    throw new OptionsError(`${messages.join('; ')}. Fix: correct the option as the usage above says.`);
  }
  return result.data as z.output<S>;
}

/** `--flag N`: a whole number of at least `min` (and at most `max`). */
export function intFlag(flag: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return z
    .string()
    .regex(/^\d+$/, `${flag} must be a whole number`)
    .transform(Number)
    .pipe(z.number().int().min(min, `${flag} must be at least ${min}`).max(max, `${flag} must be at most ${max}`));
}

/** `--port N`, 0 picking a free port. */
export const portFlag = intFlag('--port', 0, 65535);

/** What a worker fills in: `S` its options schema, `M` what its load produces. */
export interface WorkerDefinition<S extends OptionsSchema, M> {
  name: string;
  /** Printed with a bad option and for --help. */
  usage: string;
  /** The command line (see {@link OptionsSchema}); its output carries host, port and modelName. */
  options: S;
  /** One line describing the configuration, logged first. */
  describe: (options: z.output<S>) => string;
  /** Cheap checks before listening (the model file exists and has the right format); throws. */
  check?: (options: z.output<S>) => Promise<void> | void;
  /** Whether `load` reports progress: /health then says `progress: 0` from the start. */
  reportsProgress?: boolean;
  /** The slow part, after listening; `progress(fraction)` where the loader reports it. */
  load: (options: z.output<S>, progress: (fraction: number) => void, log: (line: string) => void) => Promise<M>;
  /** One line once loaded (after it /health says ok). */
  ready: (options: z.output<S>, model: M) => string;
  routes: (options: z.output<S>) => readonly WorkerRoute<M>[];
  health: (options: z.output<S>, model: M) => Record<string, unknown>;
  close: (model: M) => Promise<void> | void;
}

interface BaseOptions {
  host: string;
  port: number;
  modelName: string;
}

const loadDelaySchema = z
  .string()
  .regex(/^\d+$/, `${LOAD_DELAY_ENV} must be a whole number of milliseconds`)
  .transform(Number)
  .optional();

/**
 * Runs a worker under the contract described at the top of this file. Never returns while the
 * worker serves; exits the process on failure or signal.
 */
export async function runWorker<S extends OptionsSchema, M>(def: WorkerDefinition<S, M>, argv = process.argv.slice(2)): Promise<void> {
  const log = (line: string) => process.stdout.write(`${line}\n`);
  process.on('unhandledRejection', (reason) => {
    process.stderr.write(`${def.name} worker: unhandled rejection: ${(reason as Error)?.stack ?? String(reason)}\n`);
  });
  const fail = (message: string, code: number): never => {
    process.stderr.write(`${def.name} worker: error: ${message}\n`);
    process.exit(code);
  };
  const failWith = (err: unknown, code: number): never => {
    if (err instanceof StartupError || err instanceof OptionsError) fail(err.message, code);
    // Unexpected: the stack for diagnosis, then the one line the supervisor shows.
    process.stderr.write(`${def.name} worker: ${(err as Error)?.stack ?? String(err)}\n`);
    return fail(`unexpected failure: ${err instanceof Error ? err.message : String(err)}`, code);
  };

  if (argv.includes('--help')) {
    log(def.usage);
    process.exit(0);
  }
  let options: z.output<S> & BaseOptions;
  let loadDelayMs: number | undefined;
  try {
    options = parseWorkerOptions(def.options, argv) as z.output<S> & BaseOptions;
    const delay = loadDelaySchema.safeParse(process.env[LOAD_DELAY_ENV] || undefined);
    if (!delay.success) throw new OptionsError(`${delay.error.issues[0].message}. Fix: unset it or set a number such as 2000.`);
    loadDelayMs = delay.data;
  } catch (err) {
    process.stderr.write(`${def.usage}\n`);
    return failWith(err, 2);
  }

  log(def.describe(options));
  try {
    await def.check?.(options);
  } catch (err) {
    return failWith(err, 1);
  }

  let state: WorkerState<M> = def.reportsProgress ? { phase: 'loading', progress: 0 } : { phase: 'loading' };
  const server = createWorkerServer<M>({ name: def.name, modelName: options.modelName, state: () => state, routes: def.routes(options), health: (model) => def.health(options, model), log });
  await listenAndAnnounce(server, options.host, options.port).catch((err: NodeJS.ErrnoException) =>
    fail(`cannot listen on ${options.host}:${options.port}: ${err.code ?? err.message}. Fix: choose a free --port (or --port 0).`, 1),
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`stopping (${signal})`);
    server.close();
    server.closeAllConnections();
    if (state.phase === 'ready') await def.close(state.model);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  if (loadDelayMs) {
    log(`loading delayed by ${loadDelayMs} ms (${LOAD_DELAY_ENV})`);
    await new Promise((resolve) => setTimeout(resolve, loadDelayMs));
  }
  let lastLogged = -1;
  const progress = (fraction: number) => {
    state = { phase: 'loading', progress: fraction };
    const step = Math.floor((fraction * 100) / 5) * 5;
    if (step > lastLogged) {
      lastLogged = step;
      log(`loading model: ${step}%`);
    }
  };
  let model: M;
  try {
    model = await def.load(options, progress, log);
  } catch (err) {
    return failWith(err, 1);
  }
  if (stopping) return;
  state = { phase: 'ready', model };
  log(def.ready(options, model));
}

