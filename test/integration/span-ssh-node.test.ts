/**
 * A service across nodes whose head is an SSH node, through the core and its HTTP server (the
 * gateway): a real sshd (test/support/sshd.ts) in front of the local dockerd is node "s", `local`
 * is the worker, every member runs the Ray stand-in (busybox httpd is "the engine" in the head).
 * The engine listens on the node's 127.0.0.1 only and the service's URL is AIMA's SSH tunnel to it,
 * which the health probe and the gateway use. Then the node goes silent (sshd stopped, its sessions
 * cut) while no core runs: the next core shows the service `unreachable`, naming the node, touches
 * nothing, and adopts the same group through a new tunnel once the node answers again; the same
 * when the node goes silent while the core follows the group.
 * GPUs are stand-ins (this machine has none); node "s" counts as reachable while its sshd accepts
 * connections (the nodes registry's facts seam), and its heartbeat is the real one, over SSH.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createCore, type Core } from '../../src/core/core.js';
import type { NodeFacts } from '../../src/core/nodes/node-facts.js';
import { startHttpServer, type RunningServer } from '../../src/core/server/http-server.js';
import { tempHome } from '../support/cli.js';
import { buildRayStandInImage, busyboxStaticAvailable, docker, spanTestEngineJson } from '../support/docker-images.js';
import { get } from '../support/http-get.js';
import { waitFor } from '../support/services.js';
import { startSshd, sshdAvailable, type TestSshd } from '../support/sshd.js';
import { dockerAvailable, repoRoot, requirePart } from '../support/system.js';

const haveParts = dockerAvailable() && sshdAvailable();
const haveBusybox = busyboxStaticAvailable();
const token = 'span-ssh-test-token';


/** Whether something accepts TCP connections on 127.0.0.1:port. */
const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });

/** This machine's addresses other than loopback (where an engine listening on every interface would answer). */
const otherAddresses = () =>
  Object.values(os.networkInterfaces())
    .flat()
    .filter((a): a is os.NetworkInterfaceInfo => Boolean(a && a.family === 'IPv4' && !a.internal))
    .map((a) => a.address);

const portOf = (url: string) => Number(new URL(url).port);

function facts(name: string, reachable: boolean): NodeFacts {
  return {
    name,
    reachable,
    error: reachable ? null : `Node "${name}" does not answer: its sshd accepts no connections.`,
    arch: 'x64',
    dockerVersion: null,
    cpus: 2,
    memoryBytes: null,
    nvidiaRuntime: true,
    gpus: reachable ? [{ index: 0, name: 'stand-in', memoryTotalMiB: 1024, memoryUsedMiB: 0 }] : [],
  };
}

describe('a span whose head is an SSH node (real sshd and dockerd, Ray stand-in)', () => {
  let sshd: TestSshd | undefined;
  const home = tempHome('aima-span-ssh-');
  let core: { c: Core; server: RunningServer } | null = null;
  let serviceId = '';
  // The node's key through an ssh-agent of the test's own: each core reads the node's identity file
  // from its secret store, which on this machine may be the OS keychain for one core and a file for
  // the next; the agent is what every core finds the same.
  let agent: ChildProcess | null = null;
  const agentBefore = process.env.SSH_AUTH_SOCK;

  const open = async () => {
    const c = await createCore({
      dataDir: home,
      host: 'serve',
      token,
      serviceTiming: { stopGraceMs: 1000, backoff: () => 300 },
      nodes: { heartbeatMs: 200, readFacts: async (name) => ({ facts: facts(name, name !== 's' || (await accepts(sshd!.port))), gpuNote: null }) },
    });
    const server = await startHttpServer({ api: c.api, events: c.events, auth: { token, keys: c.keys }, host: '127.0.0.1', port: 0, routes: c.routes, upgrades: c.upgrades, apiRoutes: c.apiRoutes, uncontracted: c.uncontracted });
    c.setUrl(server.url, server.host);
    core = { c, server };
    return core;
  };
  /** A quit that keeps engines running: the next core adopts them. */
  const quit = async () => {
    const o = core!;
    core = null;
    await o.server.close();
    await o.c.close({ stopServices: false });
  };
  const members = () => docker(['ps', '-aq', '--no-trunc', '--filter', `label=aima.span=${serviceId}`]).split('\n').filter(Boolean).sort();
  const headInfo = () => members().map((id) => JSON.parse(docker(['inspect', id]))[0]).find((i) => i.Config.Labels['aima.rank'] === '0');

  beforeAll(async () => {
    if (!haveParts || !haveBusybox) return;
    buildRayStandInImage(readFileSync(path.join(repoRoot, 'test', 'fixtures', 'ray', 'status-verbose-source.txt'), 'utf8'));
    mkdirSync(path.join(home, 'engines'), { recursive: true });
    writeFileSync(path.join(home, 'engines', 'test-span.json'), JSON.stringify(spanTestEngineJson('test-span', { required: false, formats: ['safetensors'] })));
    sshd = await startSshd();
    const sock = path.join(sshd.dir, 'agent.sock');
    agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
    await waitFor(() => existsSync(sock), 'the ssh-agent socket', 10_000, 50);
    execFileSync('ssh-add', [sshd.identityFile], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: 'pipe' });
    process.env.SSH_AUTH_SOCK = sock;
  }, 120_000);
  afterAll(async () => {
    if (core) {
      await core.c.api['services.remove']({ name: 'far' }).catch(() => {});
      await core.server.close();
      await core.c.close({ stopServices: true });
    }
    if (serviceId) for (const id of members()) docker(['rm', '-f', id]);
    if (agentBefore === undefined) delete process.env.SSH_AUTH_SOCK;
    else process.env.SSH_AUTH_SOCK = agentBefore;
    agent?.kill();
    await sshd?.stop();
  }, 60_000);

  const need = (ctx: { skip: (note?: string) => void }) => {
    requirePart(ctx, 'docker', dockerAvailable());
    requirePart(ctx, 'sshd', sshdAvailable());
    if (!haveBusybox) ctx.skip('missing system part "busybox-static": apt-get install -y busybox-static');
  };

  it("the engine listens on the head node's 127.0.0.1; the service's URL is a tunnel port; health and the gateway go through it", async (ctx) => {
    need(ctx);
    const { c, server } = core ?? (await open());
    const s = sshd!;
    if (!(await c.api['nodes.list']({})).some((n) => n.name === 's')) {
      await c.api['nodes.add']({ name: 's', docker: s.url, knownHostsFile: s.knownHostsFile, clusterAddress: '127.0.0.1', clusterInterface: 'lo' });
    }
    await c.api['nodes.set']({ name: 'local', clusterAddress: '127.0.0.1', clusterInterface: 'lo' });
    // The facts `nodes.add` read (no GPU here) are read again through the seam (a stand-in GPU).
    await c.api['nodes.list']({ refresh: true });
    const created = (await c.api['services.list']({})).find((x) => x.name === 'far') ?? (await c.api['services.create']({ name: 'far', engine: 'test-span', device: 'cpu', nodes: ['s', 'local'] }));
    serviceId = created.id;
    const running = await c.api['services.start']({ name: 'far', wait: true, timeoutMs: 60_000 });
    expect(running.state).toBe('running');
    expect(running.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    // The head (on "s") runs the engine on the node's loopback; the service's URL is another port: the tunnel's.
    const head = headInfo();
    expect(head.Config.Labels['aima.node']).toBe('s');
    expect(head.Config.Labels['aima.host']).toBe('127.0.0.1');
    const enginePort = Number(head.Config.Labels['aima.port']);
    expect(portOf(running.url!)).not.toBe(enginePort);
    expect(await get(portOf(running.url!), '/health')).toEqual({ status: 200, body: '{"status":"ok"}\n' });
    for (const addr of otherAddresses()) expect(await get(enginePort, '/health', addr)).toEqual({ error: 'ECONNREFUSED' });

    // The gateway routes to the tunnel: the engine's own answer comes back (busybox httpd serves no POST), and its request log reaches the service's log.
    const res = await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'far', messages: [{ role: 'user', content: 'hi' }] }) });
    expect(res.status).toBe(501);
    await waitFor(async () => (await c.api['services.logs']({ name: 'far', lines: 200 })).lines.join('\n').includes('url:/v1/chat/completions'), 'the request in the service log', 10_000, 50);
  }, 120_000);

  it('a node silent when a core starts leaves the span `unreachable` (naming the node, nothing removed); when it answers, the same group is adopted through a new tunnel', async (ctx) => {
    need(ctx);
    const before = members();
    expect(before).toHaveLength(2);
    await quit();
    await sshd!.pause();

    const { c } = await open();
    const silent = await c.api['services.get']({ name: 'far' });
    expect(silent.state).toBe('unreachable');
    expect(silent.reason).toContain('Node "s"');
    const refused = await c.api['services.start']({ name: 'far' }).then(() => null, (e: Error) => e.message);
    expect(refused).toMatch(/^Service "far" spans nodes s, local, and one does not answer: /);
    expect(members()).toEqual(before);

    await sshd!.resume();
    const back = await waitFor(async () => {
      const s = await c.api['services.get']({ name: 'far' });
      return s.state === 'running' ? s : null;
    }, 'adopted once the node answers', 30_000, 100);
    expect(back.restarts).toBe(0);
    expect(members()).toEqual(before); // the same containers: adopted, not started anew
    expect(await get(portOf(back.url!), '/health')).toEqual({ status: 200, body: '{"status":"ok"}\n' });
    const { lines } = await c.api['services.logs']({ name: 'far', lines: 200 });
    expect(lines.join('\n')).toMatch(/aima .*: adopted the group across s \(head\), local \(worker\)/);

    const url = back.url!;
    await c.api['services.stop']({ name: 'far' });
    expect(members()).toEqual([]);
    expect(await get(portOf(url), '/health')).toEqual({ error: 'ECONNREFUSED' }); // its tunnel closed with it
  }, 120_000);

  it('a node going silent while the group runs makes the span `unreachable` (not crashed, nothing removed); when it answers, the same group is adopted again', async (ctx) => {
    need(ctx);
    const { c } = core!;
    await c.api['services.start']({ name: 'far', wait: true, timeoutMs: 60_000 });
    const before = members();
    expect(before).toHaveLength(2);

    await sshd!.pause();
    const lost = await waitFor(async () => {
      const s = await c.api['services.get']({ name: 'far' });
      return s.state === 'unreachable' ? s : null;
    }, 'unreachable once the heartbeat misses the node', 15_000, 50);
    expect(lost.reason).toContain('Node "s"');
    expect(lost.restarts).toBe(0);
    expect(members()).toEqual(before);

    await sshd!.resume();
    const back = await waitFor(async () => {
      const s = await c.api['services.get']({ name: 'far' });
      return s.state === 'running' ? s : null;
    }, 'adopted again once the node answers', 30_000, 100);
    expect(back.restarts).toBe(0);
    expect(members()).toEqual(before);
    expect(await get(portOf(back.url!), '/health')).toEqual({ status: 200, body: '{"status":"ok"}\n' });
    await c.api['services.stop']({ name: 'far' });
    expect(members()).toEqual([]);
  }, 120_000);
});
