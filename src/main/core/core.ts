/**
 * The core: everything AIMA does, free of Electron. One instance per data directory runs in the
 * process holding the core lock; everyone else talks to it through an adapter.
 */
import { mkdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CoreApi, CoreInfo } from '../../shared/contract/index.js';
import { dataPaths, type DataPaths } from './config/paths.js';
import { readEnv, type Env } from './config/env.js';
import { openDatabase, schemaVersion, type Db } from './store/database.js';
import { selectSqliteBinding } from './store/native-binding.js';
import { SettingsRepo } from './store/repositories/settings-repo.js';
import { CoreEvents } from './events.js';
import { APP_VERSION } from './version.js';

export interface CoreOptions {
  dataDir: string;
  host: CoreInfo['host'];
  env?: Env;
  /** Folders that may hold native/ (see native-binding.ts). */
  nativeRoots?: string[];
}

export interface Core {
  readonly api: CoreApi;
  readonly events: CoreEvents;
  readonly paths: DataPaths;
  readonly db: Db;
  readonly env: Env;
  /** Set once the server listens, so core.info can report it. */
  setUrl(url: string): void;
  close(): Promise<void>;
}

/** The repository root (development) or app root (packaged): where `native/` and `out/` live. */
export function appRoot(): string {
  // This file is bundled into out/<something>/*.js or run from src/main/core in tests; walk up to package.json.
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    dir = path.dirname(dir);
  }
  return process.cwd();
}

export async function createCore(opts: CoreOptions): Promise<Core> {
  const env = opts.env ?? readEnv();
  const paths = dataPaths(opts.dataDir);
  mkdirSync(paths.dataDir, { recursive: true, mode: 0o700 });
  mkdirSync(paths.logs, { recursive: true });
  const binding = selectSqliteBinding({
    electronVersion: process.versions.electron,
    env,
    searchRoots: opts.nativeRoots ?? [appRoot()],
    exists: existsSync,
  });
  const db = openDatabase(paths.database, { binding });
  const events = new CoreEvents();
  const settings = new SettingsRepo(db);
  const startedAt = new Date().toISOString();
  let url = '';

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
  };

  return {
    api,
    events,
    paths,
    db,
    env,
    setUrl(u) {
      url = u;
    },
    async close() {
      db.close();
    },
  };
}
