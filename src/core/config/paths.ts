/**
 * The one data directory resolver, used by the desktop app (Electron's userData is set to it) and
 * the CLI alike, so both always see the same store, lock and logs.
 */
import path from 'node:path';
import os from 'node:os';
import type { Env } from './env.js';

export interface PlatformInfo {
  platform: NodeJS.Platform;
  homedir: string;
}

/**
 * Resolves the data directory: AIMA_HOME wins; otherwise the platform's conventional place —
 * Linux `$XDG_DATA_HOME/aima` (default `~/.local/share/aima`), macOS
 * `~/Library/Application Support/AIMA`, Windows `%APPDATA%\AIMA`.
 */
export function resolveDataDir(env: Env, platform: PlatformInfo = { platform: process.platform, homedir: os.homedir() }): string {
  const p = platform.platform === 'win32' ? path.win32 : path.posix;
  if (env.AIMA_HOME) return p.resolve(env.AIMA_HOME);
  switch (platform.platform) {
    case 'darwin':
      return p.join(platform.homedir, 'Library', 'Application Support', 'AIMA');
    case 'win32':
      return p.join(env.APPDATA ?? p.join(platform.homedir, 'AppData', 'Roaming'), 'AIMA');
    default: {
      // XDG says a relative XDG_DATA_HOME is invalid and must be ignored.
      const xdg = env.XDG_DATA_HOME && p.isAbsolute(env.XDG_DATA_HOME) ? env.XDG_DATA_HOME : p.join(platform.homedir, '.local', 'share');
      return p.join(xdg, 'aima');
    }
  }
}

/** Well-known files inside the data directory. */
export function dataPaths(dataDir: string) {
  return {
    dataDir,
    database: path.join(dataDir, 'aima.db'),
    lock: path.join(dataDir, 'core.lock'),
    token: path.join(dataDir, 'token'),
    installId: path.join(dataDir, 'install-id'),
    logs: path.join(dataDir, 'logs'),
    serveLog: path.join(dataDir, 'logs', 'serve.log'),
    models: path.join(dataDir, 'models'),
    run: path.join(dataDir, 'run'),
    /** Recorded voice turns (FLAC), one folder per conversation. */
    recordings: path.join(dataDir, 'recordings'),
    /** Temporary files of the running core (uploads waiting for their model field). */
    tmp: path.join(dataDir, 'tmp'),
  };
}
export type DataPaths = ReturnType<typeof dataPaths>;
