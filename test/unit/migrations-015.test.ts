/** Migration 15 (model path on node): upgrade from a schema-14 database holding a service on a node; it has no path; a path is stored and read back; a relative one is refused by the schema. */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase, schemaVersion } from '../../src/core/store/database.js';
import { ServicesRepo } from '../../src/core/store/repositories/services-repo.js';
import { serviceRow } from '../support/services.js';

const service = (id: string, name: string) => serviceRow(id, name, { engineId: 'llama-cpp', device: 'cpu' });

describe('migration 15 (model path on node)', () => {
  it('upgrades a database with a service on a node: it has no path; a path is stored and read back; a relative path is refused', () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'aima-m15-')), 'aima.db');
    const v14 = openDatabase(file, { targetVersion: 14 });
    new ServicesRepo(v14).insert(service('s1', 'old'));
    v14.close();

    const db = openDatabase(file, { targetVersion: 15 });
    expect(schemaVersion(db)).toBe(15);
    const repo = new ServicesRepo(db);
    expect(repo.getByName('old')).toMatchObject({ node: 'b', modelPathOnNode: null });
    expect(repo.insert({ ...service('s2', 'new'), modelPathOnNode: '/srv/models/llama.gguf' }).modelPathOnNode).toBe('/srv/models/llama.gguf');
    expect(repo.getByName('new')?.modelPathOnNode).toBe('/srv/models/llama.gguf');
    expect(() => db.prepare(`UPDATE services SET model_path_on_node = 'models/x.gguf' WHERE id = 's1'`).run()).toThrow(/CHECK/);
    db.close();
  });
});
