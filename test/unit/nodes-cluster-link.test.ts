/**
 * A node's cluster link: the contract's checks of the address and interface (with the field and
 * the fix in the message), the pure change rules, and `nodes.set` / `nodes.add`'s refusals over a
 * real database — `local`'s link included, kept across a restart, forgotten with its node.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { NodeAddParams, NodeSetParams } from '../../src/shared/contract/nodes.js';
import { AimaError } from '../../src/shared/errors.js';
import { CoreEvents } from '../../src/core/events.js';
import { nextClusterLink } from '../../src/core/nodes/cluster-link.js';
import { createNodesFeature, type NodesFeature } from '../../src/core/nodes/feature.js';
import { openSecretStore } from '../../src/core/secrets/secret-store.js';
import { openDatabase, type Db } from '../../src/core/store/database.js';
import { NodesRepo } from '../../src/core/store/repositories/nodes-repo.js';

/** The message dispatch would show for bad params: each issue as `field: message`. */
function refusal(params: unknown): string | null {
  const r = NodeSetParams.safeParse(params);
  return r.success ? null : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
}

describe('the cluster address and interface as the contract checks them', () => {
  it.each([
    ['10.0.0.9', '10.0.0.9'],
    [' 192.168.100.2 ', '192.168.100.2'],
    ['127.0.0.1', '127.0.0.1'],
    ['fd00::2', 'fd00::2'],
    ['spark-2', 'spark-2'],
    ['spark-2.lan', 'spark-2.lan'],
    ['none', null],
    ['NONE', null],
    ['', null],
    [null, null],
  ])('address %j → %j', (raw, want) => {
    expect(NodeSetParams.parse({ name: 'local', clusterAddress: raw }).clusterAddress).toBe(want);
  });

  it.each([
    ['http://10.0.0.9', /^clusterAddress: "http:\/\/10\.0\.0\.9" is a URL, not an address: give the address the other nodes reach this node at/],
    ['10.0.0.9:6379', /^clusterAddress: "10\.0\.0\.9:6379" has a port or brackets/],
    ['[fd00::2]', /^clusterAddress: "\[fd00::2\]" has a port or brackets/],
    ['0.0.0.0', /^clusterAddress: 0\.0\.0\.0 means "every interface", which no other node can reach/],
    ['::', /^clusterAddress: :: means "every interface"/],
    ['10.0.0.300', /^clusterAddress: "10\.0\.0\.300" is not a valid IPv4 address/],
    ['10.0.0', /^clusterAddress: "10\.0\.0" is not a valid IPv4 address/],
    ['spark_2', /^clusterAddress: "spark_2" is neither an IPv4 or IPv6 address nor a host name: .*or "none" to clear it$/],
    ['-spark', /is neither an IPv4 or IPv6 address nor a host name/],
    ['a b', /is neither an IPv4 or IPv6 address nor a host name/],
    [`${'x'.repeat(64)}.lan`, /is neither an IPv4 or IPv6 address nor a host name/],
  ])('refuses the address %j', (raw, message) => {
    expect(refusal({ name: 'local', clusterAddress: raw })).toMatch(message);
  });

  it.each([
    ['eth1', 'eth1'],
    ['enp1s0f1np1', 'enp1s0f1np1'],
    ['bond0.100', 'bond0.100'],
    ['none', null],
    ['', null],
  ])('interface %j → %j', (raw, want) => {
    expect(NodeSetParams.parse({ name: 'local', clusterInterface: raw }).clusterInterface).toBe(want);
  });

  it.each(['eth1 eth2', 'eth0:1', 'a-name-of-sixteen', '^docker,lo', '/dev/eth0', '.hidden'])('refuses the interface %j', (raw) => {
    expect(refusal({ name: 'local', clusterInterface: raw })).toMatch(/^clusterInterface: not an interface name: give the name of the network interface of the link between the nodes as `ip link` lists it/);
  });

  it('nodes.add takes the same fields with the same checks', () => {
    expect(NodeAddParams.parse({ name: 'b', docker: 'ssh://me@b', clusterAddress: '10.0.0.2', clusterInterface: 'eth1' })).toMatchObject({ clusterAddress: '10.0.0.2', clusterInterface: 'eth1' });
    expect(NodeAddParams.safeParse({ name: 'b', docker: 'ssh://me@b', clusterAddress: 'tcp://10.0.0.2' }).success).toBe(false);
  });
});

describe('nextClusterLink: only the fields given change', () => {
  const link = { address: '10.0.0.9', interface: 'eth1' };
  it.each([
    ['a first address', null, { clusterAddress: '10.0.0.9' }, { address: '10.0.0.9', interface: null }],
    ['a first address and interface', null, { clusterAddress: '10.0.0.9', clusterInterface: 'eth1' }, link],
    ['a new address keeps the interface', link, { clusterAddress: '10.0.0.10' }, { address: '10.0.0.10', interface: 'eth1' }],
    ['a new interface keeps the address', link, { clusterInterface: 'eth2' }, { address: '10.0.0.9', interface: 'eth2' }],
    ['the interface cleared', link, { clusterInterface: null }, { address: '10.0.0.9', interface: null }],
    ['the address cleared clears the link', link, { clusterAddress: null }, null],
    ['both cleared', link, { clusterAddress: null, clusterInterface: null }, null],
    ['nothing given', link, {}, link],
    ['nothing at all', null, {}, null],
  ])('%s', (_what, current, change, want) => {
    expect(nextClusterLink('b', current, change)).toEqual(want);
  });

  it('refuses an interface without an address, with the command that sets both', () => {
    expect(() => nextClusterLink('b', null, { clusterInterface: 'eth1' })).toThrow(/^--cluster-interface eth1 needs a cluster address, and node "b" has none\.$/);
    const err = (() => {
      try {
        nextClusterLink('b', link, { clusterAddress: null, clusterInterface: 'eth2' });
      } catch (e) {
        return e as AimaError;
      }
    })();
    expect(err).toBeInstanceOf(AimaError);
    expect(err!.message).toBe('--cluster-address none clears node "b"\'s cluster link, so --cluster-interface eth2 has no address to go with.');
    expect(err!.fix).toBe('Give both: `aima node set b --cluster-address IP --cluster-interface eth2` (IP: the address the other nodes reach "b" at).');
  });
});

describe('nodes.set over a real database', () => {
  const open: { db: Db; feature: NodesFeature }[] = [];
  afterEach(() => {
    for (const o of open.splice(0)) {
      o.feature.close({ stopServices: false });
      o.db.close();
    }
  });
  const dir = () => mkdtempSync(path.join(os.tmpdir(), 'aima-link-'));
  function nodes(dataDir: string) {
    const db = openDatabase(path.join(dataDir, 'aima.db'));
    const events = new CoreEvents();
    const changed: string[] = [];
    events.on('nodes.changed', (list) => changed.push(JSON.stringify(list.map((n) => [n.name, n.cluster]))));
    const feature = createNodesFeature({
      db,
      events,
      secrets: openSecretStore({ dataDir, keyring: 'no keychain in this test' }).store,
      localClient: () => {
        throw new Error('no engine is asked in this test');
      },
      heartbeatMs: 3_600_000,
    });
    open.push({ db, feature });
    return { db, feature, changed };
  }

  it("sets, changes and clears local's link; emits nodes.changed; keeps it across a restart", async () => {
    const home = dir();
    const { feature, changed } = nodes(home);
    const set = await feature.calls['nodes.set']({ name: 'local', clusterAddress: '10.0.0.9', clusterInterface: 'eth1' });
    expect(set.cluster).toEqual({ address: '10.0.0.9', interface: 'eth1' });
    expect(feature.registry.clusterLink('local')).toEqual({ address: '10.0.0.9', interface: 'eth1' });
    expect(changed).toEqual([JSON.stringify([['local', { address: '10.0.0.9', interface: 'eth1' }]])]);
    expect(feature.registry.summaries()[0]!.cluster).toEqual({ address: '10.0.0.9', interface: 'eth1' });
    feature.close({ stopServices: false });
    open.splice(0).forEach((o) => o.db.close());

    const again = nodes(home);
    expect(again.feature.registry.clusterLink('local')).toEqual({ address: '10.0.0.9', interface: 'eth1' });
    expect((await again.feature.calls['nodes.set']({ name: 'local', clusterInterface: 'none' })).cluster).toEqual({ address: '10.0.0.9', interface: null });
    expect((await again.feature.calls['nodes.set']({ name: 'local', clusterAddress: 'none' })).cluster).toBeNull();
    expect(again.feature.registry.clusterLink('local')).toBeNull();
    expect(new NodesRepo(again.db).links().size).toBe(0);
  });

  it('refuses an unknown node, nothing to change and an interface without an address; nothing is saved', async () => {
    const { feature, db, changed } = nodes(dir());
    const refused = (p: Parameters<NodesFeature['calls']['nodes.set']>[0]) => feature.calls['nodes.set'](p).then(() => null, (e: AimaError) => `${e.code}: ${e.message} | ${e.fix}`);
    expect(await refused({ name: 'spark-2', clusterAddress: '10.0.0.2' })).toBe('not-found: No node named "spark-2". | See `aima node list`, or add one with `aima node add`.');
    expect(await refused({ name: 'local' })).toMatch(/^bad-request: Nothing to change on node "local"\. \| Give --cluster-address IP \(or none\) and\/or --cluster-interface IF/);
    expect(await refused({ name: 'local', clusterInterface: 'eth1' })).toMatch(/^bad-request: --cluster-interface eth1 needs a cluster address, and node "local" has none\./);
    expect(new NodesRepo(db).links().size).toBe(0);
    expect(changed).toEqual([]);
  });

  it("an added node's link is read back, and forgotten when the node is removed", async () => {
    const home = dir();
    const first = nodes(home);
    new NodesRepo(first.db).insert({ name: 'b', dockerUrl: 'ssh://me@spark-2', transport: 'ssh', tlsCa: null, tlsCert: null, sshKnownHosts: null }, { address: '10.0.0.2', interface: null });
    first.feature.close({ stopServices: false });
    open.splice(0).forEach((o) => o.db.close());

    const { feature, db } = nodes(home);
    expect(feature.registry.clusterLink('b')).toEqual({ address: '10.0.0.2', interface: null });
    expect((await feature.calls['nodes.set']({ name: 'b', clusterInterface: 'enp1s0f1np1' })).cluster).toEqual({ address: '10.0.0.2', interface: 'enp1s0f1np1' });
    await feature.calls['nodes.remove']({ name: 'b' });
    expect(feature.registry.clusterLink('b')).toBeNull();
    expect(new NodesRepo(db).links().has('b')).toBe(false);
  });

  it('nodes.add refuses an interface without an address before asking any engine', async () => {
    const { feature, db } = nodes(dir());
    const err = await feature.calls['nodes.add']({ name: 'b', docker: 'ssh://me@192.0.2.1', clusterInterface: 'eth1' }).catch((e: AimaError) => e);
    expect(err).toBeInstanceOf(AimaError);
    expect((err as AimaError).message).toBe('--cluster-interface eth1 needs a cluster address, and node "b" has none.');
    expect(new NodesRepo(db).list()).toEqual([]);
  });
});
