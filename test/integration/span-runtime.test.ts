/**
 * The group runtime of a service spanning nodes, against the real Docker daemon. Ray cannot be
 * obtained here (no Python registry, not in Debian), so every member runs a test image built from
 * busybox with a `ray` stand-in: `ray start` blocks like `ray start --block`, `ray status -v`
 * prints output the Ray project published (test/fixtures/ray). The two nodes of the span are the
 * local daemon under two names (the lookup of per-node clients is the seam the nodes registry fills).
 * The plan is the real one (cluster/span-plan.ts); only the engine entry is a test one. A head on
 * a TCP node is the local daemon reached through a real ContainerReach for a TCP node (TLS from the
 * install CA, the per-service key), with test/fixtures/engines/tls-engine.mjs as the engine.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { EngineEntry } from '../../src/core/engines/catalog-schema.js';
import type { NodeFacts } from '../../src/core/nodes/node-facts.js';
import { readNodeFacts } from '../../src/core/nodes/facts.js';
import { SpanRuntime } from '../../src/core/cluster/span-runtime.js';
import { createDockerClient } from '../../src/core/runtimes/docker/platform.js';
import type { PlanInput } from '../../src/core/runtimes/types.js';
import { AimaError } from '../../src/shared/errors.js';
import { createCore, type Core } from '../../src/core/core.js';
import { openDatabase } from '../../src/core/store/database.js';
import { NodesRepo } from '../../src/core/store/repositories/nodes-repo.js';
import { tempHome } from '../support/cli.js';
import { busyboxStaticAvailable, buildRayStandInImage, buildTlsRayStandInImage, docker, spanTestEngineJson, tlsSpanTestEngineJson } from '../support/docker-images.js';
import { createContainerReach, engineKeySecret, type EngineTls } from '../../src/core/nodes/reach/container-reach.js';
import type { SecretStore } from '../../src/core/secrets/secret-store.js';
import { waitFor } from '../support/services.js';
import { dockerAvailable, repoRoot, requireAll, requirePart } from '../support/system.js';

const haveDocker = dockerAvailable();
const haveBusybox = busyboxStaticAvailable();
const installId = randomUUID();
const tmp = (p = 'aima-span-') => mkdtempSync(path.join(os.tmpdir(), p));
const rayStatus = readFileSync(path.join(repoRoot, 'test', 'fixtures', 'ray', 'status-verbose-source.txt'), 'utf8');

const spanEngineJson = spanTestEngineJson('test-span', { required: false, formats: ['safetensors'] });
const spanEngine = EngineEntry.parse(spanEngineJson);

function nodeFacts(name: string, gpus: number): NodeFacts {
  return { name, reachable: true, error: null, arch: 'x64', dockerVersion: null, cpus: 2, memoryBytes: null, nvidiaRuntime: true, gpus: Array.from({ length: gpus }, (_, index) => ({ index, name: 'stand-in', memoryTotalMiB: 1024, memoryUsedMiB: 0 })) };
}

/** Nodes `a` and `b`, both the local daemon: what the nodes registry hands the core. */
function twoNodes(gpusPerNode = 1) {
  const client = createDockerClient();
  return {
    facts: (n: string) => (['a', 'b'].includes(n) ? nodeFacts(n, gpusPerNode) : null),
    clusterLink: () => ({ address: '127.0.0.1', interface: 'lo' }),
    docker: () => client,
  };
}

function runtime(gpusPerNode = 1, readyTimeoutMs = 20_000): SpanRuntime {
  const nodes = twoNodes(gpusPerNode);
  return new SpanRuntime({
    dockerFor: nodes.docker,
    planContext: () => ({ nodeFacts: nodes.facts, clusterLink: nodes.clusterLink, install: { env: {} }, installId }),
    readyTimeoutMs,
    readyPollMs: 200,
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

async function planInput(): Promise<PlanInput> {
  const id = randomUUID();
  return {
    serviceId: id,
    serviceName: `span-${id.slice(0, 8)}`,
    dockerNode: 'local',
    engine: spanEngine,
    binary: 'docker',
    model: null,
    device: 'cpu',
    gpus: [],
    host: '127.0.0.1',
    port: await freePort(),
    threads: null,
    ctxSize: null,
    concurrency: 1,
    node: process.execPath,
    workersDir: '/nonexistent',
    logFile: path.join(tmp(), 'span.log'),
    pidFile: '/nonexistent/span.pid',
    electron: false,
    span: { nodes: ['a', 'b'], tensorParallel: 2, pipelineParallel: 1 },
    modelOnNodes: { kind: 'path', path: tmp('aima-span-model-') },
  };
}

/** The containers of a span service, running or not. */
const members = (serviceId: string) => docker(['ps', '-aq', '--filter', `label=aima.span=${serviceId}`]).split('\n').filter(Boolean);

beforeAll(() => {
  if (haveDocker && haveBusybox) {
    buildRayStandInImage(rayStatus);
    buildTlsRayStandInImage(rayStatus);
  }
}, 240_000);

function memorySecrets(): SecretStore {
  const values = new Map<string, string>();
  return { kind: 'file', get: (k) => values.get(k) ?? null, set: (k, v) => void values.set(k, v), delete: (k) => void values.delete(k) };
}

/** GET over HTTPS trusting only `tls.ca`, with the key as a bearer token when `withKey`: the status. */
const httpsGet = (port: number, p: string, tls: EngineTls, withKey: boolean) =>
  new Promise<number>((resolve, reject) => {
    https
      .get({ host: '127.0.0.1', port, path: p, ca: tls.ca, agent: false, headers: withKey ? { authorization: `Bearer ${tls.apiKey}` } : {} }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
      .on('error', reject);
  });

afterAll(() => {
  if (!haveDocker) return;
  for (const id of docker(['ps', '-aq', '--filter', 'label=aima.span']).split('\n').filter(Boolean)) docker(['rm', '-f', id]);
});

describe('a service across nodes as one group of containers (real daemon, Ray stand-in)', () => {
  const need = (ctx: { skip: (note?: string) => void }) => {
    requirePart(ctx, 'docker', haveDocker);
    if (!haveBusybox) {
      if (requireAll) throw new Error('busybox-static is missing: apt-get install -y busybox-static');
      ctx.skip('missing system part "busybox-static": apt-get install -y busybox-static');
    }
  };

  it('starts the head, then the worker, waits until Ray shows every node\'s GPUs, runs the engine in the head; stop removes every member', async (ctx) => {
    need(ctx);
    const rt = runtime();
    const input = await planInput();
    const plan = rt.plan(input);
    const exits: (number | null)[] = [];
    const handle = await rt.start(plan, { onExit: (code) => exits.push(code) });
    expect(rt.isAlive(handle)).toBe(true);
    await waitFor(async () => (await rt.probe(handle, plan.health)).kind === 'ready', 'the engine in the head answers /health', 10_000, 50);

    const ids = members(input.serviceId);
    expect(ids).toHaveLength(2);
    const infos = ids.map((id) => JSON.parse(docker(['inspect', id]))[0]);
    const byRank = (r: string) => infos.find((i) => i.Config.Labels['aima.rank'] === r);
    expect(byRank('0').Config.Entrypoint).toEqual(['ray', 'start', '--block', '--head', '--port=6379', '--node-ip-address=127.0.0.1', '--disable-usage-stats']);
    expect(byRank('1').Config.Entrypoint).toEqual(['ray', 'start', '--block', '--address=127.0.0.1:6379', '--node-ip-address=127.0.0.1', '--disable-usage-stats']);
    expect(byRank('1').Config.Labels['aima.node']).toBe('b');
    for (const i of infos) {
      expect(i.HostConfig.NetworkMode).toBe('host');
      expect(i.Config.Env).toEqual(expect.arrayContaining(['NCCL_SOCKET_IFNAME=lo', 'GLOO_SOCKET_IFNAME=lo']));
      expect(i.Config.Labels['aima.service']).toBeUndefined(); // the single-container runtime leaves members alone
      expect(i.Mounts).toMatchObject([{ Type: 'bind', Destination: '/models/model', RW: false }]);
    }
    const log = readFileSync(plan.logFile, 'utf8');
    expect(log).toMatch(/aima: head on node a: container .*-head from aima-test\/ray-standin:1 ray start --block --head/);
    expect(log).toContain('ray stand-in: start --block --address=127.0.0.1:6379');
    expect(log).toContain("aima: the Ray cluster shows every node's GPUs");
    expect(log).toContain(`aima: engine in the head container: httpd -f -vv -p 127.0.0.1:${plan.port}`);
    // The engine's own output (httpd -vv logs each request) reaches the log through the head's output.
    await waitFor(() => /url:\/health/.test(readFileSync(plan.logFile, 'utf8')), "the engine's request log in the service log", 10_000, 50);

    await rt.stop(handle, { graceMs: 1000 });
    expect(members(input.serviceId)).toEqual([]);
    expect(exits).toEqual([null]); // one exit for the group
    expect(rt.isAlive(handle)).toBe(false);
    expect((await rt.probe(handle, plan.health)).kind).toBe('unreachable');
  });

  it("a Hugging Face id: every member mounts its node's Hub cache volume and gets the token when one is set; the engine is given the id, no model folder is mounted", async (ctx) => {
    need(ctx);
    // The stand-in engine (busybox httpd) takes the id as its realm (-r): it only has to be given it.
    const hubEngine = EngineEntry.parse({
      ...spanTestEngineJson('test-span-hub', { required: false, formats: ['safetensors'] }),
      hub: { args: ['-r', '{{hf_model}}'], revisionArgs: ['-r', '{{hf_model}}@{{hf_revision}}'], cachePath: '/root/.cache/huggingface', tokenEnv: 'HF_TOKEN' },
    });
    const rt = runtime();
    for (const token of ['hf_span_test_token', null]) {
      const input: PlanInput = { ...(await planInput()), engine: hubEngine, modelOnNodes: { kind: 'hf', id: 'org/tiny', revision: 'v2' }, hubToken: token };
      const plan = rt.plan(input);
      const handle = await rt.start(plan, { onExit: () => {} });
      try {
        await waitFor(async () => (await rt.probe(handle, plan.health)).kind === 'ready', 'the engine in the head answers /health', 10_000, 50);
        const infos = members(input.serviceId).map((id) => JSON.parse(docker(['inspect', id]))[0]);
        expect(infos).toHaveLength(2);
        for (const i of infos) {
          expect(i.Mounts).toMatchObject([{ Type: 'volume', Name: 'aima-hf-cache', Destination: '/root/.cache/huggingface', RW: true }]);
          const env = i.Config.Env as string[];
          if (token) expect(env).toContain(`HF_TOKEN=${token}`);
          else expect(env.some((e) => e.startsWith('HF_TOKEN='))).toBe(false);
        }
        const log = readFileSync(plan.logFile, 'utf8');
        expect(log).toContain(`aima: engine in the head container: httpd -f -vv -p 127.0.0.1:${plan.port} -h /www -r org/tiny -r org/tiny@v2`);
        // The token is passed to the containers, never written to the service log.
        expect(log).not.toContain('hf_span_test_token');
      } finally {
        await rt.stop(handle, { graceMs: 1000 });
      }
      expect(members(input.serviceId)).toEqual([]);
    }
  });

  it('a member killed (`docker kill`) fails the group: the others are removed, one exit is reported, and a new start brings every member back', async (ctx) => {
    need(ctx);
    const rt = runtime();
    const input = await planInput();
    const plan = rt.plan(input);
    const exits: (number | null)[] = [];
    const handle = await rt.start(plan, { onExit: (code) => exits.push(code) });
    await waitFor(async () => (await rt.probe(handle, plan.health)).kind === 'ready', 'healthy', 10_000, 50);
    const worker = members(input.serviceId).find((id) => JSON.parse(docker(['inspect', id]))[0].Config.Labels['aima.rank'] === '1')!;

    const t0 = Date.now();
    docker(['kill', worker]);
    await waitFor(() => exits.length === 1, 'the group exit', 10_000, 10);
    const failedAfter = Date.now() - t0;
    expect(exits).toEqual([137]);
    expect(rt.isAlive(handle)).toBe(false);
    expect(members(input.serviceId)).toEqual([]);
    expect(readFileSync(plan.logFile, 'utf8')).toContain('aima: the worker on node b ended (exit 137); the group fails and its other members are removed');

    // What the supervisor's restart does: the same plan started again, every member anew.
    const again = await rt.start(rt.plan(input), { onExit: (code) => exits.push(code) });
    await waitFor(async () => (await rt.probe(again, plan.health)).kind === 'ready', 'healthy again', 10_000, 50);
    expect(members(input.serviceId)).toHaveLength(2);
    await rt.stop(again, { graceMs: 0, force: true });
    expect(members(input.serviceId)).toEqual([]);
    console.log(`span: docker kill of a worker → group failed and cleaned up after ${failedAfter} ms`);
  });

  it('a Ray cluster that never shows every node\'s GPUs times out with the reason and leaves nothing on any node', async (ctx) => {
    need(ctx);
    // Each node says it has 4 GPUs; the recorded cluster shows nodes of 2, 2 and 0.
    const rt = runtime(4, 1500);
    const input = await planInput();
    const plan = rt.plan(input);
    let exited = false;
    const err = await rt.start(plan, { onExit: () => (exited = true) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AimaError);
    expect((err as AimaError).message).toMatch(new RegExp(`^The Ray cluster of "${plan.serviceName}" was not ready after 2 s: the Ray cluster shows 4 of 8 GPUs \\(last output of \`ray status -v\`: .*\\)\\.$`));
    expect((err as AimaError).fix).toMatch(/Check that every node reaches a over the cluster link.*Every member was removed\./);
    expect(members(input.serviceId)).toEqual([]);
    expect(exited).toBe(false); // a start that failed is reported by its promise, not as an exit
  });

  it('a closing core stops following the group (no exit, members keep running); the next start replaces what it left', async (ctx) => {
    need(ctx);
    const rt = runtime();
    const input = await planInput();
    const exits: (number | null)[] = [];
    await rt.start(rt.plan(input), { onExit: (code) => exits.push(code) });
    const left = members(input.serviceId);
    rt.close();
    await new Promise((r) => setTimeout(r, 300));
    expect(exits).toEqual([]);
    expect(members(input.serviceId)).toEqual(left);

    const next = runtime();
    const handle = await next.start(next.plan(input), { onExit: () => {} });
    const now = members(input.serviceId);
    expect(now).toHaveLength(2);
    expect(now.filter((id) => left.includes(id))).toEqual([]);
    await next.stop(handle, { graceMs: 0, force: true });
    expect(members(input.serviceId)).toEqual([]);
  });

  it('refuses an unknown node before creating anything', async (ctx) => {
    need(ctx);
    const rt = runtime();
    const input = { ...(await planInput()), span: { nodes: ['a', 'elsewhere'], tensorParallel: 1, pipelineParallel: 1 } };
    expect(() => rt.plan(input)).toThrow(/Node "elsewhere" is not known/);
    expect(members(input.serviceId)).toEqual([]);
  });

  describe('a head on a TCP node (node "a" reached over TCP: TLS from the install CA and a per-service key)', () => {
    const tlsEngine = EngineEntry.parse(tlsSpanTestEngineJson('test-span-tls'));
    const dataDir = tmp('aima-span-tls-');
    const secrets = memorySecrets();
    const reach = createContainerReach({ node: 'a', transport: 'tcp-tls', address: '127.0.0.1', dataDir, secrets, tunnels: () => { throw new Error('no tunnels on a TCP node'); } });
    const tcpRuntime = () => {
      const nodes = twoNodes();
      return new SpanRuntime({
        dockerFor: nodes.docker,
        planContext: () => ({ nodeFacts: nodes.facts, clusterLink: nodes.clusterLink, transport: (n) => (n === 'a' ? 'tcp-tls' : 'local'), install: { env: {} }, installId }),
        reachFor: (n) => (n === 'a' ? reach : null),
        readyTimeoutMs: 20_000,
        readyPollMs: 200,
      });
    };

    it('puts the certificate into the head and the TLS flags and key into the engine; the probe and a client trusting only the install CA reach it with the key; a later core adopts it with the stored key', async (ctx) => {
      need(ctx);
      const rt = tcpRuntime();
      const input = { ...(await planInput()), engine: tlsEngine };
      const plan = rt.plan(input);
      expect(plan.reach).toMatchObject({ kind: 'tls', access: { tlsKeyFileFlag: '--ssl-keyfile', tlsCertFileFlag: '--ssl-certfile', apiKeyFlag: '--api-key' } });
      expect(plan.healthUrl).toBe(`https://127.0.0.1:${plan.port}/health`);
      const handle = await rt.start(plan, { onExit: () => {} });
      const key = secrets.get(engineKeySecret(input.serviceId))!;
      expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(handle.tls).toEqual({ ca: expect.stringContaining('BEGIN CERTIFICATE'), apiKey: key });
      expect([handle.host, handle.port]).toEqual(['127.0.0.1', plan.port]);
      await waitFor(async () => (await rt.probe(handle, plan.health)).kind === 'ready', 'the TLS engine answers the probe', 10_000, 50);
      expect(await httpsGet(plan.port, '/v1/audio/voices', handle.tls!, false)).toBe(401);
      expect(await httpsGet(plan.port, '/v1/audio/voices', handle.tls!, true)).toBe(200);

      const head = members(input.serviceId).map((id) => JSON.parse(docker(['inspect', id]))[0]).find((i) => i.Config.Labels['aima.rank'] === '0');
      expect(head.Config.Labels['aima.reach']).toBe('tls');
      expect(docker(['exec', head.Id, 'cat', '/run/aima-tls/cert.pem'])).toContain('BEGIN CERTIFICATE');
      const log = readFileSync(plan.logFile, 'utf8');
      expect(log).toContain(`aima: engine in the head container: node /engine.mjs --port ${plan.port} --ssl-keyfile /run/aima-tls/key.pem --ssl-certfile /run/aima-tls/cert.pem --api-key <key>`);
      expect(log).not.toContain(key);

      // A core closing and the next one adopting: the same group, reached with the stored key.
      rt.close();
      const next = tcpRuntime();
      expect(await next.init([{ id: input.serviceId, name: input.serviceName, nodes: ['a', 'b'] }])).toEqual(new Set());
      const adopted = next.adopt('', input.serviceId)!;
      expect(adopted.tls).toEqual(handle.tls);
      expect((await next.probe(adopted, plan.health)).kind).toBe('ready');
      await next.stop(adopted, { graceMs: 0, force: true });
      expect(members(input.serviceId)).toEqual([]);
    });

    it('refuses an engine without TLS and key flags on a TCP head before anything is created', async (ctx) => {
      need(ctx);
      const input = await planInput(); // the busybox httpd engine: no remoteAccess
      expect(() => tcpRuntime().plan(input)).toThrow(/cannot serve TLS with a key, so on node "a", the head of the span \(reached over TCP\)/);
      expect(members(input.serviceId)).toEqual([]);
    });
  });

  it('a head on an SSH node: the engine listens on that node\'s 127.0.0.1 and is reached through its tunnel', async (ctx) => {
    need(ctx);
    // A stand-in tunnel: what a ContainerReach of an SSH node answers (a loopback listener forwarding to the node's 127.0.0.1:PORT).
    const forwards: number[] = [];
    const servers: net.Server[] = [];
    const sshReach = {
      check: () => null,
      issue: () => {
        throw new Error('no keys on an SSH node');
      },
      open: async (_id: string, port: number) => {
        forwards.push(port);
        const srv = net
          .createServer((c) => {
            // Before the engine listens, the forward is refused: the client's connection ends, as ssh -L does.
            const up = net.connect(port, '127.0.0.1').on('error', () => c.destroy());
            c.on('error', () => up.destroy());
            c.pipe(up).pipe(c);
          })
          .listen(0, '127.0.0.1');
        await new Promise((r) => srv.once('listening', r));
        servers.push(srv);
        return { host: '127.0.0.1', port: (srv.address() as net.AddressInfo).port, tls: null, close: () => new Promise<void>((r) => srv.close(() => r())) };
      },
      forget: () => {},
      close: async () => {},
    };
    const nodes = twoNodes();
    const rt = new SpanRuntime({
      dockerFor: nodes.docker,
      planContext: () => ({ nodeFacts: nodes.facts, clusterLink: nodes.clusterLink, transport: (n) => (n === 'a' ? 'ssh' : 'local'), install: { env: {} }, installId }),
      reachFor: (n) => (n === 'a' ? sshReach : null),
      readyTimeoutMs: 20_000,
      readyPollMs: 200,
    });
    const input = await planInput();
    const plan = rt.plan(input);
    expect(plan.reach).toEqual({ kind: 'ssh-tunnel' });
    const handle = await rt.start(plan, { onExit: () => {} });
    expect(forwards).toEqual([plan.port]);
    expect(handle.host).toBe('127.0.0.1');
    expect(handle.port).not.toBe(plan.port);
    await waitFor(async () => (await rt.probe(handle, plan.health)).kind === 'ready', 'the engine answers through the tunnel', 10_000, 50);
    await rt.stop(handle, { graceMs: 0, force: true });
    expect(servers.every((srv) => !srv.listening)).toBe(true); // the group's end closes its tunnel
  });
});

describe('a service across nodes through the core (supervisor, restart with backoff)', () => {
  const cores: Core[] = [];
  afterEach(async () => {
    for (const c of cores.splice(0)) await c.close({ stopServices: true }).catch(() => {});
  });

  it('create → start → running; a member killed → crashed, and the backoff restart brings the whole group back; stop removes every member', async (ctx) => {
    requirePart(ctx, 'docker', haveDocker);
    if (!haveBusybox) ctx.skip('missing system part "busybox-static": apt-get install -y busybox-static');
    const home = tempHome('aima-span-core-');
    mkdirSync(path.join(home, 'engines'), { recursive: true });
    writeFileSync(path.join(home, 'engines', 'test-span.json'), JSON.stringify(spanEngineJson));
    const c = await createCore({ dataDir: home, host: 'serve', serviceTiming: { stopGraceMs: 1000, backoff: () => 300 }, spanNodes: twoNodes() });
    cores.push(c);

    const created = await c.api['services.create']({ name: 'big', engine: 'test-span', device: 'cpu', nodes: ['a', 'b'] });
    // The tensor-parallel size defaults to the nodes' GPUs over the pipeline stages.
    expect(created.span).toEqual({ nodes: ['a', 'b'], tensorParallel: 2, pipelineParallel: 1 });
    await c.api['services.start']({ name: 'big', wait: true, timeoutMs: 30_000 });
    const first = members(created.id);
    expect(first).toHaveLength(2);

    const worker = first.find((id) => JSON.parse(docker(['inspect', id]))[0].Config.Labels['aima.rank'] === '1')!;
    docker(['kill', worker]);
    await waitFor(async () => (await c.api['services.get']({ name: 'big' })).restarts === 1, 'the crash counted', 10_000, 20);
    const back = await waitFor(async () => {
      const s = await c.api['services.get']({ name: 'big' });
      return s.state === 'running' ? s : null;
    }, 'running again after the backoff', 30_000, 50);
    expect(back.restarts).toBe(1);
    const second = members(created.id);
    expect(second).toHaveLength(2);
    for (const id of second) expect(first.some((f) => id.startsWith(f) || f.startsWith(id))).toBe(false); // every member is new

    await c.api['services.stop']({ name: 'big' });
    expect(members(created.id)).toEqual([]);
    expect((await c.api['services.get']({ name: 'big' })).state).toBe('stopped');
  }, 90_000);

  it("takes each node's cluster link from the nodes registry: refused while a node has none, and the members use what `nodes.set` stored", async (ctx) => {
    requirePart(ctx, 'docker', haveDocker);
    if (!haveBusybox) ctx.skip('missing system part "busybox-static": apt-get install -y busybox-static');
    const home = tempHome('aima-span-core-');
    mkdirSync(path.join(home, 'engines'), { recursive: true });
    writeFileSync(path.join(home, 'engines', 'test-span.json'), JSON.stringify(spanEngineJson));
    // Node "b" as the registry keeps it (its engine is never asked: the seam gives its facts and the local daemon as its client).
    const db = openDatabase(path.join(home, 'aima.db'));
    new NodesRepo(db).insert({ name: 'b', dockerUrl: 'ssh://me@127.0.0.1:1', transport: 'ssh', tlsCa: null, tlsCert: null, sshKnownHosts: null });
    db.close();
    const client = createDockerClient();
    const c = await createCore({
      dataDir: home,
      host: 'serve',
      serviceTiming: { stopGraceMs: 1000 },
      nodes: { heartbeatMs: 3_600_000 },
      spanNodes: { facts: (n) => (['local', 'b'].includes(n) ? nodeFacts(n, 1) : null), docker: () => client },
    });
    cores.push(c);
    const create = () => c.api['services.create']({ name: 'linked', engine: 'test-span', device: 'cpu', nodes: ['local', 'b'] });
    const refused = () => create().then(() => null, (e: AimaError) => `${e.message} | ${e.fix}`);

    expect(await refused()).toBe(
      'Node "local" has no cluster address: Ray, NCCL and Gloo need the address the other nodes reach it at. | Set it with `aima node set local --cluster-address IP --cluster-interface IF` (the interface of the link between the nodes).',
    );
    await c.api['nodes.set']({ name: 'local', clusterAddress: '127.0.0.1', clusterInterface: 'lo' });
    expect(await refused()).toMatch(/^Node "b" has no cluster address/);
    await c.api['nodes.set']({ name: 'b', clusterAddress: '127.0.0.2', clusterInterface: 'lo' });
    expect(await c.api['services.list']({})).toEqual([]);

    const created = await create();
    await c.api['services.start']({ name: 'linked', wait: true, timeoutMs: 30_000 });
    const infos = members(created.id).map((id) => JSON.parse(docker(['inspect', id]))[0]);
    const byRank = (r: string) => infos.find((i) => i.Config.Labels['aima.rank'] === r);
    expect(byRank('0').Config.Entrypoint).toEqual(['ray', 'start', '--block', '--head', '--port=6379', '--node-ip-address=127.0.0.1', '--disable-usage-stats']);
    expect(byRank('1').Config.Entrypoint).toEqual(['ray', 'start', '--block', '--address=127.0.0.1:6379', '--node-ip-address=127.0.0.2', '--disable-usage-stats']);
    expect(byRank('1').Config.Env).toEqual(expect.arrayContaining(['VLLM_HOST_IP=127.0.0.2', 'NCCL_SOCKET_IFNAME=lo', 'GLOO_SOCKET_IFNAME=lo']));
    await c.api['services.stop']({ name: 'linked' });
    expect(members(created.id)).toEqual([]);
  }, 90_000);

  /**
   * A span of `local` and `b` (both the local daemon) with the facts and cluster links the nodes
   * registry holds: `local`'s facts are read from the real daemon, with a stand-in GPU added (this
   * machine has none); `b`'s engine is never asked. `reads` lists every facts read, `readMs` how long `local`'s took.
   */
  function registrySpan(home: string) {
    mkdirSync(path.join(home, 'engines'), { recursive: true });
    writeFileSync(path.join(home, 'engines', 'test-span.json'), JSON.stringify(spanEngineJson));
    const db = openDatabase(path.join(home, 'aima.db'));
    const repo = new NodesRepo(db);
    repo.insert({ name: 'b', dockerUrl: 'ssh://me@127.0.0.1:1', transport: 'ssh', tlsCa: null, tlsCert: null, sshKnownHosts: null });
    repo.setLink('local', { address: '127.0.0.1', interface: 'lo' });
    repo.setLink('b', { address: '127.0.0.1', interface: 'lo' });
    db.close();
    const client = createDockerClient();
    const reads: string[] = [];
    const readMs: number[] = [];
    const open = () =>
      createCore({
        dataDir: home,
        host: 'serve',
        serviceTiming: { stopGraceMs: 1000, backoff: () => 300 },
        nodes: {
          heartbeatMs: 3_600_000,
          readFacts: async (name) => {
            reads.push(name);
            if (name !== 'local') return { facts: nodeFacts(name, 1), gpuNote: null };
            const t0 = Date.now();
            const real = await readNodeFacts(name, client, (p) => p.error);
            readMs.push(Date.now() - t0);
            return { ...real, facts: { ...real.facts, gpus: nodeFacts(name, 1).gpus } };
          },
        },
        spanNodes: { docker: () => client },
      }).then((c) => {
        cores.push(c);
        return c;
      });
    return { open, reads, readMs };
  }
  /** Closes a core as a quit that keeps engines running does; the next core adopts them. */
  const quit = async (c: Core) => {
    cores.splice(cores.indexOf(c), 1);
    await c.close({ stopServices: false });
  };
  const running = async (c: Core, name: string) => {
    let last = '';
    return waitFor(async () => {
      const s = await c.api['services.get']({ name });
      last = `${s.state}: ${s.reason ?? ''}`;
      return s.state === 'running' ? s : null;
    }, `${name} running`, 30_000, 50).catch((err: Error) => {
      throw new Error(`${err.message} (last: ${last})`);
    });
  };
  const sorted = (ids: string[]) => [...ids].sort();

  it('a group still running when the core closes is adopted by the next core (same members, no second group); a member killed then fails it and the backoff restart brings it back', async (ctx) => {
    requirePart(ctx, 'docker', haveDocker);
    if (!haveBusybox) ctx.skip('missing system part "busybox-static": apt-get install -y busybox-static');
    const home = tempHome('aima-span-core-');
    const { open, readMs } = registrySpan(home);
    const c1 = await open();
    const created = await c1.api['services.create']({ name: 'kept', engine: 'test-span', device: 'cpu', nodes: ['local', 'b'] });
    await c1.api['services.start']({ name: 'kept', wait: true, timeoutMs: 30_000 });
    const first = members(created.id);
    expect(first).toHaveLength(2);
    const port = (await c1.api['services.get']({ name: 'kept' })).port;
    await quit(c1);
    expect(sorted(members(created.id))).toEqual(sorted(first));

    const t0 = Date.now();
    const c2 = await open();
    const startedIn = Date.now() - t0;
    const adopted = await running(c2, 'kept');
    expect(adopted.restarts).toBe(0);
    expect(adopted.port).toBe(port);
    expect(sorted(members(created.id))).toEqual(sorted(first)); // the same containers, and no second group
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
    // The engine's output after the adoption still reaches the service's log (httpd -vv logs each request).
    const probe = `/after-adoption-${Date.now()}`;
    expect((await fetch(`http://127.0.0.1:${port}${probe}`)).status).toBe(404);
    const logAfter = async () => (await c2.api['services.logs']({ name: 'kept', lines: 500 })).lines.join('\n');
    await waitFor(async () => (await logAfter()).includes(`url:${probe}`), "the engine's request log after the adoption", 10_000, 50);
    const text = await logAfter();
    expect(text).toMatch(/aima .*: adopted the group across local \(head\), b \(worker\)/);
    expect(text.indexOf(`url:${probe}`)).toBeGreaterThan(text.search(/adopted the group across/));

    // The adopted group is followed as a started one: a member's end fails it, the restart policy restarts it.
    const worker = first.find((id) => JSON.parse(docker(['inspect', id]))[0].Config.Labels['aima.rank'] === '1')!;
    docker(['kill', worker]);
    await waitFor(async () => (await c2.api['services.get']({ name: 'kept' })).restarts === 1, 'the crash counted', 10_000, 20);
    await running(c2, 'kept');
    const second = members(created.id);
    expect(second).toHaveLength(2);
    expect(second.filter((id) => first.includes(id))).toEqual([]);
    await c2.api['services.stop']({ name: 'kept' });
    expect(members(created.id)).toEqual([]);
    console.log(`span: a core start that adopts a group took ${startedIn} ms; reads of local's facts took ${readMs.join(', ')} ms`);
  }, 120_000);

  it('the engine in an adopted head ending fails the group; a group with a member gone while no core watched is removed and started anew; a start right after a core start is not refused for facts not read yet', async (ctx) => {
    requirePart(ctx, 'docker', haveDocker);
    if (!haveBusybox) ctx.skip('missing system part "busybox-static": apt-get install -y busybox-static');
    const home = tempHome('aima-span-core-');
    const { open, reads } = registrySpan(home);
    const c1 = await open();
    const created = await c1.api['services.create']({ name: 'gone', engine: 'test-span', device: 'cpu', nodes: ['local', 'b'] });
    await c1.api['services.start']({ name: 'gone', wait: true, timeoutMs: 30_000 });
    const first = members(created.id);
    await quit(c1);

    // The engine (httpd, run in the head container) ends under the next core: the group fails and restarts.
    const c2 = await open();
    await running(c2, 'gone');
    const head = first.find((id) => JSON.parse(docker(['inspect', id]))[0].Config.Labels['aima.rank'] === '0')!;
    docker(['exec', head, 'busybox', 'killall', 'httpd']);
    await waitFor(async () => (await c2.api['services.get']({ name: 'gone' })).restarts === 1, 'the engine\'s end counted as a crash', 10_000, 20);
    await running(c2, 'gone');
    const second = members(created.id);
    expect(second.filter((id) => first.includes(id))).toEqual([]);
    await quit(c2);

    // A member removed while no core runs: the next core removes the rest and starts the group anew.
    const worker = second.find((id) => JSON.parse(docker(['inspect', id]))[0].Config.Labels['aima.rank'] === '1')!;
    docker(['rm', '-f', worker]);
    reads.length = 0;
    const c3 = await open();
    await running(c3, 'gone');
    const third = members(created.id);
    expect(third).toHaveLength(2);
    expect(third.filter((id) => second.includes(id))).toEqual([]);
    expect(reads).toEqual(expect.arrayContaining(['local', 'b'])); // the restore read the facts its plan checks
    const { lines } = await c3.api['services.logs']({ name: 'gone', lines: 200 });
    expect(lines.join('\n')).toContain('the group of gone failed: its member on b ended or went while no AIMA core watched; what was left of it was removed');
    await c3.api['services.stop']({ name: 'gone' });
    await quit(c3);

    // Stopped, then a new core: the user's start is the first thing asked of the nodes.
    reads.length = 0;
    const c4 = await open();
    expect(reads).toEqual([]);
    await c4.api['services.start']({ name: 'gone', wait: true, timeoutMs: 30_000 });
    expect(members(created.id)).toHaveLength(2);
    await c4.api['services.stop']({ name: 'gone' });
    expect(members(created.id)).toEqual([]);
  }, 180_000);

  it('refuses an unknown node, parallel sizes without --nodes, and a span with replicas; nothing is stored', async () => {
    const home = tempHome('aima-span-core-');
    mkdirSync(path.join(home, 'engines'), { recursive: true });
    writeFileSync(path.join(home, 'engines', 'test-span.json'), JSON.stringify(spanEngineJson));
    const c = await createCore({ dataDir: home, host: 'serve', spanNodes: twoNodes() });
    cores.push(c);
    const refused = (p: Parameters<Core['api']['services.create']>[0]) => c.api['services.create'](p).then(() => null, (e: AimaError) => `${e.message} | ${e.fix}`);
    expect(await refused({ name: 'x', engine: 'test-span', device: 'cpu', nodes: ['a', 'gone'] })).toMatch(/^Node "gone" is not known\. \| See `aima node list`/);
    expect(await refused({ name: 'x', engine: 'test-span', device: 'cpu', nodes: ['a', 'b'], tensorParallel: 3 })).toMatch(/^--tensor-parallel 3 × --pipeline-parallel 1 = 3 GPUs, but the nodes have 2/);
    expect(await refused({ name: 'x', engine: 'test-span', device: 'cpu', tensorParallel: 2 })).toMatch(/^--tensor-parallel and --pipeline-parallel apply to a model served across nodes\. \| Add --nodes/);
    expect(await refused({ name: 'x', engine: 'test-span', device: 'cpu', nodes: ['a', 'b'], replicas: 2 })).toMatch(/has no replicas/);
    expect(await c.api['services.list']({})).toEqual([]);
  });
});
