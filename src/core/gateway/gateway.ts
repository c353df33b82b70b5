/**
 * The OpenAI-compatible gateway under `/v1` (and Prometheus `/metrics`) on the core's port:
 * finds the service or remote endpoint that serves the requested model, admits the request
 * through that upstream's queue, starts a stopped service on demand, and streams the answer back.
 * Errors are in OpenAI's shape everywhere.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type * as PromClient from 'prom-client';
import type { Registry } from 'prom-client';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { emptyBodyError, HttpError, readBody, sendError, sendJson } from '../../lib/http.js';
import type { ModelQueueState } from '../../shared/contract/gateway.js';
import type { Route } from '../server/http-server.js';
import type { ModelDirectory, RoutableModel } from './directory.js';
import { AdmissionRefused } from './limiter.js';
import { ModelQueue, type Lease, type ReplicaSlot } from './model-queue.js';
import { queueEtaMs, ServiceTimes } from './service-time.js';
import { GatewayMetrics } from './metrics.js';
import { receiveUpload, UploadBudget, type ReceivedUpload } from './upload.js';
import { forward, upstreamBase } from './proxy.js';
import { RequestLog, type RequestRecord } from './request-log.js';
import type { ApiTranslation, TranslateEnv, Translated } from './translate/api.js';
import { anthropicApi } from './translate/anthropic.js';
import { translatedReply } from './translate/reply.js';
import { responsesApi } from './translate/responses.js';

export interface GatewayPolicy {
  startOnDemand: boolean;
  maxQueue: number;
  queueTimeoutMs: number;
  /** JSON bodies (chat, completions, embeddings, speech). */
  maxJsonBytes: number;
  /** Multipart bodies (audio uploads). */
  maxUploadBytes: number;
  /** Total bytes of uploads in flight across the gateway (each counts its declared size). */
  uploadBudgetBytes: number;
  /** Origins allowed to call /v1 from a browser (CORS). */
  corsOrigins: string[];
}

export interface GatewayOptions {
  directory: ModelDirectory;
  policy: () => GatewayPolicy;
  /** True when the request may use the gateway (API key, install token, or loopback without keys). */
  authorize: (req: IncomingMessage) => boolean;
  /** True for the core's own origin (the web UI): allowed without being listed for CORS. */
  isOwnOrigin?: (origin: string) => boolean;
  /** Called when a model's waiting requests change (positions, ETAs): the core's `gateway.queue` event. */
  onQueue?: (q: QueueSnapshot) => void;
  /** Called with each finished request (the core turns it into an event). */
  onRequest?: (r: RequestRecord) => void;
  /** Where uploads are spooled until their `model` field has arrived (default: the OS temp dir). */
  spoolDir?: string;
  /** Further /metrics instruments on the gateway's registry (the services' and GPUs'). */
  metrics?: (registry: Registry, prom: typeof PromClient) => void;
  /**
   * Told when a local service (the replica a request went to, or the service starting on demand for
   * it) begins and ends serving a request: the scheduler's idle TTL and eviction read it.
   */
  activity?: { begin(service: string): () => void };
}

interface Endpoint {
  method: 'POST' | 'GET';
  /** Where the `model` is found: the JSON body, the form, or the query. */
  model: 'json' | 'multipart' | 'query';
  kinds: RoutableModel['kind'][];
  /** An API translated onto the upstream's chat completions (its requests, answers and errors). */
  translate?: ApiTranslation;
}

/** The endpoints: each one routed, admitted, started on demand and recorded the same way. */
const ENDPOINTS: Record<string, Endpoint> = {
  '/v1/chat/completions': { method: 'POST', model: 'json', kinds: ['llm'] },
  '/v1/completions': { method: 'POST', model: 'json', kinds: ['llm'] },
  '/v1/embeddings': { method: 'POST', model: 'json', kinds: ['embedding', 'llm'] },
  '/v1/audio/transcriptions': { method: 'POST', model: 'multipart', kinds: ['asr'] },
  '/v1/audio/translations': { method: 'POST', model: 'multipart', kinds: ['asr'] },
  '/v1/audio/speech': { method: 'POST', model: 'json', kinds: ['tts'] },
  // An AIMA extension: the TTS worker's voice list, GET /v1/audio/voices?model=<tts>.
  '/v1/audio/voices': { method: 'GET', model: 'query', kinds: ['tts'] },
  // OpenAI's Responses API and Anthropic's Messages API, answered through chat completions.
  '/v1/responses': { method: 'POST', model: 'json', kinds: ['llm'], translate: responsesApi },
  '/v1/messages': { method: 'POST', model: 'json', kinds: ['llm'], translate: anthropicApi },
};

/** The routable LLMs as Anthropic's `GET /v1/models` lists them. */
function anthropicModelList(models: RoutableModel[]) {
  const data = models
    .filter((m) => m.kind === 'llm')
    .map((m) => ({ type: 'model', id: m.id, display_name: m.id, created_at: new Date(0).toISOString(), capabilities: null, deprecated_at: null, lifecycle: 'active', line: null, max_input_tokens: null, max_tokens: null, retires_at: null }));
  return { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null };
}

/** Where a translated request goes upstream. */
const CHAT_PATH = '/v1/chat/completions';

const translateEnv: TranslateEnv = {
  id: (prefix) => `${prefix}_${randomBytes(12).toString('hex')}`,
  now: () => Math.floor(Date.now() / 1000),
};

export class Gateway {
  readonly metrics: GatewayMetrics;
  readonly log: RequestLog;
  /** Recent service times per model and endpoint: the basis of queue ETAs. */
  readonly serviceTimes = new ServiceTimes();
  /** One queue per model, over its replicas; slots per upstream (service or remote model). */
  private readonly queues = new Map<string, ModelQueue>();
  private readonly slots = new Map<string, ReplicaSlot>();
  private waitIds = 0;
  private readonly uploads = new UploadBudget(0);

  constructor(private readonly opts: GatewayOptions) {
    this.log = new RequestLog(200, opts.onRequest);
    this.metrics = new GatewayMetrics(
      () => [...this.queues.values()].map((q) => ({ model: q.model, queued: q.queued, inFlight: q.inFlight })),
      () => [...this.slots.values()].map((s) => ({ replica: s.key, model: s.owner?.model ?? '', inFlight: s.active })),
      opts.metrics,
    );
  }

  /** Every model's waiting requests with their position and ETA (the `gateway.queue` call). */
  queueSnapshot(): QueueSnapshot[] {
    return [...this.queues.values()].map((q) => this.snapshotOf(q));
  }

  /**
   * The services changed (a replica started, stopped or crashed): every queue takes its model's
   * running replicas now, so waiters move to a replica that came up, and new requests stop going
   * to one that went down.
   */
  refresh(): void {
    const policy = this.opts.policy();
    for (const q of this.queues.values()) {
      const target = this.opts.directory.resolve(q.model);
      q.configure(target ? runningReplicas(target) : [], policy.maxQueue, policy.queueTimeoutMs);
    }
  }

  private snapshotOf(q: ModelQueue): QueueSnapshot {
    const now = Date.now();
    const slots = q.slotCount;
    return {
      model: q.model,
      replicas: q.replicaCount,
      slots,
      inFlight: q.inFlight,
      waiting: q.waitingList().map((w, i) => ({
        id: w.id,
        clientId: w.clientId,
        endpoint: w.endpoint,
        position: i + 1,
        arrivedPosition: w.arrivedAt,
        etaMs: nullableRound(queueEtaMs(i + 1, slots, this.serviceTimes.estimateMs(q.model, w.endpoint))),
        waitedMs: now - w.since,
      })),
    };
  }

  /** The route to mount on the core's HTTP server. */
  readonly route: Route = (req, res, path, query) => {
    if (path === '/metrics') {
      void this.serveMetrics(req, res);
      return true;
    }
    if (path !== '/v1' && !path.startsWith('/v1/')) return false;
    void this.handle(req, res, path, query);
    return true;
  };

  private cors(req: IncomingMessage, res: ServerResponse): boolean {
    const origin = req.headers.origin;
    if (!origin || this.opts.isOwnOrigin?.(origin)) return true;
    if (!this.opts.policy().corsOrigins.includes(origin)) return false;
    res.setHeader('access-control-allow-origin', origin);
    res.setHeader('vary', 'Origin');
    res.setHeader('access-control-allow-headers', 'authorization, content-type, x-api-key, anthropic-version, anthropic-beta, x-request-id');
    res.setHeader('access-control-expose-headers', 'x-aima-queue-wait-ms, x-aima-queue-position, x-aima-replica');
    res.setHeader('access-control-allow-methods', 'GET, POST, OPTIONS');
    return true;
  }

  private async serveMetrics(req: IncomingMessage, res: ServerResponse) {
    if (!this.opts.authorize(req)) return sendError(res, unauthorized());
    const text = await this.metrics.registry.metrics();
    res.writeHead(200, { 'content-type': this.metrics.registry.contentType });
    res.end(text);
  }

  private async handle(req: IncomingMessage, res: ServerResponse, path: string, query: string) {
    const started = performance.now();
    const startedAt = Date.now();
    let model: string | null = null;
    let queuedMs = 0;
    const record = (status: number, extra: { ttftMs?: number | null; tokens?: number | null; tps?: number | null; stream?: boolean; error?: string | null } = {}) => {
      const endpoint = path;
      const durationMs = performance.now() - started;
      this.metrics.request(model ?? '', endpoint, status, model ? durationMs / 1000 : null);
      this.log.add({
        at: new Date(startedAt).toISOString(),
        endpoint,
        model,
        status,
        durationMs: Math.round(durationMs),
        queuedMs: Math.round(queuedMs),
        ttftMs: extra.ttftMs ?? null,
        completionTokens: extra.tokens ?? null,
        tokensPerSecond: extra.tps ?? null,
        stream: extra.stream ?? false,
        error: extra.error ?? null,
      });
    };
    const spec = ENDPOINTS[path];
    // Translated APIs answer every error, auth and routing included, in their own shape.
    const unserved = spec ? null : unservedApiPath(path);
    const api = spec?.translate ?? unserved?.api;
    const fail = (err: HttpError) => {
      if (api && !res.headersSent) sendJson(res, err.status, api.errorBody({ status: err.status, message: err.message, type: err.type, code: err.code, param: err.param }), err.headers);
      else sendError(res, err);
      record(err.status, { error: err.message });
    };
    let upload: ReceivedUpload | null = null;

    try {
      if (!this.cors(req, res)) throw new HttpError(403, `Origin ${req.headers.origin} is not allowed to call the gateway.`, 'invalid_request_error', 'cors_origin_denied');
      if (req.method === 'OPTIONS') {
        res.writeHead(204);
        return res.end();
      }
      if (!this.opts.authorize(req)) throw unauthorized();

      if (path === '/v1/models' && req.method === 'GET') {
        // Anthropic's clients (they send anthropic-version) get Anthropic's model list shape.
        if (req.headers['anthropic-version'] !== undefined) {
          sendJson(res, 200, anthropicModelList(this.opts.directory.list()));
          return record(200);
        }
        const data = this.opts.directory.list().map((m) => ({
          id: m.id,
          object: 'model',
          created: 0,
          owned_by: m.owner.type === 'service' ? 'aima' : m.owner.remote,
          aima: { kind: m.kind, state: m.state, reason: m.reason ?? null, aliases: m.aliases, owner: m.owner, concurrency: m.concurrency },
        }));
        sendJson(res, 200, { object: 'list', data });
        return record(200);
      }

      if (!spec) throw new HttpError(404, unserved?.message ?? `Unknown endpoint ${req.method} ${path}.`, 'invalid_request_error', 'unknown_endpoint');
      if (req.method !== spec.method) throw new HttpError(405, `${path} takes ${spec.method}.`, 'invalid_request_error', 'method_not_allowed');

      const policy = this.opts.policy();
      let body: Buffer | null = null;
      let translated: Translated | null = null;
      if (spec.model === 'query') {
        model = new URLSearchParams(query).get('model') ?? '';
        if (!model) throw new HttpError(400, `Name the model: GET ${path}?model=<name>.`, 'invalid_request_error', 'missing_model', 'model');
      } else if (spec.model === 'json') {
        body = await readBody(req, policy.maxJsonBytes);
        if (body.length === 0) throw emptyBodyError('a JSON object with a "model" field');
        if (spec.translate) {
          translated = spec.translate.parse(parseJson(body), translateEnv);
          model = translated.chat.model;
        } else {
          model = modelOfJson(body);
        }
      } else {
        upload = await this.receive(req, res, policy);
        model = upload.model;
      }
      let target = this.opts.directory.resolve(model);
      if (!target) {
        const names = this.opts.directory.list().map((m) => m.id);
        throw new HttpError(404, `The model "${model}" does not exist. Available models: ${names.length ? names.join(', ') : '(none — create a service with `aima service create`)'}.`, 'invalid_request_error', 'model_not_found', 'model');
      }
      if (!spec.kinds.includes(target.kind)) {
        throw new HttpError(400, `The model "${model}" is a ${target.kind} model; ${path} needs ${spec.kinds.join(' or ')}.`, 'invalid_request_error', 'wrong_model_kind', 'model');
      }
      // The AbortSignal (and its close listener) is made only when the request has to wait (queue,
      // start on demand): a client that leaves then ends the wait. Streaming itself is torn down by
      // forward(). The common path pays for neither.
      let abort: AbortController | null = null;
      const waitSignal = () => {
        if (!abort) {
          const controller = (abort = new AbortController());
          if (res.destroyed) controller.abort();
          else res.once('close', () => controller.abort());
        }
        return abort.signal;
      };
      const queueStarted = performance.now();
      let running = runningReplicas(target);
      if (running.length === 0) {
        if (policy.startOnDemand && target.owner.type === 'service' && this.opts.directory.start) {
          // The service starting for this request counts as in use meanwhile (not evicted, not idle).
          const endStarting = this.opts.activity?.begin(target.owner.service);
          let started: RoutableModel;
          try {
            started = await withTimeout(this.opts.directory.start(target, waitSignal()), policy.queueTimeoutMs, target);
          } finally {
            endStarting?.();
          }
          target = this.opts.directory.resolve(model) ?? started;
          running = runningReplicas(target);
          if (running.length === 0 && started.state === 'running' && started.baseUrl) running = [started];
        }
        if (running.length === 0) throw notRunning(target);
      }
      const queue = this.queueFor(target.id, running, policy);
      let lease = queue.tryAcquire();
      let position = 0;
      let exclude: Set<string> | null = null;
      const clientId = typeof req.headers['x-request-id'] === 'string' ? req.headers['x-request-id'].slice(0, 200) : null;
      const admit = async (): Promise<Lease> => {
        try {
          return await queue.acquire({ id: ++this.waitIds, clientId, endpoint: path }, waitSignal(), exclude);
        } catch (err) {
          throw admissionError(err, target!, policy);
        }
      };
      if (!lease) {
        position = queue.queued + 1;
        lease = await admit();
      }
      queuedMs = performance.now() - queueStarted;
      res.setHeader('x-aima-queue-wait-ms', String(Math.round(queuedMs)));
      res.setHeader('x-aima-queue-position', String(position));
      // What goes upstream: the client's request as it is (its model renamed to the replica's), or
      // a translated API's chat completions request (with the answer translated back).
      const declared = Number(req.headers['content-length']);
      const call = (upstreamModel: string) => {
        if (translated && api) {
          const t = translated;
          return {
            path: CHAT_PATH,
            method: 'POST',
            contentType: 'application/json',
            accept: t.stream ? 'text/event-stream' : 'application/json',
            body: Buffer.from(JSON.stringify({ ...t.chat, model: upstreamModel })),
            reply: (status: number, contentType: string) => translatedReply(res, { translator: t.translator, stream: t.stream, upstreamStatus: status, upstreamContentType: contentType, errorBody: api.errorBody }),
            unreachableBody: (message: string) => api.errorBody({ status: 502, message, type: 'server_error', code: 'upstream_unreachable', param: null }),
          };
        }
        return {
          path,
          method: spec.method,
          contentType: String(req.headers['content-type'] ?? 'application/json'),
          accept: String(req.headers.accept ?? '*/*'),
          body: upload?.body ?? (body && upstreamModel !== model && spec.model === 'json' ? rewriteModel(body, upstreamModel) : body),
          contentLength: upload && Number.isFinite(declared) ? declared : null,
        };
      };
      for (;;) {
        const replica = lease.target;
        const served = performance.now();
        let retry = false;
        // The replica serving it is in use until the answer ends (a retry reports the next one).
        const endActivity = replica.owner.type === 'service' ? this.opts.activity?.begin(replica.owner.service) : undefined;
        try {
          const { contentType, accept, ...request } = call(replica.upstreamModel);
          const headers: Record<string, string> = { 'content-type': contentType, accept };
          if (replica.apiKey) headers.authorization = `Bearer ${replica.apiKey}`;
          const name = replica.owner.type === 'service' ? replica.owner.service : replica.owner.remote;
          if ((target!.replicas?.length ?? 1) > 1) res.setHeader('x-aima-replica', name);
          const out = await forward(req, res, {
            ...request,
            base: upstreamBase(replica.baseUrl!),
            headers,
            ca: replica.upstreamCa,
            upstreamName: replica.owner.type === 'service' ? `service "${name}" (serving "${replica.id}")` : `remote endpoint "${name}"`,
            // A buffered body can go to another replica when this one refuses the connection.
            retryable: upload === null && running.length > 1 && (exclude?.size ?? 0) < running.length - 1,
          });
          if (out.unreachable !== undefined) {
            (exclude ??= new Set()).add(lease.slotKey);
            retry = true;
          } else {
            if (!out.clientAborted && !out.upstreamLost && out.status < 500) this.serviceTimes.record(target.id, path, performance.now() - served);
            const tps = out.completionTokens && out.bodyMs > 0 ? (out.completionTokens / out.bodyMs) * 1000 : null;
            this.metrics.generation(model, out.firstByteMs === null ? null : out.firstByteMs / 1000, out.completionTokens, tps);
            const error = out.clientAborted ? 'client disconnected' : out.upstreamLost ? `${name} stopped mid-answer` : (translated?.translator.failure ?? null);
            record(out.clientAborted ? 499 : out.status, { ttftMs: out.firstByteMs === null ? null : Math.round(out.firstByteMs), tokens: out.completionTokens, tps: tps && Math.round(tps * 10) / 10, stream: out.stream, error });
          }
        } finally {
          lease.release();
          // Ended after the waiter the lease went to has begun its own: a queue handing over keeps the service in use throughout.
          if (endActivity) setImmediate(endActivity);
        }
        if (!retry) break;
        lease = queue.tryAcquire(exclude) ?? (await admit());
      }
    } catch (err) {
      if (res.destroyed || res.writableEnded) return;
      fail(err instanceof HttpError ? err : new HttpError(500, err instanceof Error ? err.message : String(err), 'server_error', 'internal_error'));
    } finally {
      void upload?.discard();
    }
  }

  /**
   * Admits an upload into the bytes-in-flight budget (its declared size, or the largest allowed
   * when it is sent chunked) and streams it until its `model` is known. The reservation lasts
   * until the response is done.
   */
  private async receive(req: IncomingMessage, res: ServerResponse, policy: GatewayPolicy): Promise<ReceivedUpload> {
    const contentType = req.headers['content-type'];
    if (!contentType?.startsWith('multipart/form-data')) throw new HttpError(400, 'Audio uploads must be multipart/form-data with "file" and "model" fields.', 'invalid_request_error', 'invalid_content_type');
    const declared = req.headers['content-length'] === undefined ? null : Number(req.headers['content-length']);
    if (declared === 0) throw emptyBodyError('a multipart/form-data body with "file" and "model" fields');
    if (declared !== null && declared > policy.maxUploadBytes) {
      req.resume();
      throw new HttpError(413, `Request body of ${declared} bytes is over the limit of ${policy.maxUploadBytes} bytes.`, 'invalid_request_error', 'body_too_large');
    }
    const budget = this.uploads;
    budget.limitBytes = policy.uploadBudgetBytes;
    const bytes = declared ?? policy.maxUploadBytes;
    const release = budget.tryReserve(bytes);
    if (!release) {
      req.resume();
      throw budget.refusal(bytes);
    }
    res.once('close', release);
    return receiveUpload(req, { contentType, maxBytes: policy.maxUploadBytes, spoolDir: this.opts.spoolDir ?? path.join(os.tmpdir(), 'aima-uploads') });
  }

  private queueFor(model: string, running: RoutableModel[], policy: GatewayPolicy): ModelQueue {
    let q = this.queues.get(model);
    if (!q) {
      if (this.queues.size > 10_000) for (const [k, old] of this.queues) if (old.queued === 0 && old.inFlight === 0) this.queues.delete(k);
      this.queues.set(model, (q = new ModelQueue(model, this.slots, (changed) => this.opts.onQueue?.(this.snapshotOf(changed)))));
    }
    q.configure(running, policy.maxQueue, policy.queueTimeoutMs);
    return q;
  }
}

/** Requests waiting for one model, as the live view shows them (the contract's `gateway.queue` event). */
export type QueueSnapshot = ModelQueueState;

function runningReplicas(target: RoutableModel): RoutableModel[] {
  const all = target.replicas ?? [target];
  return all.filter((m) => m.state === 'running' && m.baseUrl !== null);
}

function nullableRound(n: number | null): number | null {
  return n === null ? null : Math.round(n);
}

/**
 * Paths of the translated APIs that this stateless gateway does not serve, with why, so that a
 * client hears it in its own API's terms rather than as an unknown endpoint.
 */
function unservedApiPath(path: string): { api: ApiTranslation; message: string } | null {
  if (path.startsWith('/v1/responses/')) {
    return { api: responsesApi, message: `${path} is not served: this gateway stores no responses, so there is none to retrieve, cancel, compact or list items of. Use the answer of POST /v1/responses itself.` };
  }
  if (path === '/v1/messages/count_tokens') {
    return { api: anthropicApi, message: 'POST /v1/messages/count_tokens is not served: chat-completions upstreams have no token counter. Each answer\'s usage (input_tokens, output_tokens) counts what a request used.' };
  }
  if (path.startsWith('/v1/messages/')) return { api: anthropicApi, message: `${path} is not served (no message batches): send each request to POST /v1/messages.` };
  return null;
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new HttpError(400, `Request body is not valid JSON (${(err as Error).message}).`, 'invalid_request_error', 'invalid_json');
  }
}

function modelOfJson(body: Buffer): string {
  const parsed = parseJson(body);
  const model = (parsed as { model?: unknown } | null)?.model;
  if (typeof model !== 'string' || model === '') throw new HttpError(400, 'The request has no "model" string. Name one of GET /v1/models.', 'invalid_request_error', 'missing_model', 'model');
  return model;
}

function rewriteModel(body: Buffer, model: string): Buffer {
  const parsed = JSON.parse(body.toString('utf8'));
  return Buffer.from(JSON.stringify({ ...parsed, model }));
}

function unauthorized(): HttpError {
  return new HttpError(401, 'Missing or invalid API key. Send "Authorization: Bearer <key>" (or "x-api-key: <key>") with a key from `aima key create`.', 'authentication_error', 'invalid_api_key');
}

function notRunning(m: RoutableModel): HttpError {
  const how = m.owner.type === 'service' ? ` Start it with \`aima service start ${m.owner.service}\` (or turn on "start on demand" in Settings).` : '';
  return new HttpError(503, `The model "${m.id}" is ${m.state}${m.reason ? ` (${m.reason})` : ''}.${how}`, 'server_error', 'model_not_running', null, { 'retry-after': '5' });
}

function admissionError(err: unknown, target: RoutableModel, policy: GatewayPolicy): HttpError {
  if (!(err instanceof AdmissionRefused)) return err as HttpError;
  switch (err.reason.kind) {
    case 'queue-full':
      return new HttpError(429, `The model "${target.id}" is busy: ${err.reason.limit} requests running and ${err.reason.queued} waiting (the queue holds ${policy.maxQueue}). Retry shortly.`, 'rate_limit_error', 'queue_full', null, { 'retry-after': '1' });
    case 'timeout':
      return new HttpError(503, `The model "${target.id}" stayed busy for ${Math.round(err.reason.waitedMs / 1000)} s, longer than the queue wait limit. Retry later, or raise the service's concurrency.`, 'server_error', 'queue_timeout', null, { 'retry-after': '5' });
    case 'aborted':
      return new HttpError(499, 'The client went away while waiting.', 'invalid_request_error', 'client_closed');
  }
}

async function withTimeout<T>(p: Promise<T>, ms: number, target: RoutableModel): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new HttpError(503, `The model "${target.id}" did not start within the queue wait limit; it is still starting.`, 'server_error', 'start_timeout', null, { 'retry-after': '10' })), Math.max(0, ms));
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
