/** Migration 14 (node cluster links): upgrade from a schema-13 database holding a node; it has no link; links for it and for `local` are stored, read back and forgotten with the node. */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase, schemaVersion } from '../../src/core/store/database.js';
import { NodesRepo } from '../../src/core/store/repositories/nodes-repo.js';

describe('migration 14 (node cluster links)', () => {
  it('upgrades a database with a node: it has no link; links for it and for local are stored; an empty address is refused', () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'aima-m14-')), 'aima.db');
    const v13 = openDatabase(file, { targetVersion: 13 });
    new NodesRepo(v13).insert({ name: 'b', dockerUrl: 'tcp://10.0.0.2:2376', transport: 'tcp-tls', tlsCa: 'CA', tlsCert: 'CERT', sshKnownHosts: null });
    v13.close();

    const db = openDatabase(file, { targetVersion: 14 });
    expect(schemaVersion(db)).toBe(14);
    const repo = new NodesRepo(db);
    expect(repo.get('b')).toMatchObject({ dockerUrl: 'tcp://10.0.0.2:2376', tlsCa: 'CA' });
    expect(repo.links()).toEqual(new Map());
    repo.setLink('local', { address: '10.0.0.1', interface: 'enp1s0f1np1' });
    repo.setLink('b', { address: '10.0.0.2', interface: null });
    repo.setLink('b', { address: '10.0.0.3', interface: 'eth1' });
    expect(repo.links()).toEqual(
      new Map([
        ['local', { address: '10.0.0.1', interface: 'enp1s0f1np1' }],
        ['b', { address: '10.0.0.3', interface: 'eth1' }],
      ]),
    );
    repo.delete('b');
    expect([...repo.links().keys()]).toEqual(['local']);
    expect(() => db.prepare(`INSERT INTO node_cluster_links (node, address) VALUES ('c', '')`).run()).toThrow(/CHECK/);
    db.close();
  });
});
