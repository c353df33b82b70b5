/**
 * The downloads feature: the hub adapters (Hugging Face: HF_ENDPOINT, token from HF_TOKEN or the
 * secret store; ModelScope: MODELSCOPE_ENDPOINT), the manager over the downloads tables, and the
 * `hub.*` / `downloads.*` calls. A call that names no source goes to the `downloadSource` setting.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CoreApi, HubSource } from '../../shared/contract/index.js';
import type { Env } from '../config/env.js';
import type { DataPaths } from '../config/paths.js';
import type { CoreEvents } from '../events.js';
import type { ModelLibrary } from '../models/library.js';
import type { OpenedSecretStore } from '../secrets/secret-store.js';
import type { Db } from '../store/database.js';
import { DownloadsRepo } from '../store/repositories/downloads-repo.js';
import { sizeFitHint } from './fit-hint.js';
import { HuggingFaceHub } from './huggingface-hub.js';
import { ModelScopeHub } from './modelscope-hub.js';
import { loadStarters } from './starters.js';
import { DownloadManager, type DownloadManagerOptions } from './manager.js';
import type { Feature } from '../feature.js';
import { HF_TOKEN_KEY, huggingFaceToken } from './hf-token.js';

export type DownloadsApi = Pick<
  CoreApi,
  'hub.search' | 'hub.files' | 'hub.starters' | 'hub.tokenStatus' | 'hub.setToken' | 'downloads.start' | 'downloads.list' | 'downloads.pause' | 'downloads.resume' | 'downloads.cancel'
>;

export interface DownloadsDeps {
  db: Db;
  events: CoreEvents;
  paths: DataPaths;
  env: Env;
  models: ModelLibrary;
  appRoot: string;
  /** The core's secret store (one per core: keychain, Electron safeStorage or the 0600 file). */
  secrets: OpenedSecretStore;
  /** The `downloadSource` setting, read on every call that names no source. */
  defaultSource?: () => HubSource;
  /** Test overrides (chunk size, retry timing, free-space probe). */
  tuning?: Partial<Pick<DownloadManagerOptions, 'chunkBytes' | 'connections' | 'singleStreamBytes' | 'retry' | 'persistEveryMs' | 'progressEveryMs' | 'freeBytes'>>;
}

/**
 * The transfer thread's script (built by scripts/build-node.mjs beside the CLI, for the Electron
 * build too). A missing one is said at start; downloads then fail with the same line.
 */
export function transferThreadEntry(appRoot: string, warn: (line: string) => void): string {
  const entry = path.join(appRoot, 'out', 'threads', 'download-transfer.mjs');
  if (!existsSync(entry)) warn(`${entry} is missing (build with \`npm run build\`); downloads fail until it is built`);
  return entry;
}

export interface DownloadsFeature extends Feature {
  readonly calls: DownloadsApi;
  readonly manager: DownloadManager;
}

export function createDownloadsFeature(deps: DownloadsDeps): DownloadsFeature {
  const secrets = deps.secrets;
  const token = () => huggingFaceToken(deps.env, secrets.store);
  const hubs = {
    huggingface: new HuggingFaceHub({ endpoint: deps.env.HF_ENDPOINT, token }),
    modelscope: new ModelScopeHub({ endpoint: deps.env.MODELSCOPE_ENDPOINT }),
  };
  const manager = new DownloadManager({
    repo: new DownloadsRepo(deps.db),
    hubs,
    defaultSource: deps.defaultSource,
    library: deps.models,
    downloadsDir: path.join(deps.paths.dataDir, 'downloads'),
    modelsDir: deps.paths.models,
    emit: (s) => deps.events.emit('download.progress', s),
    fitVerdict: (size) => sizeFitHint(size, { ramBytes: os.totalmem() }),
    transferThread: transferThreadEntry(deps.appRoot, (line) => process.stderr.write(`aima: ${line}\n`)),
    log: (line) => process.stderr.write(`aima: ${line}\n`),
    ...deps.tuning,
  });
  manager.sweepOrphanPartials();
  manager.resumeInterrupted();
  const tokenStatus = () => ({
    set: Boolean(token()),
    store: deps.env.HF_TOKEN ? ('env' as const) : secrets.store.get(HF_TOKEN_KEY) ? secrets.store.kind : ('none' as const),
    ...(secrets.warning ? { warning: secrets.warning } : {}),
  });
  const api: DownloadsApi = {
    'hub.search': async ({ query, filter, limit, source }) => manager.hub(source).search(query, filter ?? 'gguf', limit ?? 20),
    'hub.files': async ({ repo, revision, source }) => manager.files(repo, revision, source),
    'hub.starters': async () => loadStarters(deps.appRoot),
    'hub.tokenStatus': async () => tokenStatus(),
    'hub.setToken': async ({ token: t }) => {
      if (t === null) secrets.store.delete(HF_TOKEN_KEY);
      else secrets.store.set(HF_TOKEN_KEY, t);
      return tokenStatus();
    },
    'downloads.start': async (p) => manager.start(p),
    'downloads.list': async () => manager.list(),
    'downloads.pause': async ({ id }) => manager.pause(id),
    'downloads.resume': async ({ id }) => manager.resume(id),
    'downloads.cancel': async ({ id }) => manager.cancel(id),
  };
  return { manager, calls: api, events: ['download.progress'], close: () => manager.close() };
}
