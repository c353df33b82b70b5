/**
 * Opens the SQLite store (WAL, foreign keys, busy timeout) and brings its schema up to date with
 * numbered migrations, each in its own transaction, tracked in PRAGMA user_version.
 */
import Database from 'better-sqlite3';
import type { Database as Db } from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { AimaError } from '../../shared/errors.js';
import { migrations as allMigrations, type Migration } from './migrations/index.js';
import type { BindingChoice } from './native-binding.js';

export type { Db };

export interface OpenOptions {
  binding?: BindingChoice;
  /** For upgrade tests: stop at this schema version. */
  targetVersion?: number;
  migrations?: readonly Migration[];
}

export function latestSchemaVersion(migrations: readonly Migration[] = allMigrations): number {
  return migrations.reduce((max, m) => Math.max(max, m.version), 0);
}

/** Opens (creating if needed) and migrates the database at `file` (or ':memory:'). */
export function openDatabase(file: string, opts: OpenOptions = {}): Db {
  if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
  const binding = opts.binding?.kind === 'file' ? { nativeBinding: opts.binding.path } : {};
  const db = new Database(file, binding);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    db.pragma('synchronous = NORMAL');
    migrate(db, opts.migrations ?? allMigrations, opts.targetVersion);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/** Applies the migrations above the database's version, each atomically. */
export function migrate(db: Db, migrations: readonly Migration[], targetVersion = latestSchemaVersion(migrations)): number {
  const current = schemaVersion(db);
  const latest = latestSchemaVersion(migrations);
  if (current > latest) {
    throw new AimaError(
      'conflict',
      `The database was written by a newer AIMA (schema ${current}; this version knows up to ${latest}).`,
      'Update AIMA, or point AIMA_HOME at another data directory.',
    );
  }
  const pending = [...migrations].sort((a, b) => a.version - b.version).filter((m) => m.version > current && m.version <= targetVersion);
  for (const m of pending) {
    db.transaction(() => {
      m.up(db);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
  return schemaVersion(db);
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}
