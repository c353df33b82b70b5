/**
 * Nodes: a second real dockerd (test/support/remote-dockerd.ts: its own network namespace, a veth
 * pair, TCP with TLS made by openssl, live-restore) added to a real `aima serve` as node "b".
 * Refusals first (bad TLS files, a wrong CA, an engine that does not answer, a name in use), each
 * leaving nothing behind; then `node list`; a service on the node without the image (refused),
 * of an engine that cannot serve TLS with a key (refused), with it (started there serving TLS with
 * a certificate from the install CA and a per-service key, reached through the gateway); `node rm` refused while it has a service;
 * a silent partition (the veth down) → `unreachable` within 2 s and no restart, the veth up →
 * `running` with the same container; the node's dockerd restarted → adopted again. Last, on a
 * node whose engine has an `nvidia` runtime, the GPUs nvidia-smi reports in a container there.
 * Between them, a library model on the node: refused without --model-path-on-node, mounted from
 * that path with it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { createHttpClient, transportToApi } from '../../src/lib/client/http-client.js';
import type { CoreApi, NodeSummary, ServiceSummary } from '../../src/shared/contract/index.js';
import { runAima, startServe, tempHome, type ServeHandle } from '../support/cli.js';
import { buildTlsEngineImage, busyboxStaticAvailable, importBusyboxRootfs, TLS_ENGINE_IMAGE } from '../support/docker-images.js';
import { makeTlsFiles, remoteDockerdAvailable, startRemoteDockerd, type RemoteDockerd } from '../support/remote-dockerd.js';
import { waitFor } from '../support/services.js';
import { dockerAvailable, requirePart, sharedFixture, sharedModel } from '../support/system.js';

const haveParts = dockerAvailable() && remoteDockerdAvailable();
const haveBusybox = busyboxStaticAvailable();

/**
 * The engine on the TCP node, where engines must serve TLS and require a key: a small HTTPS server
 * (test/fixtures/engines/tls-engine.mjs) taking the flags `remoteAccess` names, guarding `/v1`
 * with the key and serving /health and a voice list naming its container.
 */
const engineJson = {
  id: 'test-remote',
  name: 'Test TLS engine on a node',
  kind: 'tts',
  runtime: 'docker',
  devices: ['cpu'],
  model: { required: false, formats: ['onnx'], kinds: ['tts'] },
  images: [{ image: TLS_ENGINE_IMAGE }],
  modelMountPath: '/models',
  containerPort: 8080,
  remoteAccess: { tlsKeyFileFlag: '--ssl-keyfile', tlsCertFileFlag: '--ssl-certfile', apiKeyFlag: '--api-key', keyGuards: '/v1' },
  health: { path: '/health', status: 200 },
  defaults: { stopGraceMs: 1000, stallTimeoutMs: 30000 },
};

/** The status of a GET over https trusting only `ca` (or the system's CAs), with `key` as bearer, or the TLS error's message. */
function httpsStatus(url: string, ca?: string, key?: string): Promise<number | string> {
  return new Promise((resolve) => {
    https
      .get(url, { ca, agent: false, headers: key ? { authorization: `Bearer ${key}` } : {} }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
      .on('error', (err) => resolve(err.message));
  });
}

describe('nodes: another machine\'s Docker engine over TCP with TLS', () => {
  let remote: RemoteDockerd | undefined;
  let serve: ServeHandle | undefined;
  let api: CoreApi;
  let client: ReturnType<typeof createHttpClient> | undefined;
  let env: Record<string, string>;
  let home: string;
  const aima = (args: string[]) => runAima(args, env);
  const remoteContainers = () => remote!.docker(['ps', '-aq', '--no-trunc', '--filter', 'label=aima.service']).split('\n').filter(Boolean);
  const connect = (s: ServeHandle) => {
    client?.close();
    client = createHttpClient({ url: s.url, token: s.token });
    api = transportToApi(client);
  };

  beforeAll(async () => {
    if (!haveParts || !haveBusybox) return;
    buildTlsEngineImage();
    remote = await startRemoteDockerd();
    home = tempHome('aima-nodes-');
    mkdirSync(path.join(home, 'engines'), { recursive: true });
    writeFileSync(path.join(home, 'engines', 'test-remote.json'), JSON.stringify(engineJson));
    const { remoteAccess: _, ...clear } = engineJson;
    writeFileSync(path.join(home, 'engines', 'test-clear.json'), JSON.stringify({ ...clear, id: 'test-clear', name: 'Test engine without TLS flags' }));
    env = { AIMA_HOME: home };
    serve = await startServe(env, [], 60_000);
    connect(serve);
  }, 180_000);
  afterAll(async () => {
    client?.close();
    await serve?.stop();
    await remote?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  }, 120_000);

  it('refuses bad TLS files, a wrong CA, an engine that does not answer and clear-text Docker; nothing is saved', async (ctx) => {
    requirePart(ctx, 'docker', haveParts);
    if (!haveBusybox) return ctx.skip('missing system part "busybox-static": apt-get install -y busybox-static');
    const r = remote!;
    const bad = mkdtempSync(path.join(home, 'bad-tls-'));
    copyFileSync(path.join(r.tls.clientDir, 'ca.pem'), path.join(bad, 'ca.pem'));
    copyFileSync(path.join(r.tls.clientDir, 'cert.pem'), path.join(bad, 'cert.pem'));
    let res = await aima(['node', 'add', 'b', '--docker', r.url, '--tls-dir', bad]);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain(`${path.join(bad, 'key.pem')} does not exist`);

    // A key that is not the certificate's.
    const other = makeTlsFiles(mkdtempSync(path.join(home, 'other-ca-')), r.nodeAddr);
    copyFileSync(path.join(other.clientDir, 'key.pem'), path.join(bad, 'key.pem'));
    res = await aima(['node', 'add', 'b', '--docker', r.url, '--tls-dir', bad]);
    expect(res.stderr).toContain(`${path.join(bad, 'key.pem')} is not the key of ${path.join(bad, 'cert.pem')}`);

    // Good files, but from a CA the engine does not know (and that did not sign the engine's certificate).
    res = await aima(['node', 'add', 'b', '--docker', r.url, '--tls-dir', other.clientDir]);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/Node "b" \(tcp:\/\/10\.231\.\d+\.2:2376\) refused the TLS connection/);
    expect(res.stderr).toContain('The node was not added');

    // Nobody listens there.
    res = await aima(['node', 'add', 'b', '--docker', `tcp://${r.nodeAddr}:2377`, '--tls-dir', r.tls.clientDir]);
    expect(res.stderr).toMatch(/Node "b" \(tcp:\/\/10\.231\.\d+\.2:2377\) cannot be reached: .*ECONNREFUSED/);

    res = await aima(['node', 'add', 'b', '--docker', `http://${r.nodeAddr}:2375`]);
    expect(res.stderr).toContain("is Docker's API in clear");
    res = await aima(['node', 'add', 'b', '--docker', r.url]);
    expect(res.stderr).toContain('A TCP node needs TLS');
    res = await aima(['node', 'add', 'b', '--docker', r.url, '--tls-dir', r.tls.clientDir, '--cluster-address', `${r.nodeAddr}:6379`]);
    expect(res.stderr).toContain(`clusterAddress: "${r.nodeAddr}:6379" has a port or brackets`);
    res = await aima(['node', 'add', 'b', '--docker', r.url, '--tls-dir', r.tls.clientDir, '--cluster-interface', 'eth1']);
    expect(res.stderr).toContain('--cluster-interface eth1 needs a cluster address, and node "b" has none.');

    const list = await api['nodes.list']({});
    expect(list.map((n) => n.name)).toEqual(['local']);
    const secrets = path.join(home, 'secrets.json');
    if (existsSync(secrets)) expect(readFileSync(secrets, 'utf8')).not.toContain('node:b');
  });

  it('adds the node: `node list` shows it reachable with its Docker version, CPUs and memory; the key stays out of SQLite; a name in use is refused', async (ctx) => {
    requirePart(ctx, 'docker', haveParts);
    if (!haveBusybox) return ctx.skip('missing system part "busybox-static": apt-get install -y busybox-static');
    const r = remote!;
    const res = await aima(['node', 'add', 'b', '--docker', r.url, '--tls-dir', r.tls.clientDir, '--cluster-address', r.nodeAddr, '--json']);
    expect(res.code, res.stderr).toBe(0);
    const added = JSON.parse(res.stdout) as NodeSummary;
    const version = r.docker(['version', '--format', '{{.Server.Version}}']).trim();
    expect(added).toMatchObject({ name: 'b', docker: r.url, transport: 'tcp-tls', reachable: true, error: null, dockerVersion: version, nvidiaRuntime: false, gpus: [], services: [] });
    expect(added.cluster).toEqual({ address: r.nodeAddr, interface: null });
    expect(added.cpus).toBeGreaterThan(0);
    expect(added.memoryBytes).toBeGreaterThan(0);

    const human = await aima(['node', 'list']);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^local\s+/m);
    expect(human.stdout).toContain(`b            ${r.url}`);
    expect(human.stdout).toContain(`Docker ${version}`);
    expect(human.stdout).toContain('NVIDIA runtime: no');
    expect(human.stdout).toContain(`cluster link: ${r.nodeAddr} (NCCL/Gloo choose the interface)`);

    // The client key is in the secret store, not in the database (nor its WAL).
    const keyBody = readFileSync(path.join(r.tls.clientDir, 'key.pem'), 'utf8').split('\n')[1]!;
    for (const f of ['aima.db', 'aima.db-wal']) if (existsSync(path.join(home, f))) expect(readFileSync(path.join(home, f), 'latin1')).not.toContain(keyBody);

    const again = await aima(['node', 'add', 'b', '--docker', r.url, '--tls-dir', r.tls.clientDir]);
    expect(again.stderr).toContain('A node named "b" already exists');
    const local = await aima(['node', 'add', 'local', '--docker', r.url, '--tls-dir', r.tls.clientDir]);
    expect(local.stderr).toContain('"local" is the name of this machine\'s own Docker engine');
    expect((await api['nodes.list']({})).map((n) => n.name)).toEqual(['local', 'b']);
  });

  it('a service on the node: refused without the image there (and for a native engine, and an engine without TLS flags); with it, it serves TLS, refuses /v1 without its key, and the gateway reaches it', async (ctx) => {
    requirePart(ctx, 'docker', haveParts);
    if (!haveBusybox) return ctx.skip('missing system part "busybox-static": apt-get install -y busybox-static');
    const r = remote!;
    // Retry-safe: an earlier attempt may have left the service, its container and the engine's
    // image on the node, and the first checks need the node without them.
    await api['services.remove']({ name: 'far' }).catch(() => {});
    for (const c of remoteContainers()) r.docker(['rm', '-f', c]);
    if (r.docker(['images', '-q', TLS_ENGINE_IMAGE]).trim()) r.docker(['rmi', '-f', TLS_ENGINE_IMAGE]);
    const missing = await aima(['service', 'create', 'far', '--engine', 'test-remote', '--node', 'b']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(new RegExp(`No image of .* is present on node "b" and no registry is reachable to pull one; tried ${TLS_ENGINE_IMAGE}`));
    const native = await aima(['service', 'create', 'far', '--engine', 'aima-tts', '--node', 'b']);
    expect(native.stderr).toContain('is a native engine: it runs as a process on this machine, not on node "b"');
    const nowhere = await aima(['service', 'create', 'far', '--engine', 'test-remote', '--node', 'nope']);
    expect(nowhere.stderr).toContain('No node named "nope"');
    // Over TCP an engine must serve TLS with a key: one without such flags would be open in clear.
    const clear = await aima(['service', 'create', 'far', '--engine', 'test-clear', '--node', 'b']);
    expect(clear.code).not.toBe(0);
    expect(clear.stderr).toContain('Test engine without TLS flags cannot serve TLS with a key, so on node "b" (reached over TCP) its port would be open to the network in clear.');
    expect(clear.stderr).toContain('aima node add NAME --docker ssh://user@host');
    expect((await api['services.list']({})).map((s) => s.name)).not.toContain('far');
    expect(remoteContainers()).toEqual([]);

    r.loadImage(TLS_ENGINE_IMAGE);
    const created = await aima(['service', 'create', 'far', '--engine', 'test-remote', '--node', 'b', '--json']);
    expect(created.code, created.stderr).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({ name: 'far', node: 'b' });
    const running = await api['services.start']({ name: 'far', wait: true, timeoutMs: 60_000 });
    expect(running.state).toBe('running');
    expect(running.url).toMatch(new RegExp(`^https://${r.nodeAddr.replace(/\./g, '\\.')}:\\d+$`));
    expect(running.pid).toBeNull();
    const [container] = remoteContainers();
    expect(container).toBeDefined();
    expect(r.docker(['inspect', '-f', '{{index .Config.Labels "aima.service"}}', container!]).trim()).toBe(running.id);

    // The engine serves TLS with a certificate from the install CA for the node's address and
    // refuses `/v1` without its key; the key is in neither the database nor the service's log.
    const args = JSON.parse(r.docker(['inspect', '-f', '{{json .Args}}', container!])) as string[];
    const key = args[args.indexOf('--api-key') + 1]!;
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(args).toContain('/run/aima-tls/cert.pem');
    const ca = readFileSync(path.join(home, 'tls', 'ca-cert.pem'), 'utf8');
    expect(await httpsStatus(`${running.url}/health`, ca)).toBe(200);
    expect(await httpsStatus(`${running.url}/health`)).toMatch(/self[- ]signed|unable to (get|verify)/);
    expect(await httpsStatus(`${running.url}/v1/audio/voices`, ca)).toBe(401);
    expect(await httpsStatus(`${running.url}/v1/audio/voices`, ca, 'not-the-key')).toBe(401);
    expect(await httpsStatus(`${running.url}/v1/audio/voices`, ca, key)).toBe(200);
    expect(readFileSync(running.logFile, 'utf8')).not.toContain(key);
    expect(readFileSync(running.logFile, 'utf8')).toContain('--api-key <key>');
    for (const f of ['aima.db', 'aima.db-wal']) if (existsSync(path.join(home, f))) expect(readFileSync(path.join(home, f), 'latin1')).not.toContain(key);
    const secrets = path.join(home, 'secrets.json');
    if (existsSync(secrets)) expect(readFileSync(secrets, 'utf8')).toContain(`service:${running.id}:engine-key`);

    const voices = await fetch(`${serve!.url}/v1/audio/voices?model=far`, { headers: { authorization: `Bearer ${serve!.token}` } });
    expect(voices.status).toBe(200);
    expect(await voices.json()).toEqual({ voices: [container!.slice(0, 12)] });

    const rm = await aima(['node', 'rm', 'b']);
    expect(rm.code).not.toBe(0);
    expect(rm.stderr).toContain('Node "b" still has a service: "far"');
    expect((await api['nodes.list']({})).find((n) => n.name === 'b')?.services).toEqual(['far']);
  }, 120_000);

  it('a model on the node: refused without --model-path-on-node (nothing created there); with it, the containers there (a replica\'s too) mount that path read-only', async (ctx) => {
    requirePart(ctx, 'docker', haveParts);
    if (!haveBusybox) return ctx.skip('missing system part "busybox-static": apt-get install -y busybox-static');
    const r = remote!;
    // The node's stand-in engine, loading a GGUF model given as `--model PATH` (which the stand-in ignores).
    const modelEngine = { ...engineJson, id: 'test-remote-model', name: 'Test engine with a model on a node', kind: 'llm', model: { required: true, formats: ['gguf'], kinds: ['llm'] }, args: ['--model', '{{model_path}}'] };
    writeFileSync(path.join(home, 'engines', 'test-remote-model.json'), JSON.stringify(modelEngine));
    const gguf = sharedModel('stories260K/stories260K.gguf');
    // Retry-safe: what an earlier attempt may have left (the service and its replica, the model).
    await api['services.remove']({ name: 'far-model' }).catch(() => {});
    await api['services.remove']({ name: 'far-model-2' }).catch(() => {});
    await api['models.remove']({ name: 'stories' }).catch(() => {});
    const before = remoteContainers();
    const imported = await aima(['model', 'import', gguf, '--name', 'stories']);
    expect(imported.code, imported.stderr).toBe(0);
    const refused = await aima(['service', 'create', 'far-model', '--engine', 'test-remote-model', '--model', 'stories', '--node', 'b']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('Node "b" cannot read this machine\'s model files (model "stories" is in this machine\'s library), and AIMA does not copy weights between machines.');
    expect(refused.stderr).toContain('Give --model-path-on-node PATH');
    const relative = await aima(['service', 'create', 'far-model', '--engine', 'test-remote-model', '--model', 'stories', '--node', 'b', '--model-path-on-node', 'models/stories.gguf']);
    expect(relative.stderr).toContain('modelPathOnNode must be an absolute path on the node');
    expect((await api['services.list']({})).map((s) => s.name)).not.toContain('far-model');
    expect(remoteContainers()).toEqual(before);

    // Node "b" shares this machine's file system: the copy stands for the model already on that machine.
    const onNode = path.join(home, 'on-node', 'stories.gguf');
    mkdirSync(path.dirname(onNode), { recursive: true });
    copyFileSync(gguf, onNode);
    // With a replica: it reads the same path on the node.
    const created = await aima(['service', 'create', 'far-model', '--engine', 'test-remote-model', '--model', 'stories', '--node', 'b', '--model-path-on-node', onNode, '--replicas', '2', '--json']);
    expect(created.code, created.stderr).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({ name: 'far-model', node: 'b', model: 'stories', modelPathOnNode: onNode });
    const started = await api['services.start']({ name: 'far-model', wait: true, timeoutMs: 60_000 });
    expect(started.state).toBe('running');
    await waitFor(async () => (await api['services.get']({ name: 'far-model-2' })).state === 'running', 'the replica running', 60_000, 100);
    const added = remoteContainers().filter((c) => !before.includes(c));
    expect(added).toHaveLength(2);
    for (const container of added) {
      const inspected = JSON.parse(r.docker(['inspect', container]))[0] as { Mounts: { Source: string; Destination: string; RW: boolean }[]; Args: string[] };
      expect(inspected.Mounts).toEqual([expect.objectContaining({ Source: onNode, Destination: '/models/stories.gguf', RW: false })]);
      expect(inspected.Args).toContain('/models/stories.gguf');
    }
    const listed = await aima(['service', 'list', '--json']);
    const byName = new Map((JSON.parse(listed.stdout) as ServiceSummary[]).map((s) => [s.name, s.modelPathOnNode]));
    expect([byName.get('far-model'), byName.get('far-model-2')]).toEqual([onNode, onNode]);
    await api['services.remove']({ name: 'far-model' });
    expect(remoteContainers()).toEqual(before);
  }, 120_000);

  it("the node's own event stream: `docker rm -f` there is seen at once as a crash, and the service restarts on the node", async (ctx) => {
    requirePart(ctx, 'docker', haveParts);
    if (!haveBusybox) return ctx.skip('missing system part "busybox-static": apt-get install -y busybox-static');
    const r = remote!;
    const [container] = remoteContainers();
    const began = Date.now();
    r.docker(['rm', '-f', container!]);
    await waitFor(async () => (await api['services.get']({ name: 'far' })).restarts > 0, 'the crash seen', 5_000, 20);
    expect(Date.now() - began).toBeLessThan(2000);
    await waitFor(async () => (await api['services.get']({ name: 'far' })).state === 'running', 'running again', 30_000, 100);
    const [again] = remoteContainers();
    expect(again).toBeDefined();
    expect(again).not.toBe(container);
  }, 60_000);

  it('a silent partition marks the service unreachable within 2 s (no restart); the link back → running with the same container', async (ctx) => {
    requirePart(ctx, 'docker', haveParts);
    if (!haveBusybox) return ctx.skip('missing system part "busybox-static": apt-get install -y busybox-static');
    const r = remote!;
    // (A retry starts once the first try's partition has healed.)
    await waitFor(async () => (await api['services.get']({ name: 'far' })).state === 'running', 'running before the partition', 20_000, 100);
    const [container] = remoteContainers();
    const before = await api['services.get']({ name: 'far' });
    const seen: ServiceSummary['state'][] = [];
    const began = Date.now();
    r.linkDown();
    let lostAfterMs = 0;
    try {
      await waitFor(
        async () => {
          const s = await api['services.get']({ name: 'far' });
          seen.push(s.state);
          return s.state === 'unreachable' ? s : null;
        },
        'unreachable',
        10_000,
        50,
      );
      lostAfterMs = Date.now() - began;
      console.log(`partition → unreachable seen after ${lostAfterMs} ms`);
      const lost = await api['services.get']({ name: 'far' });
      expect(lost.reason).toMatch(/Node "b" .* stopped answering/);
      const node = (await api['nodes.list']({})).find((n) => n.name === 'b')!;
      expect(node.reachable).toBe(false);
      // No restart storm: it stays unreachable, never crashed.
      await new Promise((res) => setTimeout(res, 1500));
      const still = await api['services.get']({ name: 'far' });
      expect(still.state).toBe('unreachable');
      expect(still.restarts).toBe(before.restarts);
    } finally {
      r.linkUp();
    }
    expect(lostAfterMs).toBeLessThanOrEqual(2000);
    expect(seen).not.toContain('crashed');
    await waitFor(async () => (await api['services.get']({ name: 'far' })).state === 'running', 'running again', 20_000, 100);
    expect(remoteContainers()).toEqual([container]);
    expect((await api['nodes.list']({})).find((n) => n.name === 'b')!.reachable).toBe(true);
  }, 60_000);

  it("restarting the node's dockerd (live-restore keeps the container) ends with the service adopted again", async (ctx) => {
    requirePart(ctx, 'docker', haveParts);
    if (!haveBusybox) return ctx.skip('missing system part "busybox-static": apt-get install -y busybox-static');
    const r = remote!;
    const [container] = remoteContainers();
    await r.restart();
    expect(remoteContainers()).toEqual([container]);
    await waitFor(async () => (await api['services.get']({ name: 'far' })).state === 'running', 'running after the restart', 30_000, 100);
    const voices = await fetch(`${serve!.url}/v1/audio/voices?model=far`, { headers: { authorization: `Bearer ${serve!.token}` } });
    expect(await voices.json()).toEqual({ voices: [container!.slice(0, 12)] });
    // The adopted container's end is seen: stop it and remove the service and the node.
    expect((await api['services.stop']({ name: 'far' })).state).toBe('stopped');
    expect(remoteContainers()).toEqual([]);
    const { id } = await api['services.get']({ name: 'far' });
    await api['services.remove']({ name: 'far' });
    // The engine's key went with the service.
    const secrets = path.join(home, 'secrets.json');
    if (existsSync(secrets)) expect(readFileSync(secrets, 'utf8')).not.toContain(`service:${id}`);
    const rm = await aima(['node', 'rm', 'b']);
    expect(rm.code, rm.stderr).toBe(0);
    expect((await api['nodes.list']({})).map((n) => n.name)).toEqual(['local']);
  }, 90_000);
});

describe("nodes: GPUs of a node with the NVIDIA runtime, from nvidia-smi in a short-lived container", () => {
  const h100 = sharedFixture('nvidia-smi/h100-80gb/query.csv');
  let remote: RemoteDockerd | undefined;
  let serve: ServeHandle | undefined;
  afterAll(async () => {
    await serve?.stop();
    await remote?.stop();
  }, 120_000);

  it('lists the GPUs nvidia-smi reports inside a container the NVIDIA runtime runs (the recorded H100 stands in for the driver)', async (ctx) => {
    requirePart(ctx, 'docker', haveParts);
    requirePart(ctx, 'shared-fixtures', existsSync(h100));
    if (!haveBusybox) return ctx.skip('missing system part "busybox-static": apt-get install -y busybox-static');
    // The `nvidia` runtime entry is runc itself, and the image's nvidia-smi replays the recording:
    // everything else — the runtime in `docker info`, the image choice, the container, its output — is real.
    await serve?.stop(); // a retry starts afresh
    await remote?.stop();
    remote = await startRemoteDockerd({ runtimes: { nvidia: { path: 'runc' } } });
    const r = remote;
    importBusyboxRootfs('aima-test/cuda-smi:1', {
      applets: ['sh', 'cat'],
      files: { 'usr/bin/nvidia-smi': '#!/bin/sh\ncat /query.csv\n', 'query.csv': readFileSync(h100, 'utf8') },
      changes: ['ENV PATH=/usr/bin:/bin'],
      cli: (a) => r.docker(a),
    });
    const env = { AIMA_HOME: tempHome('aima-nodes-gpu-') };
    serve = await startServe(env, [], 60_000);
    const res = await runAima(['node', 'add', 'gpu', '--docker', r.url, '--tls-dir', r.tls.clientDir, '--json'], env);
    expect(res.code, res.stderr).toBe(0);
    const node = JSON.parse(res.stdout) as NodeSummary;
    expect(node).toMatchObject({ nvidiaRuntime: true, gpuNote: null, gpus: [{ index: 0, name: 'NVIDIA H100 80GB HBM3', memoryTotalMiB: 81559, memoryUsedMiB: 0 }] });
    // The probe container is gone.
    expect(r.docker(['ps', '-aq']).trim()).toBe('');
    const human = await runAima(['node', 'list'], env);
    expect(human.stdout, human.stdout).toContain('GPUs: 0: NVIDIA H100 80GB HBM3 (79.65 GiB); NVIDIA runtime: yes');
  }, 120_000);
});
