/**
 * The core: everything AIMA does, free of Electron. One instance per data directory runs in the
 * process holding the core lock; everyone else talks to it through an adapter.
 *
 * It opens in two steps so that a server can answer early: `openCore` builds everything that is
 * quick (the database, the model library, settings, keys), and `startup` does the slow rest
 * (Docker, adoption of the engines an earlier core left running, restores). A call that needs the
 * slow rest waits for it; every other call answers at once.
 *
 * The core is a list of features (see feature.ts), created in dependency order: each takes what
 * it needs from those before it, and nothing is filled in later.
 */
import { createListenerFeature, type ListenerControl } from './server/listener-feature.js';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { calls as contractCalls, type CoreApi, type CoreInfo } from '../shared/contract/index.js';
import { dataPaths, type DataPaths } from './config/paths.js';
import { preparePrivateDataDir, preparePrivateDatabase } from './config/data-dir.js';
import { parseMegabytes, readEnv, type Env } from './config/env.js';
import { openDatabase, schemaVersion, type Db } from './store/database.js';
import { selectSqliteBinding } from './store/native-binding.js';
import { CoreEvents } from './events.js';
import { Operations } from './operations/operations.js';
import type { GpuRef } from './hardware/types.js';
import type { SupervisorTiming } from './services/supervisor.js';
import { ApiKeysRepo } from './store/repositories/api-keys-repo.js';
import { openSecretStore } from './secrets/secret-store.js';
import { isLoopbackHost } from './server/security.js';
import type { Route, UpgradeRoute } from './server/http-server.js';
import type { StringCipher } from './secrets/secret-store.js';
import { APP_VERSION } from './version.js';
import type { ModelFit, ModelFitParams } from '../shared/contract/hardware.js';
import { composeFeatures, type CloseOptions, type Feature, type TestFeature, type UncontractedCalls } from './feature.js';
import { createSettingsFeature } from './settings/feature.js';
import { createModelsFeature } from './models/feature.js';
import { createHardwareFeature, type HardwareSeams } from './hardware/feature.js';
import { createServicesFeature, type SpanNodes } from './services/feature.js';
import { createNodesFeature, type NodesOptions } from './nodes/feature.js';
import { createDockerClient } from './runtimes/docker/platform.js';
import { createDownloadsFeature } from './downloads/feature.js';
import { createGatewayFeature } from './gateway/feature.js';
import { createVoiceFeature } from './voice/feature.js';
import { ServiceActivity, VoiceUsage } from './scheduler/activity.js';

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
  /** Scheduler seams (tests): the host's memory as the planner sees it, the idle-TTL check's period. */
  scheduler?: { hostMemory?: () => { totalBytes: number; availableBytes: number }; idleCheckMs?: number };
  /** The install token, for the gateway's auth (set by the host; tests without a server leave it out). */
  token?: string;
  /** Electron safeStorage for secrets (the HF token) when inside the desktop app. */
  secretCipher?: StringCipher;
  /** Hardware: test seams (extra own pids, telemetry period, Docker client). */
  hardware?: HardwareSeams;
  /** Nodes: heartbeat and facts seams (tests). */
  nodes?: Pick<NodesOptions, 'heartbeatMs' | 'lostAfterMs' | 'readFacts'>;
  /**
   * Test seam: features appended to the end of the core's list. Their calls, routes and upgrades
   * are served like every other feature's (the acceptance test of "one face per feature": nothing
   * else names them); calls outside the contract bring their schemas (TestFeature).
   */
  extraFeatures?: readonly TestFeature[];
  /** Test seam: replaces parts of the nodes registry's view (facts, cluster links, Docker clients) for services across nodes. */
  spanNodes?: Partial<SpanNodes>;
}

export interface Core {
  readonly api: CoreApi;
  readonly events: CoreEvents;
  readonly paths: DataPaths;
  readonly db: Db;
  readonly env: Env;
  readonly operations: Operations;
  /** API keys for /v1 and /api (the gateway and remote access). */
  readonly keys: ApiKeysRepo;
  /** The features' routes, to mount on the core's HTTP server (the gateway's /v1 and /metrics). */
  readonly routes: readonly Route[];
  /** The features' WebSocket upgrades under /api/ (voice's /api/voice). */
  readonly upgrades: readonly UpgradeRoute[];
  /** The features' routes under /api/ besides /api/call (voice recordings), mounted after the auth checks. */
  readonly apiRoutes: readonly Route[];
  /** Calls outside the contract (test features only; empty in production). */
  readonly uncontracted: UncontractedCalls;
  /**
   * Set once the server listens, so core.info can report the URL; `bindHost` is the address it
   * listens on (a core reachable beyond loopback keeps at least one API key).
   */
  setUrl(url: string, bindHost?: string): void;
  /** The host that runs the HTTP server answers server.status and server.listen through this. */
  attachListener(control: ListenerControl | null): void;
  /**
   * The slow part of the start: every feature's `startup` in list order (the services': Docker's
   * containers, adoption of running engines, restores of services that should run). Runs once;
   * later calls return the same promise. Calls that need it (services, the gateway's /v1, the
   * hardware report's attribution) start it themselves.
   */
  startup(): Promise<void>;
  /**
   * Closes the core: the features in reverse order, then the database. stopServices: stop the
   * engines (default: the onQuit setting — 'stop-services' stops them, 'keep-running' leaves them
   * for the next core to adopt by PID file).
   */
  close(opts?: CloseOptions): Promise<void>;
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
  const operations = new Operations(events);
  const keys = new ApiKeysRepo(db);
  // One secret store per core (the HF token, remote endpoints' keys); a fallback to the plain file is said once.
  const secrets = openSecretStore({ dataDir: paths.dataDir, cipher: opts.secretCipher });
  if (secrets.warning) process.stderr.write(`aima: warning: ${secrets.warning}\n`);
  const root = appRoot();
  const startedAt = new Date().toISOString();
  let url = '';
  // The port of `url`, kept beside it: the gateway reads it on every request (Host checks).
  let port = 0;
  let exposedOn: string | null = null;
  // The core's startup is every feature's, in list order, once. Features whose calls need it (the
  // hardware report, the gateway's /v1) take it as `ready`; it reads the list only when called.
  let started: Promise<void> | undefined;
  const startup = (): Promise<void> =>
    (started ??= (async () => {
      for (const f of features) await f.startup?.();
    })());

  // The features, in dependency order: each takes what it needs from those before it.
  const info: Feature = {
    calls: {
      'core.info': async () => ({ version: APP_VERSION, pid: process.pid, dataDir: paths.dataDir, url, host: opts.host, startedAt, schemaVersion: schemaVersion(db) }),
      'operations.cancel': async ({ id }) => ({ cancelled: operations.cancel(id) }),
    },
    events: ['operation.progress'],
    close() {},
  };
  const settings = createSettingsFeature({ db, events, totalMemoryBytes: opts.scheduler?.hostMemory?.().totalBytes, activeKeys: () => keys.active() });
  // What the scheduler reads about use: the gateway reports requests per service, voice the models its sessions hold.
  const activity = new ServiceActivity();
  const voiceUsage = new VoiceUsage();
  const models = createModelsFeature({ db, events, paths, operations });
  const hardware = createHardwareFeature({ dataDir: paths.dataDir, env, events, models: models.library, ready: startup, seams: opts.hardware });
  const nodes = createNodesFeature({ db, events, secrets: secrets.store, localClient: () => createDockerClient(env.DOCKER_HOST), operations, ...opts.nodes });
  const services = createServicesFeature({
    nodes: nodes.registry,
    secrets: secrets.store,
    db,
    events,
    paths,
    env,
    operations,
    appRoot: root,
    listGpus: opts.listGpus ?? (() => hardware.listGpus()),
    fit: opts.modelFit ?? ((p) => hardware.calls['models.fit'](p)),
    timing: opts.serviceTiming,
    engineResources: () => settings.current().engineResources,
    stopOnQuit: () => settings.current().onQuit === 'stop-services',
    schedulerSettings: () => settings.current(),
    activity,
    voice: voiceUsage,
    gpuMemory: (maxAgeMs) => hardware.gpuMemory(maxAgeMs),
    hostMemory: opts.scheduler?.hostMemory,
    idleCheckMs: opts.scheduler?.idleCheckMs,
    spanNodes: opts.spanNodes,
  });
  const downloads = createDownloadsFeature({ db, events, paths, env, models: models.library, appRoot: root, secrets, defaultSource: () => settings.current().downloadSource });
  const gateway = createGatewayFeature({
    db,
    events,
    settings: settings.repo,
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
    ready: startup,
    activity,
    serviceMetrics: {
      services: () => services.supervisor.list(),
      memory: () => services.scheduler.measure(),
      gpus: async () => (await services.scheduler.gpuMemory())?.gpus ?? null,
      idleUnloads: (name) => services.scheduler.idleUnloadCount(name),
    },
  });
  // The voice chain reaches its models through this core's own gateway, over loopback.
  // Voice setup calls the other features through the contract's schemas, as a client would (defaults applied).
  const through = <K extends keyof CoreApi>(name: K, fn: CoreApi[K]): CoreApi[K] => ((p: unknown) => (fn as (q: unknown) => unknown)(contractCalls[name].params.parse(p))) as CoreApi[K];
  const voice = createVoiceFeature({
    db,
    appRoot: root,
    recordingsDir: paths.recordings,
    settings: () => settings.current(),
    gateway: { url: () => url, token: () => opts.token ?? null },
    usage: voiceUsage,
    realtime: {
      ...gateway.access,
      limits: () => {
        const s = settings.current();
        return { maxSessions: s.realtimeMaxSessions, idleMs: s.realtimeIdleSeconds * 1000 };
      },
    },
    setup: {
      api: {
        'models.list': through('models.list', models.calls['models.list']),
        'models.import': through('models.import', models.calls['models.import']),
        'models.fit': through('models.fit', hardware.calls['models.fit']),
        'services.list': through('services.list', services.calls['services.list']),
        'services.create': through('services.create', services.calls['services.create']),
        'services.start': through('services.start', services.calls['services.start']),
        'services.stop': through('services.stop', services.calls['services.stop']),
        'services.remove': through('services.remove', services.calls['services.remove']),
        'remotes.list': through('remotes.list', gateway.calls['remotes.list']),
        'engines.list': through('engines.list', services.calls['engines.list']),
      },
      operations,
      events,
      machine: () => hardware.memoryFacts(),
    },
  });
  const listener = createListenerFeature();
  const features: readonly TestFeature[] = [info, listener, settings, models, hardware, nodes, services, downloads, gateway, voice, ...(opts.extraFeatures ?? [])];
  let composed: ReturnType<typeof composeFeatures>;
  try {
    composed = composeFeatures(features);
  } catch (err) {
    // A list that does not compose (a bug; or a test feature naming a contract call): undo the opening.
    void (async () => {
      for (const f of [...features].reverse()) await f.close({ stopServices: false });
    })().finally(() => db.close());
    throw err;
  }

  return {
    api: composed.api,
    events,
    paths,
    db,
    env,
    operations,
    keys,
    routes: composed.routes,
    upgrades: composed.upgrades,
    apiRoutes: composed.apiRoutes,
    uncontracted: composed.uncontracted,
    startup,
    attachListener: (control) => listener.attach(control),
    setUrl(u, bindHost) {
      url = u;
      port = u ? Number(new URL(u).port) : 0;
      exposedOn = bindHost && !isLoopbackHost(bindHost) ? bindHost : null;
    },
    async close(closeOpts = {}) {
      // Operations in flight (imports, downloads, waited starts) end first; then the features, later
      // ones first (they use the earlier ones); the database last.
      operations.cancelAll();
      for (const f of [...features].reverse()) await f.close(closeOpts);
      db.close();
    },
  };
}
