/**
 * The core: everything AIMA does, free of Electron. One instance per data directory runs in the
 * process holding the core lock; everyone else talks to it through an adapter.
 *
 * It opens in two steps so that a server can answer early: `openCore` builds everything that is
 * quick (the database, the model library, settings, keys), and `startup` does the slow rest
 * (Docker, adoption of the engines an earlier core left running, restores). A call that needs the
 * slow rest waits for it; every other call answers at once.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CoreApi, CoreInfo } from '../shared/contract/index.js';
import { dataPaths, type DataPaths } from './config/paths.js';
import { preparePrivateDataDir, preparePrivateDatabase } from './config/data-dir.js';
import { parseMegabytes, readEnv, type Env } from './config/env.js';
import { openDatabase, schemaVersion, type Db } from './store/database.js';
import { selectSqliteBinding } from './store/native-binding.js';
import { SettingsRepo } from './store/repositories/settings-repo.js';
import { CoreEvents } from './events.js';
import { ModelsRepo } from './store/repositories/models-repo.js';
import { ModelLibrary } from './models/library.js';
import { Operations } from './operations/operations.js';
import { createServices, type Services } from './services/index.js';
import type { GpuRef } from './services/guards.js';
import type { SupervisorTiming } from './services/supervisor.js';
import { ApiKeysRepo } from './store/repositories/api-keys-repo.js';
import { openSecretStore } from './secrets/secret-store.js';
import { createGatewayFeature } from './gateway/index.js';
import { isLoopbackHost } from './server/security.js';
import type { Route } from './server/http-server.js';
import type { Gateway } from './gateway/gateway.js';
import { createDownloads } from './downloads/service.js';
import type { StringCipher } from './secrets/secret-store.js';
import { APP_VERSION } from './version.js';
import { createHardwareFeature, type HardwareSeams } from './hardware/feature.js';
import type { ModelFit, ModelFitParams } from '../shared/contract/hardware.js';
import { createVoiceFeature, type VoiceFeature } from './voice/feature.js';

export interface CoreOptions {
  dataDir: string;
  host: CoreInfo['host'];
  env?: Env;
  /** Folders that may hold native/ (see native-binding.ts). */
  nativeRoots?: string[];
  /** Services: replaces hardware detection for the GPU guard, and timer overrides (tests). */
  listGpus?: () => Promise<GpuRef[]>;
  /** Replaces the fit estimate the services check before a start (tests). */
  modelFit?: (p: ModelFitParams) => Promise<ModelFit>;
  serviceTiming?: Partial<SupervisorTiming>;
  /** The install token, for the gateway's auth (set by the host; tests without a server leave it out). */
  token?: string;
  /** Electron safeStorage for secrets (the HF token) when inside the desktop app. */
  secretCipher?: StringCipher;
  /** Hardware: test seams (extra own pids, telemetry period, Docker client). */
  hardware?: HardwareSeams;
}

export interface Core {
  readonly api: CoreApi;
  readonly events: CoreEvents;
  readonly paths: DataPaths;
  readonly db: Db;
  readonly env: Env;
  readonly models: ModelLibrary;
  readonly operations: Operations;
  readonly services: Services['supervisor'];
  /** API keys for /v1 and /api (the gateway and remote access). */
  readonly keys: ApiKeysRepo;
  /** The OpenAI-compatible gateway. */
  readonly gateway: Gateway;
  /** The routes to mount on the core's HTTP server: the gateway's, holding `/v1` requests until `startup` is done. */
  readonly routes: Route[];
  /** Voice conversations; its `/api/voice` upgrade handler is mounted on the core's HTTP server. */
  readonly voice: VoiceFeature;
  /**
   * Set once the server listens, so core.info can report the URL; `bindHost` is the address it
   * listens on (a core reachable beyond loopback keeps at least one API key).
   */
  setUrl(url: string, bindHost?: string): void;
  /**
   * The slow part of the start: Docker's containers, adoption of running engines, restores of
   * services that should run. Runs once; later calls return the same promise. Calls that need it
   * (services, the gateway's /v1, the hardware report's attribution) start it themselves.
   */
  startup(): Promise<void>;
  /**
   * Closes the core. stopServices: stop the engines (default: the onQuit setting — 'stop-services'
   * stops them, 'keep-running' leaves them for the next core to adopt by PID file).
   */
  close(opts?: { stopServices?: boolean }): Promise<void>;
}

/** The repository root (development) or app root (packaged): where `native/` and `out/` live. */
export function appRoot(): string {
  // This file is bundled into out/<something>/*.js or run from src/core in tests; walk up to package.json.
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    dir = path.dirname(dir);
  }
  return process.cwd();
}

/** Opens the core and waits for its {@link Core.startup}. */
export async function createCore(opts: CoreOptions): Promise<Core> {
  const core = openCore(opts);
  try {
    await core.startup();
  } catch (err) {
    await core.close().catch(() => {});
    throw err;
  }
  return core;
}

/** Opens the core without its slow part: a server listens first, then calls {@link Core.startup}. */
export function openCore(opts: CoreOptions): Core {
  const env = opts.env ?? readEnv();
  const paths = dataPaths(opts.dataDir);
  // The host says when an existing data directory is open to others; here it only has to exist.
  preparePrivateDataDir(paths);
  const binding = selectSqliteBinding({
    electronVersion: process.versions.electron,
    env,
    searchRoots: opts.nativeRoots ?? [appRoot()],
    exists: existsSync,
  });
  preparePrivateDatabase(paths.database);
  const db = openDatabase(paths.database, { binding });
  const events = new CoreEvents();
  const settings = new SettingsRepo(db);
  const operations = new Operations(events);
  const models = new ModelLibrary(new ModelsRepo(db), paths.models, (list) => events.emit('models.changed', list));
  models.sweepUnfinishedImports((line) => process.stderr.write(`aima: ${line}\n`));
  // Services are read lazily: telemetry names their pids, and their GPU guard uses this detection.
  const late: { supervisor?: Services['supervisor'] } = {};
  const hardware = createHardwareFeature({
    dataDir: paths.dataDir,
    env,
    events,
    models,
    services: () => late.supervisor?.list() ?? [],
    seams: opts.hardware,
  });
  const services = createServices({
    db,
    events,
    paths,
    env,
    operations,
    appRoot: appRoot(),
    listGpus: opts.listGpus ?? (() => hardware.listGpus()),
    fit: opts.modelFit ?? ((p) => hardware.api['models.fit'](p)),
    timing: opts.serviceTiming,
    engineResources: () => settings.getAll().engineResources,
  });
  late.supervisor = services.supervisor;
  const keys = new ApiKeysRepo(db);
  // One secret store per core (the HF token, remote endpoints' keys); a fallback to the plain file is said once.
  const secrets = openSecretStore({ dataDir: paths.dataDir, cipher: opts.secretCipher });
  if (secrets.warning) process.stderr.write(`aima: warning: ${secrets.warning}\n`);
  const downloads = createDownloads({ db, events, paths, env, models, appRoot: appRoot(), secrets });
  const startedAt = new Date().toISOString();
  let url = '';
  // The port of `url`, kept beside it: the gateway reads it on every request (Host checks).
  let port = 0;
  let exposedOn: string | null = null;
  const gatewayFeature = createGatewayFeature({
    db,
    events,
    settings,
    keys,
    secrets: secrets.store,
    services: services.supervisor,
    token: () => opts.token ?? null,
    onRequest: (r) => events.emit('gateway.request', r),
    url: () => url,
    port: () => port,
    exposedOn: () => exposedOn,
    spoolDir: paths.tmp,
    uploadBudgetBytes: parseMegabytes(env.AIMA_UPLOAD_BUDGET_MB ?? '1024', 'AIMA_UPLOAD_BUDGET_MB'),
  });

  // The voice chain reaches its models through this core's own gateway, over loopback.
  const voice = createVoiceFeature({ db, appRoot: appRoot(), gateway: { url: () => url, token: () => opts.token ?? null } });

  const api: CoreApi = {
    'core.info': async () => ({
      version: APP_VERSION,
      pid: process.pid,
      dataDir: paths.dataDir,
      url,
      host: opts.host,
      startedAt,
      schemaVersion: schemaVersion(db),
    }),
    'settings.get': async () => settings.getAll(),
    'settings.update': async (patch) => {
      const next = settings.update(patch);
      events.emit('settings.changed', next);
      return next;
    },
    'models.list': async () => models.list(),
    'models.get': async ({ name }) => models.get(name),
    'models.import': async ({ operationId, mode, ...req }) =>
      operations.run({ id: operationId, label: `Importing ${req.path}`, unit: 'bytes' }, (op) => models.import({ ...req, mode: mode ?? 'link' }, op)),
    'models.rename': async ({ name, newName }) => models.rename(name, newName),
    'models.remove': async ({ name }) => models.remove(name),
    'operations.cancel': async ({ id }) => ({ cancelled: operations.cancel(id) }),
    ...services.api,
    ...downloads.api,
    ...gatewayFeature.api,
    ...hardware.api,
    // Attribution names the services' processes: it needs the adopted engines.
    'hardware.report': async (params) => {
      await services.init();
      return hardware.api['hardware.report'](params);
    },
    ...voice.api,
  };

  // The gateway routes by the services' state: a /v1 request waits until running engines are adopted.
  const gatewayRoute = gatewayFeature.gateway.route;
  let started = false;
  const startup = () => services.init().then(() => void (started = true));
  const routes: Route[] = [
    (req, res, path, query) => {
      if (started || (path !== '/v1' && !path.startsWith('/v1/'))) return gatewayRoute(req, res, path, query);
      startup().then(
        () => {
          if (!gatewayRoute(req, res, path, query)) res.writeHead(404).end();
        },
        (err: unknown) => {
          res.writeHead(503, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { message: `The AIMA core could not start its services: ${(err as Error).message}`, type: 'unavailable' } }));
        },
      );
      return true;
    },
  ];

  return {
    api,
    events,
    paths,
    db,
    env,
    models,
    operations,
    services: services.supervisor,
    keys,
    gateway: gatewayFeature.gateway,
    routes,
    voice,
    startup,
    setUrl(u, bindHost) {
      url = u;
      port = u ? Number(new URL(u).port) : 0;
      exposedOn = bindHost && !isLoopbackHost(bindHost) ? bindHost : null;
    },
    async close(closeOpts = {}) {
      operations.cancelAll();
      voice.close();
      hardware.close();
      await downloads.close();
      await services.supervisor.shutdown({ stopServices: closeOpts.stopServices ?? settings.getAll().onQuit === 'stop-services' });
      db.close();
    },
  };
}
