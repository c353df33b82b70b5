/**
 * The gateway feature: the `/v1` + `/metrics` route, API keys, remote endpoints and the request
 * log, wired to the services supervisor and the settings. Its route holds `/v1` requests until
 * the core's startup has adopted the running engines (it routes by the services' state).
 */
import type { IncomingMessage } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { CoreApi, ServiceSummary } from '../../shared/contract/index.js';
import { AimaError } from '../../shared/errors.js';
import { HttpError } from '../../lib/http.js';
import { StartRefused } from '../services/supervisor.js';
import type { Db } from '../store/database.js';
import type { SettingsRepo } from '../store/repositories/settings-repo.js';
import type { ApiKeysRepo } from '../store/repositories/api-keys-repo.js';
import { RemotesRepo } from '../store/repositories/remotes-repo.js';
import type { SecretStore } from '../secrets/secret-store.js';
import { authorizeGateway, isAllowedOrigin } from '../server/security.js';
import { Gateway } from './gateway.js';
import { clearSpool } from './upload.js';
import { createModelDirectory } from './routes-directory.js';
import { registerServiceMetrics, type ServiceMetricsSource } from './metrics-services.js';
import type { CoreEvents } from '../events.js';
import type { Feature } from '../feature.js';
import type { Route } from '../server/http-server.js';

export type GatewayApi = Pick<
  CoreApi,
  'keys.list' | 'keys.create' | 'keys.revoke' | 'remotes.list' | 'remotes.add' | 'remotes.remove' | 'gateway.requests' | 'gateway.queue' | 'gateway.pageAccess'
>;

export interface GatewayFeatureOptions {
  db: Db;
  events: CoreEvents;
  settings: SettingsRepo;
  keys: ApiKeysRepo;
  secrets: SecretStore;
  services: {
    list(): ServiceSummary[];
    /** Start on demand: refuses (StartRefused) a failed service and one waiting out its crash backoff. */
    startOnDemand(name: string, opts: { timeoutMs: number; op: { signal: AbortSignal; report(): void } }): Promise<ServiceSummary>;
    /** The key and CA of a service's engine serving TLS (on another node), or null. */
    upstreamTls?(name: string): { apiKey: string; ca: string } | null;
  };
  onRequest?: (r: import('./request-log.js').RequestRecord) => void;
  /** Where uploads wait for their `model` field (cleared at start: leftovers of a crash). */
  spoolDir: string;
  /** Total bytes of uploads in flight. */
  uploadBudgetBytes: number;
  /** The install token, and the server's URL and port (known once it listens). */
  token: () => string | null;
  url: () => string;
  port: () => number;
  /** The bind address when the server listens beyond loopback, else null. */
  exposedOn: () => string | null;
  /** The core's startup (adoption of running engines): `/v1` requests wait for it. */
  ready: () => Promise<void>;
  /** The services' and GPUs' part of /metrics. */
  serviceMetrics?: ServiceMetricsSource;
  /** Where requests per service are reported (the scheduler reads it). */
  activity?: { begin(service: string): () => void };
}

export interface GatewayFeature extends Feature {
  readonly calls: GatewayApi;
  readonly gateway: Gateway;
  /** /v1's rules for the endpoints beside it (the Realtime WebSocket): its auth and its CORS list. */
  readonly access: { authorize(req: IncomingMessage): boolean; originAllowed(origin: string | undefined): boolean };
}

const MIB = 1024 * 1024;

export function createGatewayFeature(opts: GatewayFeatureOptions): GatewayFeature {
  clearSpool(opts.spoolDir);
  const remotes = new RemotesRepo(opts.db);
  const secretKey = (name: string) => `remote:${name}`;
  // Snapshots refreshed by events: the request path never queries SQLite or rebuilds summaries.
  let services = opts.services.list();
  let remoteList = remotes.list();
  const directory = createModelDirectory({
    services: () => services,
    remotes: () => remoteList,
    remoteKey: (name) => opts.secrets.get(secretKey(name)),
    serviceTls: (name) => opts.services.upstreamTls?.(name) ?? null,
    startService: (name, signal) => {
      const timeoutMs = opts.settings.getAll().gatewayQueueTimeoutSeconds * 1000;
      return opts.services.startOnDemand(name, { timeoutMs, op: { signal, report() {} } }).catch((err: unknown) => {
        throw onDemandError(err);
      });
    },
  });
  opts.events.on('services.changed', (list) => {
    services = list;
    directory.invalidate();
    gateway.refresh();
  });
  opts.events.on('models.changed', () => {
    services = opts.services.list();
    directory.invalidate();
    gateway.refresh();
  });
  const remotesChanged = () => {
    remoteList = remotes.list();
    directory.invalidate();
    gateway.refresh();
  };
  let cachedPolicy: { at: number; value: ReturnType<typeof policyNow> } | null = null;
  const policyNow = () => {
    const s = opts.settings.getAll();
    return {
      startOnDemand: s.startOnDemand,
      maxQueue: s.gatewayQueueSize,
      queueTimeoutMs: s.gatewayQueueTimeoutSeconds * 1000,
      maxJsonBytes: 8 * MIB,
      maxUploadBytes: 200 * MIB,
      uploadBudgetBytes: opts.uploadBudgetBytes,
      corsOrigins: s.corsOrigins,
    };
  };
  // The desktop page's /v1 credential: random per process, never written anywhere (see GatewayPageAccess).
  const pageToken = randomBytes(32).toString('hex');
  const authorize = (req: IncomingMessage) => {
    const token = opts.token();
    return token !== null && authorizeGateway(req, { token, keys: opts.keys, pageToken }, opts.port());
  };
  // Settings change rarely; reading them once a second keeps SQLite off the request path.
  const policy = () => {
    const now = Date.now();
    if (!cachedPolicy || now - cachedPolicy.at > 1000) cachedPolicy = { at: now, value: policyNow() };
    return cachedPolicy.value;
  };
  const originAllowed = (origin: string | undefined) => origin === undefined || isAllowedOrigin(origin, opts.port()) || policy().corsOrigins.includes(origin);
  const gateway = new Gateway({
    directory,
    policy,
    onRequest: opts.onRequest,
    onQueue: (q) => opts.events.emit('gateway.queue', q),
    spoolDir: opts.spoolDir,
    activity: opts.activity,
    metrics: opts.serviceMetrics ? (registry, prom) => registerServiceMetrics(registry, prom, opts.serviceMetrics!) : undefined,
    isOwnOrigin: (origin) => isAllowedOrigin(origin, opts.port()),
    authorize,
  });

  const api: GatewayApi = {
    'keys.list': async () => opts.keys.list(),
    'keys.create': async ({ name }) => opts.keys.create(name),
    'keys.revoke': async ({ id }) => {
      const key = opts.keys.findActive(id);
      if (!key) throw new AimaError('not-found', `No active API key with id or name "${id}".`, 'List keys with `aima key list`.');
      // Without keys /v1 is open to local clients: fine on loopback, not while other machines can connect.
      const exposedOn = opts.exposedOn();
      if (exposedOn !== null && opts.keys.active() === 1) {
        throw new AimaError(
          'conflict',
          `Refusing to revoke "${key.name}": it is the last API key, and this core listens on ${exposedOn}, beyond loopback, where keys are what keep other machines out.`,
          'Stop the core (`aima stop`) or restart it on loopback (`aima serve --host 127.0.0.1`) first, or create another key before revoking this one.',
        );
      }
      return opts.keys.revoke(key.id)!;
    },
    'remotes.list': async () => remotes.list(),
    'remotes.add': async ({ apiKey, ...r }) => {
      if (remotes.get(r.name)) throw new AimaError('conflict', `A remote endpoint named "${r.name}" already exists.`, 'Pick another name, or remove it first.');
      if (apiKey) opts.secrets.set(secretKey(r.name), apiKey);
      const added = remotes.insert({ ...r, kind: r.kind ?? 'llm', hasKey: Boolean(apiKey) });
      remotesChanged();
      return added;
    },
    'remotes.remove': async ({ name }) => {
      const r = remotes.get(name);
      if (!r) throw new AimaError('not-found', `No remote endpoint named "${name}".`, 'List them with `aima remote list`.');
      remotes.delete(name);
      opts.secrets.delete(secretKey(name));
      remotesChanged();
      return r;
    },
    'gateway.requests': async ({ limit }) => gateway.log.recent(limit ?? 50),
    'gateway.queue': async () => ({ models: gateway.queueSnapshot(), serviceTimes: gateway.serviceTimes.list() }),
    'gateway.pageAccess': async () => {
      if (!opts.url()) throw new AimaError('unavailable', 'The core is not listening yet.', 'Try again in a moment.');
      return { url: opts.url(), token: pageToken };
    },
  };
  // The gateway routes by the services' state: a /v1 request waits until running engines are adopted.
  let started = false;
  const route: Route = (req, res, path, query) => {
    if (started || (path !== '/v1' && !path.startsWith('/v1/'))) return gateway.route(req, res, path, query);
    opts.ready().then(
      () => {
        started = true;
        if (!gateway.route(req, res, path, query)) res.writeHead(404).end();
      },
      (err: unknown) => {
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: `The AIMA core could not start its services: ${(err as Error).message}`, type: 'unavailable' } }));
      },
    );
    return true;
  };
  return { gateway, access: { authorize, originAllowed }, calls: api, routes: [route], events: ['gateway.request', 'gateway.queue'], close() {} };
}

/**
 * A refused or failed start on demand as the gateway's 503: `model_backoff` with Retry-After set
 * to the seconds left of the crash backoff, `model_failed` without one (retrying cannot help until
 * the user starts the service), `model_not_running` for a start that ended otherwise.
 */
function onDemandError(err: unknown): unknown {
  if (err instanceof StartRefused) {
    const headers: Record<string, string> = err.retryAfterSeconds !== null ? { 'retry-after': String(err.retryAfterSeconds) } : {};
    return new HttpError(503, `${err.message} ${err.fix ?? ''}`.trim(), 'server_error', err.why === 'backoff' ? 'model_backoff' : 'model_failed', null, headers);
  }
  if (err instanceof AimaError && err.code === 'unavailable') {
    return new HttpError(503, `${err.message} ${err.fix ?? ''}`.trim(), 'server_error', 'model_not_running', null, { 'retry-after': '5' });
  }
  return err;
}
