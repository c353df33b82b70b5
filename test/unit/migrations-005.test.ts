import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase, schemaVersion } from '../../src/core/store/database.js';
import { ModelsRepo } from '../../src/core/store/repositories/models-repo.js';
import { SettingsRepo } from '../../src/core/store/repositories/settings-repo.js';
import { DownloadsRepo } from '../../src/core/store/repositories/downloads-repo.js';

describe('migration 5 (downloads)', () => {
  it('upgrades a schema-4 database holding settings and a model; downloads, files and chunks work and cascade', () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'aima-m5-')), 'aima.db');
    const v4 = openDatabase(file, { targetVersion: 4 });
    expect(schemaVersion(v4)).toBe(4);
    new SettingsRepo(v4).update({ theme: 'dark' });
    new ModelsRepo(v4).insert({
      id: 'm1',
      name: 'kept',
      kind: 'llm',
      kindReason: 'test',
      format: 'gguf',
      path: '/m/a.gguf',
      rootPath: '/m/a.gguf',
      sourcePath: '/m/a.gguf',
      sourceReal: '/m/a.gguf',
      storage: 'link',
      sizeBytes: 1,
      missing: [],
      warnings: [],
      metadata: {},
    });
    v4.close();

    const v5 = openDatabase(file, { targetVersion: 5 });
    expect(schemaVersion(v5)).toBe(5);
    expect(new SettingsRepo(v5).getAll()).toMatchObject({ theme: 'dark' });
    expect(new ModelsRepo(v5).getByName('kept')).toMatchObject({ id: 'm1' });
    v5.close();

    // The tables it made, through today's repository (later migrations add columns to them).
    const db = openDatabase(file);

    const repo = new DownloadsRepo(db);
    repo.create({
      id: 'd1',
      source: 'huggingface',
      repo: 'owner/name',
      revision: 'main',
      wantedName: null,
      files: [{ path: 'a.gguf', size: 20, sha256: 'f'.repeat(64), blobId: null }],
      chunks: [
        { path: 'a.gguf', idx: 0, start: 0, length: 10, written: 0 },
        { path: 'a.gguf', idx: 1, start: 10, length: 10, written: 0 },
      ],
    });
    repo.saveWritten('d1', [{ path: 'a.gguf', idx: 1, written: 7 }]);
    expect(repo.chunks('d1').map((c) => c.written)).toEqual([0, 7]);
    expect(repo.get('d1')).toMatchObject({ state: 'queued', commitSha: null });
    repo.setCommit('d1', 'abc');
    repo.setCommit('d1', 'def');
    expect(repo.get('d1')!.commitSha).toBe('abc');
    // A state outside the machine is refused by the schema itself.
    expect(() => db.prepare(`UPDATE downloads SET state = 'bogus' WHERE id = 'd1'`).run()).toThrow(/CHECK/);
    repo.delete('d1');
    expect(db.prepare('SELECT COUNT(*) AS n FROM download_chunks').get()).toEqual({ n: 0 });
    expect(db.prepare('SELECT COUNT(*) AS n FROM download_files').get()).toEqual({ n: 0 });
    db.close();
  });
});
