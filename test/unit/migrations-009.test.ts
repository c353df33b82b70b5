/** Migration 9 (replicas): upgrade from a schema-7 database holding services; replica_of is stored and read back. */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase, schemaVersion } from '../../src/core/store/database.js';
import { ServicesRepo } from '../../src/core/store/repositories/services-repo.js';

describe('migration 9 (replicas)', () => {
  it('upgrades a schema-7 database with a service; it is no replica, and a new one can be made a replica of it', () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'aima-m9-')), 'aima.db');
    const v7 = openDatabase(file, { targetVersion: 7 });
    expect(schemaVersion(v7)).toBe(7);
    v7.prepare(`INSERT INTO services (id, name, engine_id, device, port, created_at) VALUES ('s1', 'chat', 'aima-llm', 'cpu', 0, 1)`).run();
    v7.close();

    const db = openDatabase(file, { targetVersion: 9 });
    expect(schemaVersion(db)).toBe(9);
    const repo = new ServicesRepo(db);
    expect(repo.getByName('chat')).toMatchObject({ id: 's1', name: 'chat', replicaOf: null });
    const r = repo.insert({ id: 's2', name: 'chat-2', modelId: null, engineId: 'aima-llm', device: 'cpu', gpus: [], port: 0, threads: null, ctxSize: null, concurrency: 1, desiredState: 'stopped', restartPolicy: 'on-failure' });
    expect(r.replicaOf).toBeNull();
    repo.setReplicaOf('s2', 's1');
    expect(repo.getByName('chat-2')).toMatchObject({ replicaOf: 's1' });
    // The primary cannot go while a replica points at it (the services feature removes replicas first).
    expect(() => repo.delete('s1')).toThrow(/FOREIGN KEY/);
    repo.delete('s2');
    repo.delete('s1');
    expect(repo.list()).toEqual([]);
    db.close();
  });
});
