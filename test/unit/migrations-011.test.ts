/** Migration 11 (download source): upgrade from a schema-10 database holding a download; it reads back as a Hugging Face one, and a ModelScope one can be stored. */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase, schemaVersion } from '../../src/core/store/database.js';
import { DownloadsRepo } from '../../src/core/store/repositories/downloads-repo.js';

describe('migration 11 (download source)', () => {
  it('upgrades a schema-10 database with a download; it is a huggingface one, a modelscope one is stored, another source is refused', () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'aima-m11-')), 'aima.db');
    const v10 = openDatabase(file, { targetVersion: 10 });
    expect(schemaVersion(v10)).toBe(10);
    v10.prepare(`INSERT INTO downloads (id, repo, revision, state, created_at, updated_at) VALUES ('d1', 'a/b', 'main', 'paused', 1, 1)`).run();
    v10.close();

    const db = openDatabase(file, { targetVersion: 11 });
    expect(schemaVersion(db)).toBe(11);
    const repo = new DownloadsRepo(db);
    expect(repo.get('d1')).toMatchObject({ id: 'd1', source: 'huggingface', repo: 'a/b', state: 'paused' });
    repo.create({ id: 'd2', source: 'modelscope', repo: 'qwen/x', revision: 'master', wantedName: null, files: [{ path: 'x.gguf', size: 3, sha256: null, blobId: null }], chunks: [] });
    expect(repo.get('d2')).toMatchObject({ source: 'modelscope', revision: 'master' });
    expect(() => db.prepare(`UPDATE downloads SET source = 'elsewhere' WHERE id = 'd1'`).run()).toThrow(/CHECK/);
    db.close();
  });
});
