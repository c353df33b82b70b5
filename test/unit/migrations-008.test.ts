/** Migration 8 (scheduler): upgrade from a schema-7 database holding a service; idle TTL, pinned, the largest RSS seen. */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase, schemaVersion } from '../../src/core/store/database.js';
import { ServicesRepo } from '../../src/core/store/repositories/services-repo.js';

describe('migration 8 (scheduler)', () => {
  it('upgrades a schema-7 database with a service; it keeps its fields, gets no TTL and is not pinned; both can be set', () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'aima-m8-')), 'aima.db');
    const v7 = openDatabase(file, { targetVersion: 7 });
    new ServicesRepo(v7).insert({ id: 's1', name: 'chat', modelId: null, engineId: 'aima-tts', device: 'cpu', gpus: [], port: 0, threads: null, ctxSize: null, concurrency: 2, desiredState: 'running', restartPolicy: 'on-failure' });
    v7.close();

    const db = openDatabase(file, { targetVersion: 8 });
    expect(schemaVersion(db)).toBe(8);
    const repo = new ServicesRepo(db);
    expect(repo.getByName('chat')).toMatchObject({ name: 'chat', concurrency: 2, desiredState: 'running', idleTtl: null, pinned: false, peakRss: null });
    expect(repo.update('s1', { idleTtl: 600, pinned: true })).toMatchObject({ idleTtl: 600, pinned: true });
    expect(repo.update('s1', { pinned: false })).toMatchObject({ idleTtl: 600, pinned: false });
    expect(repo.insert({ id: 's2', name: 'tts', modelId: null, engineId: 'aima-tts', device: 'cpu', gpus: [], port: 0, threads: null, ctxSize: null, concurrency: 1, desiredState: 'stopped', restartPolicy: 'never', idleTtl: 0, pinned: true })).toMatchObject({ idleTtl: 0, pinned: true });
    repo.setPeakRss('s1', 123_456_789.4);
    expect(repo.getById('s1')!.peakRss).toBe(123_456_789);
    expect(() => db.prepare("UPDATE services SET idle_ttl = -1 WHERE id = 's1'").run()).toThrow(/CHECK/);
    expect(() => db.prepare("UPDATE services SET peak_rss = -1 WHERE id = 's1'").run()).toThrow(/CHECK/);
    db.close();
  });
});
