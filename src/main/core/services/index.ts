/**
 * Services wired into the core: the supervisor with its real dependencies (catalog files, the
 * native runtime, hardware detection for the GPU guard) and the API handlers for `services.*` and
 * `engines.list`. core.ts spreads `api` into the core's API and calls `shutdown` on close.
 */
import path from 'node:path';
import type { CoreApi } from '../../../shared/contract/index.js';
import type { Env } from '../config/env.js';
import type { DataPaths } from '../config/paths.js';
import type { CoreEvents } from '../events.js';
import type { Db } from '../store/database.js';
import { loadCatalog } from '../engines/catalog.js';
import { detectHardware } from '../hardware/detect.js';
import type { Operations } from '../operations/operations.js';
import { NativeRuntime } from '../runtimes/native/native-runtime.js';
import { ModelsRepo } from '../store/repositories/models-repo.js';
import { ServicesRepo } from '../store/repositories/services-repo.js';
import type { GpuRef } from './guards.js';
import { ServiceSupervisor, type SupervisorTiming } from './supervisor.js';

export type ServicesApi = Pick<
  CoreApi,
  'services.list' | 'services.get' | 'services.create' | 'services.start' | 'services.stop' | 'services.restart' | 'services.remove' | 'services.logs' | 'engines.list'
>;

export interface ServicesOptions {
  db: Db;
  events: CoreEvents;
  paths: DataPaths;
  env: Env;
  operations: Operations;
  /** The repository root or app root: resources/engines and out/workers live there. */
  appRoot: string;
  /** Replaces hardware detection for the GPU guard (tests). */
  listGpus?: () => Promise<GpuRef[]>;
  timing?: Partial<SupervisorTiming>;
}

export interface Services {
  supervisor: ServiceSupervisor;
  api: ServicesApi;
}

export async function createServices(opts: ServicesOptions): Promise<Services> {
  const { paths, env, events, operations } = opts;
  const builtinDir = path.join(opts.appRoot, 'resources', 'engines');
  const userDir = path.join(paths.dataDir, 'engines');
  const models = new ModelsRepo(opts.db);
  const supervisor = new ServiceSupervisor({
    repo: new ServicesRepo(opts.db),
    models,
    loadCatalog: () => loadCatalog({ builtin: builtinDir, user: userDir }),
    runtime: new NativeRuntime(),
    host: {
      node: process.execPath,
      workersDir: path.join(opts.appRoot, 'out', 'workers'),
      searchPath: env.PATH ?? '',
      env,
      platform: process.platform,
    },
    listGpus:
      opts.listGpus ??
      (async () => (await detectHardware({ dataDir: paths.dataDir, nvidiaSmiPath: env.AIMA_NVIDIA_SMI })).gpus.map((g) => ({ index: g.index, name: g.name }))),
    logsDir: path.join(paths.logs, 'services'),
    runDir: paths.run,
    onChange: (all) => events.emit('services.changed', all),
    onLog: (name, lines) => events.emit('services.log', { name, lines }),
    electron: Boolean(process.versions.electron),
    timing: opts.timing,
  });
  await supervisor.init();

  const startOrRestart = (which: 'start' | 'restart') => async (p: { name: string; wait?: boolean; timeoutMs?: number; operationId?: string }) => {
    if (!p.wait) return supervisor[which](p.name, {});
    return operations.run({ id: p.operationId, label: `Starting ${p.name}`, unit: 'percent' }, (op) =>
      supervisor[which](p.name, { wait: true, timeoutMs: p.timeoutMs, op }),
    );
  };

  const api: ServicesApi = {
    'services.list': async () => supervisor.list(),
    'services.get': async ({ name }) => supervisor.get(name),
    'services.create': async (params) => supervisor.create(params),
    'services.start': startOrRestart('start'),
    'services.restart': startOrRestart('restart'),
    'services.stop': async ({ name, force }) => supervisor.stop(name, { force }),
    'services.remove': async ({ name }) => supervisor.remove(name),
    'services.logs': async ({ name, lines }) => supervisor.logs(name, lines ?? 200),
    'engines.list': async () => supervisor.engines(),
  };
  return { supervisor, api };
}
