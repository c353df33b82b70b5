/** Migration 6 (gateway): upgrade from a schema-5 database holding rows; API keys and remote endpoints work. */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase, schemaVersion } from '../../src/core/store/database.js';
import { ApiKeysRepo, hashKey } from '../../src/core/store/repositories/api-keys-repo.js';
import { RemotesRepo } from '../../src/core/store/repositories/remotes-repo.js';
import { SettingsRepo } from '../../src/core/store/repositories/settings-repo.js';

describe('migration 6 (gateway)', () => {
  it('upgrades a schema-5 database with settings and a download; keys are stored hashed, verified, revoked for good; remotes are unique by name', () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'aima-m6-')), 'aima.db');
    const v5 = openDatabase(file, { targetVersion: 5 });
    expect(schemaVersion(v5)).toBe(5);
    new SettingsRepo(v5).update({ theme: 'dark' });
    v5.prepare(`INSERT INTO downloads (id, repo, revision, state, created_at, updated_at) VALUES ('d1', 'owner/name', 'main', 'paused', 1, 2)`).run();
    expect(() => v5.prepare('SELECT 1 FROM api_keys').get()).toThrow(/no such table/);
    v5.close();

    const db = openDatabase(file, { targetVersion: 6 });
    expect(schemaVersion(db)).toBe(6);
    expect(new SettingsRepo(db).getAll()).toMatchObject({ theme: 'dark' });
    expect(db.prepare('SELECT id, state FROM downloads').all()).toEqual([{ id: 'd1', state: 'paused' }]);

    const keys = new ApiKeysRepo(db);
    expect(keys.list()).toEqual([]);
    const { key, info } = keys.create('ci');
    expect(info).toMatchObject({ name: 'ci', prefix: key.slice(0, 9), lastUsedAt: null, revokedAt: null });
    // Only the hash is stored, never the key.
    const stored = db.prepare('SELECT * FROM api_keys').all() as Record<string, unknown>[];
    expect(stored).toHaveLength(1);
    expect(Object.values(stored[0]!)).not.toContain(key);
    expect(stored[0]!.hash).toBe(hashKey(key));
    expect(keys.verify(key)).toBe(true);
    expect(keys.get(info.id)!.lastUsedAt).not.toBeNull();
    expect(keys.active()).toBe(1);
    expect(keys.revoke('ci')!.revokedAt).not.toBeNull();
    expect(keys.verify(key)).toBe(false);
    expect(keys.active()).toBe(0);
    // The same hash cannot be stored twice.
    expect(() => db.prepare(`INSERT INTO api_keys (id, name, prefix, hash, created_at) VALUES ('x', 'dup', 'p', ?, 1)`).run(hashKey(key))).toThrow(/UNIQUE/);

    const remotes = new RemotesRepo(db);
    expect(remotes.insert({ name: 'openai', baseUrl: 'https://api.example.com/v1', models: ['gpt-x'], kind: 'llm', hasKey: true })).toMatchObject({
      name: 'openai',
      models: ['gpt-x'],
      hasKey: true,
    });
    expect(() => remotes.insert({ name: 'openai', baseUrl: 'https://other', models: [], kind: 'llm', hasKey: false })).toThrow(/UNIQUE/);
    // Defaults for rows written without kind or key flag.
    db.prepare(`INSERT INTO remote_endpoints (id, name, base_url, models, created_at) VALUES ('r2', 'plain', 'http://x', '[]', 1)`).run();
    expect(remotes.get('plain')).toMatchObject({ kind: 'llm', hasKey: false });
    db.close();

    // Reopened (at the latest schema), the revoked key stays revoked.
    const again = openDatabase(file);
    expect(new ApiKeysRepo(again).verify(key)).toBe(false);
    again.close();
  });
});
