/**
 * A node's cluster link through the `aima` CLI and a real `aima serve`: `node set local` stores
 * it, `node list` (and --json) shows it, bad input is refused with the field and the fix and
 * changes nothing, an unknown node is not found, the link survives a restart of the core, `none`
 * clears it; a service across nodes on an unknown node is still refused before anything is made,
 * and right after a start `local` is known to a span (its facts are read for it).
 * (That the span uses the stored link is in span-runtime.test.ts, where the nodes have GPUs.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import type { NodeSummary } from '../../src/shared/contract/index.js';
import { runAima, startServe, tempHome, type ServeHandle } from '../support/cli.js';
import { dockerAvailable, requirePart } from '../support/system.js';

const haveDocker = dockerAvailable();

describe("a node's cluster link through the CLI", () => {
  let serve: ServeHandle | undefined;
  let home: string;
  const env = () => ({ AIMA_HOME: home });
  const aima = (args: string[]) => runAima(args, env());
  const local = async () => (JSON.parse((await aima(['node', 'list', '--json'])).stdout) as NodeSummary[]).find((n) => n.name === 'local')!;

  beforeAll(async () => {
    if (!haveDocker) return;
    home = tempHome('aima-link-');
    serve = await startServe(env(), [], 60_000);
  }, 90_000);
  afterAll(async () => {
    await serve?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  }, 60_000);

  it('node set local stores the link, node list shows it; bad input and an unknown node are refused and change nothing; it survives a restart; none clears it', async (ctx) => {
    requirePart(ctx, 'docker', haveDocker);
    expect((await local()).cluster).toBeNull();
    let res = await aima(['node', 'set', 'local', '--cluster-address', '10.0.0.9', '--cluster-interface', 'eth1']);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toBe('Node "local": cluster link 10.0.0.9 on eth1 (NCCL/Gloo).\n');
    expect((await local()).cluster).toEqual({ address: '10.0.0.9', interface: 'eth1' });
    const human = await aima(['node', 'list']);
    expect(human.stdout).toMatch(/^local\s+.*\n( {2}.*\n)* {2}cluster link: 10\.0\.0\.9 on eth1 \(NCCL\/Gloo\)$/m);

    res = await aima(['node', 'set', 'local', '--cluster-address', '10.0.0.9:6379']);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('Invalid parameters for nodes.set: clusterAddress: "10.0.0.9:6379" has a port or brackets (AIMA adds the ports Ray uses): give the address the other nodes reach this node at, alone');
    res = await aima(['node', 'set', 'local', '--cluster-interface', 'eth1 eth2']);
    expect(res.stderr).toContain('clusterInterface: not an interface name');
    res = await aima(['node', 'set', 'local', '--cluster-address', 'none', '--cluster-interface', 'eth2']);
    expect(res.stderr).toContain('--cluster-address none clears node "local"\'s cluster link, so --cluster-interface eth2 has no address to go with.');
    res = await aima(['node', 'set', 'spark-2', '--cluster-address', '10.0.0.2']);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('No node named "spark-2".');
    expect(res.stderr).toContain('aima node add');
    expect((await local()).cluster).toEqual({ address: '10.0.0.9', interface: 'eth1' });

    await serve!.stop();
    serve = await startServe(env(), [], 60_000);
    expect((await local()).cluster).toEqual({ address: '10.0.0.9', interface: 'eth1' });
    res = await aima(['node', 'set', 'local', '--cluster-interface', 'none', '--json']);
    expect((JSON.parse(res.stdout) as NodeSummary).cluster).toEqual({ address: '10.0.0.9', interface: null });
    res = await aima(['node', 'set', 'local', '--cluster-address', 'none']);
    expect(res.stdout).toBe('Node "local": cluster link none.\n');
    expect((await local()).cluster).toBeNull();
  }, 120_000);

  it('a service across nodes on an unknown node is refused before anything is made; `local` is known to a span right after a start', async (ctx) => {
    requirePart(ctx, 'docker', haveDocker);
    await aima(['node', 'set', 'local', '--cluster-address', '10.0.0.9', '--cluster-interface', 'eth1']);
    await serve!.stop();
    serve = await startServe(env(), [], 60_000);
    // Nothing has listed the nodes in this core yet: the span reads their facts itself.
    // The refusal that follows depends on this machine's GPUs (none: local's; some: spark-2's).
    let res = await aima(['service', 'create', 'big', '--engine', 'vllm', '--nodes', 'local,spark-2']);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/Node "local" has no GPU that AIMA can see|Node "spark-2" is not known/);

    res = await aima(['service', 'create', 'big', '--engine', 'vllm', '--nodes', 'spark-2,local']);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('Node "spark-2" is not known.');
    expect(res.stderr).toContain('aima node add spark-2 --docker ssh://user@host');
    expect(JSON.parse((await aima(['service', 'list', '--json'])).stdout)).toEqual([]);
  }, 120_000);
});
