/** The nodes repository's answer to "what still uses this node": services placed on it and services spanning it. */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/core/store/database.js';
import { NodesRepo } from '../../src/core/store/repositories/nodes-repo.js';
import { ServicesRepo } from '../../src/core/store/repositories/services-repo.js';

describe('NodesRepo.servicesOn', () => {
  it('names the services placed on a node and those spanning it, not those on other nodes', () => {
    const db = openDatabase(path.join(mkdtempSync(path.join(os.tmpdir(), 'aima-nodes-repo-')), 'aima.db'));
    const nodes = new NodesRepo(db);
    for (const name of ['a', 'b', 'c', 'ab']) nodes.insert({ name, dockerUrl: `tcp://${name}:2376`, transport: 'tcp-tls', tlsCa: null, tlsCert: null, sshKnownHosts: null });
    const services = new ServicesRepo(db);
    const base = { modelId: null, engineId: 'vllm', device: 'gpu' as const, gpus: [], port: 0, threads: null, ctxSize: null, concurrency: 1, desiredState: 'stopped' as const, restartPolicy: 'on-failure' as const };
    services.insert({ ...base, id: 's1', name: 'on-b', node: 'b' });
    services.insert({ ...base, id: 's2', name: 'across', node: 'a', span: { nodes: ['a', 'b'], tensorParallel: 2, pipelineParallel: 1 } });
    services.insert({ ...base, id: 's3', name: 'on-ab', node: 'ab' });
    expect(nodes.servicesOn('b')).toEqual(['across', 'on-b']);
    expect(nodes.servicesOn('a')).toEqual(['across']);
    // A node whose name is part of another's is not matched by it.
    expect(nodes.servicesOn('ab')).toEqual(['on-ab']);
    expect(nodes.servicesOn('c')).toEqual([]);
    db.close();
  });
});
