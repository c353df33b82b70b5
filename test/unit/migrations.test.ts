import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase, schemaVersion, latestSchemaVersion } from '../../src/core/store/database.js';
import { SettingsRepo } from '../../src/core/store/repositories/settings-repo.js';
import { migrations } from '../../src/core/store/migrations/index.js';

const tmpDb = () => path.join(mkdtempSync(path.join(os.tmpdir(), 'aima-db-')), 'aima.db');

describe('store migrations', () => {
  it('numbers migrations 1..n without gaps', () => {
    expect(migrations.map((m) => m.version)).toEqual(migrations.map((_, i) => i + 1));
    expect(latestSchemaVersion()).toBeGreaterThanOrEqual(2);
  });

  it('opens a new database at the latest schema with WAL and foreign keys', () => {
    const db = openDatabase(tmpDb());
    expect(schemaVersion(db)).toBe(latestSchemaVersion());
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('busy_timeout', { simple: true })).toBe(5000);
    db.close();
  });

  it('upgrades a schema-1 database holding rows to the latest, keeping the rows', () => {
    const file = tmpDb();
    const v1 = openDatabase(file, { targetVersion: 1 });
    expect(schemaVersion(v1)).toBe(1);
    v1.prepare('INSERT INTO settings (key, value) VALUES (?, ?)').run('onQuit', JSON.stringify('keep-running'));
    v1.prepare('INSERT INTO settings (key, value) VALUES (?, ?)').run('startAtLogin', JSON.stringify(true));
    v1.close();

    const before = Date.now();
    const db = openDatabase(file);
    expect(schemaVersion(db)).toBe(latestSchemaVersion());
    const rows = db.prepare('SELECT key, value, updated_at FROM settings ORDER BY key').all() as { key: string; value: string; updated_at: number }[];
    expect(rows.map((r) => [r.key, JSON.parse(r.value)])).toEqual([
      ['onQuit', 'keep-running'],
      ['startAtLogin', true],
    ]);
    for (const r of rows) expect(r.updated_at).toBeGreaterThanOrEqual(before);
    expect(new SettingsRepo(db).getAll()).toMatchObject({ onQuit: 'keep-running', startAtLogin: true });
    db.close();
  });

  it('refuses a database from a newer AIMA instead of damaging it', () => {
    const file = tmpDb();
    const db = openDatabase(file);
    db.pragma('user_version = 999');
    db.close();
    expect(() => openDatabase(file)).toThrow(/newer AIMA \(schema 999/);
  });

  it('rolls back a migration that fails half way', () => {
    const file = tmpDb();
    const broken = [
      ...migrations,
      {
        version: migrations.length + 1,
        name: 'broken',
        up(db: import('better-sqlite3').Database) {
          db.exec('CREATE TABLE half (x INTEGER)');
          throw new Error('boom');
        },
      },
    ];
    expect(() => openDatabase(file, { migrations: broken })).toThrow('boom');
    const db = openDatabase(file);
    expect(schemaVersion(db)).toBe(latestSchemaVersion());
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'half'").get()).toBeUndefined();
    db.close();
  });
});

describe('settings repository', () => {
  it('fills defaults, validates updates and keeps bad input out', () => {
    const db = openDatabase(':memory:');
    const repo = new SettingsRepo(db);
    expect(repo.getAll().onQuit).toBe('stop-services');
    expect(() => repo.update({ onQuit: 'explode' })).toThrow(/onQuit/);
    expect(() => repo.update({ nope: 1 })).toThrow(/Invalid settings/);
    expect(repo.getAll().onQuit).toBe('stop-services');
    expect(repo.update({ onQuit: 'keep-running' }).onQuit).toBe('keep-running');
    // A value corrupted on disk falls back to its default instead of breaking every read.
    db.prepare("UPDATE settings SET value = 'not json' WHERE key = 'onQuit'").run();
    expect(repo.getAll().onQuit).toBe('stop-services');
    db.close();
  });
});
