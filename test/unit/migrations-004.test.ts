import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase, schemaVersion } from '../../src/core/store/database.js';
import { ServicesRepo } from '../../src/core/store/repositories/services-repo.js';
import { ModelsRepo } from '../../src/core/store/repositories/models-repo.js';

const tmpDb = () => path.join(mkdtempSync(path.join(os.tmpdir(), 'aima-db-')), 'aima.db');

describe('migration 004: services', () => {
  it('upgrades a schema-3 database holding a model; services reference it, events cascade, the model is protected', () => {
    const file = tmpDb();
    const v3 = openDatabase(file, { targetVersion: 3 });
    expect(schemaVersion(v3)).toBe(3);
    v3.prepare(
      `INSERT INTO models (id, name, kind, kind_reason, format, path, root_path, source_path, source_real, storage, size_bytes, metadata, created_at)
       VALUES ('m1', 'tiny', 'llm', 'gguf general.architecture', 'gguf', '/m/tiny.gguf', '/m/tiny.gguf', '/m/tiny.gguf', '/m/tiny.gguf', 'link', 1024, '{}', 1)`,
    ).run();
    v3.close();

    const db = openDatabase(file, { targetVersion: 4 });
    expect(schemaVersion(db)).toBe(4);
    expect(new ModelsRepo(db).getByName('tiny')).toMatchObject({ id: 'm1', kind: 'llm', path: '/m/tiny.gguf' });

    const repo = new ServicesRepo(db);
    const s = repo.insert({
      id: 's1', name: 'chat', modelId: 'm1', engineId: 'aima-llm', device: 'gpu', gpus: [0, 1], port: 0,
      threads: 4, ctxSize: 2048, concurrency: 2, desiredState: 'stopped', restartPolicy: 'on-failure',
    });
    expect(s).toMatchObject({ name: 'chat', gpus: [0, 1], concurrency: 2, desiredState: 'stopped' });
    expect(repo.usingModel('m1').map((x) => x.name)).toEqual(['chat']);
    repo.addEvent({ serviceId: 's1', at: 1, from: 'stopped', to: 'starting', event: 'start', reason: null });
    repo.setDesiredState('s1', 'running');
    expect(repo.getByName('chat')!.desiredState).toBe('running');
    expect(repo.events('s1')).toHaveLength(1);

    // Unique names, valid devices and states are enforced by the schema, not just by the code.
    expect(() => repo.insert({ ...s, id: 's2' })).toThrow(/UNIQUE/);
    expect(() => db.prepare("UPDATE services SET device = 'tpu' WHERE id = 's1'").run()).toThrow(/CHECK/);
    expect(() => db.prepare("UPDATE services SET desired_state = 'maybe' WHERE id = 's1'").run()).toThrow(/CHECK/);
    // A model in use cannot be deleted; a service's events go with it.
    expect(() => db.prepare("DELETE FROM models WHERE id = 'm1'").run()).toThrow(/FOREIGN KEY/);
    repo.delete('s1');
    expect(db.prepare('SELECT COUNT(*) AS n FROM service_events').get()).toEqual({ n: 0 });
    db.prepare("DELETE FROM models WHERE id = 'm1'").run();
    db.close();
  });
});
