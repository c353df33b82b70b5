/** Migration 12 (nodes): upgrade from a schema-11 database holding a service; it is on `local`; a node row and a service on it can be stored; `local` cannot be a row. */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase, schemaVersion } from '../../src/core/store/database.js';
import { NodesRepo } from '../../src/core/store/repositories/nodes-repo.js';
import { ServicesRepo } from '../../src/core/store/repositories/services-repo.js';

describe('migration 12 (nodes)', () => {
  it('upgrades a schema-11 database with a service: it is on local; nodes and a service on one are stored', () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'aima-m12-')), 'aima.db');
    const v11 = openDatabase(file, { targetVersion: 11 });
    new ServicesRepo(v11).insert({ id: 's1', name: 'old', modelId: null, engineId: 'aima-tts', device: 'cpu', gpus: [], port: 0, threads: null, ctxSize: null, concurrency: 1, desiredState: 'running', restartPolicy: 'on-failure' });
    v11.close();

    const db = openDatabase(file, { targetVersion: 12 });
    expect(schemaVersion(db)).toBe(12);
    const services = new ServicesRepo(db);
    expect(services.getById('s1')).toMatchObject({ name: 'old', node: 'local', desiredState: 'running' });
    const nodes = new NodesRepo(db);
    expect(nodes.list()).toEqual([]);
    nodes.insert({ name: 'b', dockerUrl: 'tcp://10.0.0.2:2376', transport: 'tcp-tls', tlsCa: 'CA', tlsCert: 'CERT', sshKnownHosts: null });
    nodes.insert({ name: 's', dockerUrl: 'ssh://me@gpu-s', transport: 'ssh', tlsCa: null, tlsCert: null, sshKnownHosts: '/home/me/.ssh/known_hosts' });
    services.insert({ id: 's2', name: 'far', modelId: null, engineId: 'vllm', device: 'gpu', gpus: [], port: 0, threads: null, ctxSize: null, concurrency: 1, desiredState: 'stopped', restartPolicy: 'on-failure', node: 'b' });
    expect(services.getById('s2')?.node).toBe('b');
    // At this schema (no spans yet) the query is by the node column alone.
    expect(db.prepare('SELECT name FROM services WHERE node = ?').all('b')).toEqual([{ name: 'far' }]);
    expect(nodes.get('b')).toMatchObject({ dockerUrl: 'tcp://10.0.0.2:2376', transport: 'tcp-tls', tlsCa: 'CA', tlsCert: 'CERT', sshKnownHosts: null });
    expect(nodes.get('s')).toMatchObject({ transport: 'ssh', sshKnownHosts: '/home/me/.ssh/known_hosts' });
    expect(() => nodes.insert({ name: 'local', dockerUrl: 'tcp://x:2376', transport: 'tcp-tls', tlsCa: null, tlsCert: null, sshKnownHosts: null })).toThrow(/CHECK/);
    expect(() => db.prepare(`INSERT INTO nodes (name, docker_url, transport, created_at) VALUES ('c', 'x', 'http', 1)`).run()).toThrow(/CHECK/);
    db.close();
  });
});
