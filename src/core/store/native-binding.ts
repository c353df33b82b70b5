/**
 * Chooses which better-sqlite3 native module to load. Node (CLI, `aima serve`, tests) uses the
 * module npm built in node_modules. Electron needs one built for Electron's ABI, which we keep
 * beside the Node one, in `native/electron-<major>/better_sqlite3.node` (produced on a machine with
 * network by `npm run build:native-electron`), and hand to better-sqlite3's `nativeBinding` option.
 * Keeping both side by side means tests never break the desktop app and vice versa.
 */
import path from 'node:path';
import { AimaError } from '../../shared/errors.js';
import type { Env } from '../config/env.js';

export type BindingChoice = { kind: 'default' } | { kind: 'file'; path: string; why: 'env' | 'electron' };

export interface BindingContext {
  /** process.versions.electron, when running inside Electron. */
  electronVersion?: string;
  env: Env;
  /** Folders that may hold `native/` (the app's resources path, the repo root in development). */
  searchRoots: string[];
  exists: (file: string) => boolean;
}

/** The file name our Electron build script writes for an Electron major version. */
export function electronBindingPath(root: string, electronVersion: string): string {
  const major = electronVersion.split('.')[0];
  return path.join(root, 'native', `electron-${major}`, 'better_sqlite3.node');
}

/** Picks the binding for this process, or throws an AimaError that says how to get one. */
export function selectSqliteBinding(ctx: BindingContext): BindingChoice {
  if (ctx.env.AIMA_SQLITE_BINDING) {
    if (!ctx.exists(ctx.env.AIMA_SQLITE_BINDING)) {
      throw new AimaError(
        'unavailable',
        `AIMA_SQLITE_BINDING points to ${ctx.env.AIMA_SQLITE_BINDING}, which does not exist.`,
        'Set it to a better_sqlite3.node built for this runtime, or unset it.',
      );
    }
    return { kind: 'file', path: ctx.env.AIMA_SQLITE_BINDING, why: 'env' };
  }
  if (!ctx.electronVersion) return { kind: 'default' };
  const tried = ctx.searchRoots.map((root) => electronBindingPath(root, ctx.electronVersion!));
  const found = tried.find((file) => ctx.exists(file));
  if (found) return { kind: 'file', path: found, why: 'electron' };
  throw new AimaError(
    'unavailable',
    `No better-sqlite3 build for Electron ${ctx.electronVersion} was found (looked at ${tried.join(', ')}).`,
    'Run `npm run build:native-electron` on a machine with network access (it builds for Electron without touching the Node build), or set AIMA_SQLITE_BINDING.',
  );
}
