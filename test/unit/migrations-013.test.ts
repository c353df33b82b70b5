/** Migration 13 (service span): upgrade from a schema-11 database holding a service; it reads back on one node, and a span is stored and read back. */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase, schemaVersion } from '../../src/core/store/database.js';
import { ServicesRepo } from '../../src/core/store/repositories/services-repo.js';

describe('migration 13 (service span)', () => {
  it('upgrades a database with a service: it has no span; a span across nodes is stored; parallel sizes below 1 are refused', () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'aima-m13-')), 'aima.db');
    const v11 = openDatabase(file, { targetVersion: 11 });
    const before = new ServicesRepo(v11);
    const base = { modelId: null, engineId: 'vllm', device: 'gpu' as const, gpus: [], port: 0, threads: null, ctxSize: null, concurrency: 1, desiredState: 'stopped' as const, restartPolicy: 'on-failure' as const };
    before.insert({ ...base, id: 's1', name: 'old' });
    v11.close();

    const db = openDatabase(file, { targetVersion: 13 });
    expect(schemaVersion(db)).toBe(13);
    const repo = new ServicesRepo(db);
    expect(repo.getById('s1')).toMatchObject({ name: 'old', span: null });
    const span = { nodes: ['spark1', 'spark2'], tensorParallel: 2, pipelineParallel: 1 };
    expect(repo.insert({ ...base, id: 's2', name: 'big', span }).span).toEqual(span);
    expect(repo.getByName('big')!.span).toEqual(span);
    expect(() => db.prepare(`UPDATE services SET tensor_parallel = 0 WHERE id = 's2'`).run()).toThrow(/CHECK/);
    expect(() => db.prepare(`UPDATE services SET pipeline_parallel = 0 WHERE id = 's2'`).run()).toThrow(/CHECK/);
    db.close();
  });
});
