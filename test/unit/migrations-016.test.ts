/** Migration 16 (Hub model): upgrade from a schema-15 database holding a service; it has no Hub id; an id and revision are stored, read back and changed; a revision without an id is refused by the schema. */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase, schemaVersion } from '../../src/core/store/database.js';
import { ServicesRepo } from '../../src/core/store/repositories/services-repo.js';
import { serviceRow } from '../support/services.js';

const service = (id: string, name: string) => serviceRow(id, name, { engineId: 'vllm', device: 'gpu' });

describe('migration 16 (Hub model)', () => {
  it('upgrades a database with a service: no Hub id; an id and revision are stored, changed and cleared; a revision without an id is refused', () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'aima-m16-')), 'aima.db');
    const v15 = openDatabase(file, { targetVersion: 15 });
    new ServicesRepo(v15).insert({ ...service('s1', 'old'), modelPathOnNode: '/srv/models/old' });
    v15.close();

    const db = openDatabase(file, { targetVersion: 16 });
    expect(schemaVersion(db)).toBe(16);
    const repo = new ServicesRepo(db);
    expect(repo.getByName('old')).toMatchObject({ modelPathOnNode: '/srv/models/old', hfModel: null, hfRevision: null });
    expect(repo.insert({ ...service('s2', 'new'), hfModel: 'Qwen/Qwen2.5-0.5B-Instruct', hfRevision: 'main' })).toMatchObject({ hfModel: 'Qwen/Qwen2.5-0.5B-Instruct', hfRevision: 'main' });
    expect(repo.update('s1', { modelPathOnNode: null, hfModel: 'org/other', hfRevision: null })).toMatchObject({ modelPathOnNode: null, hfModel: 'org/other', hfRevision: null });
    expect(() => db.prepare(`UPDATE services SET hf_model = NULL, hf_revision = 'main' WHERE id = 's1'`).run()).toThrow(/CHECK/);
    expect(() => db.prepare(`UPDATE services SET hf_model = 'no-slash' WHERE id = 's1'`).run()).toThrow(/CHECK/);
    db.close();
  });
});
