import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase, schemaVersion } from '../../src/core/store/database.js';
import { ModelsRepo } from '../../src/core/store/repositories/models-repo.js';
import { SettingsRepo } from '../../src/core/store/repositories/settings-repo.js';

describe('migration 3 (models)', () => {
  it('upgrades a schema-2 database holding settings, and the model library works on it', () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'aima-m3-')), 'aima.db');
    const v2 = openDatabase(file, { targetVersion: 2 });
    new SettingsRepo(v2).update({ theme: 'dark', onQuit: 'keep-running' });
    v2.close();

    const db = openDatabase(file, { targetVersion: 3 });
    expect(schemaVersion(db)).toBe(3);
    expect(new SettingsRepo(db).getAll()).toMatchObject({ theme: 'dark', onQuit: 'keep-running' });
    const repo = new ModelsRepo(db);
    const base = {
      kind: 'llm' as const,
      kindReason: 'test',
      format: 'gguf' as const,
      path: '/m/a.gguf',
      rootPath: '/m/a.gguf',
      sourcePath: '/m/a.gguf',
      storage: 'link' as const,
      sizeBytes: 1,
      missing: [],
      warnings: [],
      metadata: { architecture: 'llama' },
    };
    repo.insert({ ...base, id: '1', name: 'a', sourceReal: '/m/a.gguf' });
    expect(repo.getByName('a')).toMatchObject({ id: '1', metadata: { architecture: 'llama' } });
    // Unique name and unique source are enforced by the schema, not only by the library.
    expect(() => repo.insert({ ...base, id: '2', name: 'a', sourceReal: '/m/b.gguf' })).toThrow(/UNIQUE/);
    expect(() => repo.insert({ ...base, id: '3', name: 'b', sourceReal: '/m/a.gguf' })).toThrow(/UNIQUE/);
    db.close();
  });
});
