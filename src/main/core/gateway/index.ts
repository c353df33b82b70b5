/**
 * The gateway feature: the `/v1` + `/metrics` route, API keys, remote endpoints and the request
 * log, wired to the services supervisor and the settings. core.ts spreads `api` into the core's
 * API and mounts `gateway.route` on the HTTP server.
 */
import type { IncomingMessage } from 'node:http';
import type { CoreApi, ServiceSummary } from '../../../shared/contract/index.js';
import { AimaError } from '../../../shared/errors.js';
import type { Db } from '../store/database.js';
import type { SettingsRepo } from '../store/repositories/settings-repo.js';
import type { ApiKeysRepo } from '../store/repositories/api-keys-repo.js';
import { RemotesRepo } from '../store/repositories/remotes-repo.js';
import type { SecretStore } from '../secrets/secret-store.js';
import { authorizeGateway, isAllowedOrigin } from '../server/security.js';
import { Gateway } from './gateway.js';
import { clearSpool } from './upload.js';
import { createModelDirectory } from './routes-directory.js';
import type { CoreEvents } from '../events.js';

export type GatewayApi = Pick<CoreApi, 'keys.list' | 'keys.create' | 'keys.revoke' | 'remotes.list' | 'remotes.add' | 'remotes.remove' | 'gateway.requests'>;

export interface GatewayFeatureOptions {
  db: Db;
  events: CoreEvents;
  settings: SettingsRepo;
  keys: ApiKeysRepo;
  secrets: SecretStore;
  services: {
    list(): ServiceSummary[];
    start(name: string, opts: { wait: boolean; timeoutMs: number; op: { signal: AbortSignal; report(): void } }): Promise<ServiceSummary>;
  };
  onRequest?: (r: import('./request-log.js').RequestRecord) => void;
  /** Where uploads wait for their `model` field (cleared at start: leftovers of a crash). */
  spoolDir: string;
  /** Total bytes of uploads in flight. */
  uploadBudgetBytes: number;
  /** The install token and the server's port (known once it listens). */
  token: () => string | null;
  port: () => number;
}

const MIB = 1024 * 1024;

export function createGatewayFeature(opts: GatewayFeatureOptions): { gateway: Gateway; api: GatewayApi } {
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
    startService: (name, signal) => {
      const timeoutMs = opts.settings.getAll().gatewayQueueTimeoutSeconds * 1000;
      return opts.services.start(name, { wait: true, timeoutMs, op: { signal, report() {} } });
    },
  });
  opts.events.on('services.changed', (list) => {
    services = list;
    directory.invalidate();
  });
  opts.events.on('models.changed', () => {
    services = opts.services.list();
    directory.invalidate();
  });
  const remotesChanged = () => {
    remoteList = remotes.list();
    directory.invalidate();
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
  const gateway = new Gateway({
    directory,
    // Settings change rarely; reading them once a second keeps SQLite off the request path.
    policy: () => {
      const now = Date.now();
      if (!cachedPolicy || now - cachedPolicy.at > 1000) cachedPolicy = { at: now, value: policyNow() };
      return cachedPolicy.value;
    },
    onRequest: opts.onRequest,
    spoolDir: opts.spoolDir,
    isOwnOrigin: (origin) => isAllowedOrigin(origin, opts.port()),
    authorize: (req: IncomingMessage) => {
      const token = opts.token();
      return token !== null && authorizeGateway(req, { token, keys: opts.keys }, opts.port());
    },
  });

  const api: GatewayApi = {
    'keys.list': async () => opts.keys.list(),
    'keys.create': async ({ name }) => opts.keys.create(name),
    'keys.revoke': async ({ id }) => {
      const k = opts.keys.revoke(id);
      if (!k) throw new AimaError('not-found', `No active API key with id or name "${id}".`, 'List keys with `aima key list`.');
      return k;
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
  };
  return { gateway, api };
}
