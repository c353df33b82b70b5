/** Migration 17 (the Hub id an engine was started with): upgrade from a schema-16 database; existing rows start from their stored id; the id is recorded and read back apart from hf_model. */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase, schemaVersion } from '../../src/core/store/database.js';
import { ServicesRepo } from '../../src/core/store/repositories/services-repo.js';
import { serviceRow } from '../support/services.js';

const service = (id: string, name: string) => serviceRow(id, name, { engineId: 'vllm', device: 'gpu' });

describe('migration 17 (the Hub id an engine was started with)', () => {
  it('upgrades: a Hub-id service starts from its stored id, one without has none; a start records the id apart from an update', () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'aima-m17-')), 'aima.db');
    const v16 = openDatabase(file, { targetVersion: 16 });
    const old = new ServicesRepo(v16);
    old.insert({ ...service('s1', 'hub'), hfModel: 'org/old', hfRevision: 'main' });
    old.insert({ ...service('s2', 'path'), modelPathOnNode: '/srv/models/x' });
    v16.close();

    const db = openDatabase(file, { targetVersion: 17 });
    expect(schemaVersion(db)).toBe(17);
    const repo = new ServicesRepo(db);
    expect(repo.getByName('hub')).toMatchObject({ hfModel: 'org/old', startedHfModel: 'org/old' });
    expect(repo.getByName('path')).toMatchObject({ hfModel: null, startedHfModel: null });
    // An update changes what the next start uses, not what the engine was started with.
    expect(repo.update('s1', { hfModel: 'org/new', hfRevision: null })).toMatchObject({ hfModel: 'org/new', startedHfModel: 'org/old' });
    repo.setStartedHfModel('s1', 'org/new');
    expect(repo.getById('s1')).toMatchObject({ hfModel: 'org/new', startedHfModel: 'org/new' });
    expect(repo.insert({ ...service('s3', 'fresh'), hfModel: 'org/x' })).toMatchObject({ hfModel: 'org/x', startedHfModel: null });
    expect(() => db.prepare(`UPDATE services SET started_hf_model = 'no-slash' WHERE id = 's1'`).run()).toThrow(/CHECK/);
    db.close();
  });
});
