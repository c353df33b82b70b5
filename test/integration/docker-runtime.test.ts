/**
 * The Docker runtime against the real daemon, with images built here from Debian's static busybox
 * (`docker import`, no registry needed): create → start → healthy → logs → stop → rm; an outside
 * `docker rm -f` seen within 1 s; adoption by label. Then the same through a real `aima serve`:
 * restart after `docker rm -f`, adoption after the core is SIGKILLed mid-start, refusals that leave
 * nothing behind. Last, pulling with progress from a local registry (Debian's docker-registry).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { EngineEntry, type DockerEngineEntry } from '../../src/core/engines/catalog-schema.js';
import { createDockerClient } from '../../src/core/runtimes/docker/platform.js';
import { DockerRuntime } from '../../src/core/runtimes/docker/docker-runtime.js';
import { resolveImage, type PullProgress } from '../../src/core/runtimes/docker/images.js';
import type { DockerPlan, PlanInput } from '../../src/core/runtimes/types.js';
import { createHttpClient, transportToApi } from '../../src/lib/client/http-client.js';
import type { CoreApi, ServiceSummary } from '../../src/shared/contract/index.js';
import { runAima, startServe, tempHome, type ServeHandle } from '../support/cli.js';
import { aimaContainers, buildHttpdImage, busyboxStaticAvailable, docker, HTTPD_IMAGE, imageExists } from '../support/docker-images.js';
import { waitFor } from '../support/services.js';
import { dockerAvailable, requireAll, requirePart } from '../support/system.js';

const haveDocker = dockerAvailable();
const haveBusybox = busyboxStaticAvailable();
const facts = { arch: process.arch, gpuVendor: null, computeCapability: null, env: {} };
// The runtimes of one test run are one install (so a second runtime adopts the first one's containers).
const installId = randomUUID();
const tmp = (p = 'aima-docker-') => mkdtempSync(path.join(os.tmpdir(), p));

/** The httpd test engine: prints a line, waits `delayS`, then serves /www (GET /health → 200). */
function engineJson(images: string[], delayS = 0): Record<string, unknown> {
  return {
    id: 'test-httpd',
    name: 'Test httpd (busybox)',
    kind: 'llm',
    runtime: 'docker',
    devices: ['cpu', 'gpu'],
    model: { required: false, formats: ['gguf'], kinds: ['llm'] },
    images: images.map((image) => ({ image })),
    modelMountPath: '/models',
    containerPort: 8080,
    entrypoint: ['/bin/sh', '-c', `echo "httpd starting for $0"; ls /models; sleep ${delayS}; echo "serving"; exec httpd -f -vv -p 8080 -h /www`, '{{model_name}}'],
    health: { path: '/health', status: 200 },
    resources: { memory: '64m', cpus: 0.5 },
    defaults: { stopGraceMs: 1000, stallTimeoutMs: 30000 },
  };
}
const engine = (images: string[], delayS = 0) => EngineEntry.parse(engineJson(images, delayS)) as DockerEngineEntry;

function planInput(over: Partial<PlanInput> & { engine: PlanInput['engine'] }): PlanInput {
  const id = `svc-${Math.random().toString(36).slice(2, 10)}`;
  return {
    serviceId: id,
    serviceName: id,
    binary: 'docker',
    model: null,
    device: 'cpu',
    gpus: [],
    host: '127.0.0.1',
    port: 0,
    threads: null,
    ctxSize: null,
    concurrency: 1,
    node: process.execPath,
    dockerNode: 'local',
    workersDir: '/nonexistent',
    logFile: path.join(tmp(), `${id}.log`),
    pidFile: `/nonexistent/${id}.pid`,
    electron: false,
    ...over,
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

beforeAll(() => {
  if (haveDocker && haveBusybox) buildHttpdImage();
}, 120_000);

afterAll(() => {
  if (!haveDocker) return;
  // Nothing of ours may outlive the tests.
  for (const id of aimaContainers()) docker(['rm', '-f', id]);
});

describe('Docker runtime (real daemon)', () => {
  const need = (ctx: { skip: (note?: string) => void }) => {
    requirePart(ctx, 'docker', haveDocker);
    if (!haveBusybox) {
      if (requireAll) throw new Error('busybox-static is missing: apt-get install -y busybox-static');
      ctx.skip('missing system part "busybox-static": apt-get install -y busybox-static');
    }
  };

  it('creates with labels, read-only model, 127.0.0.1 port and limits; starts, gets healthy, logs, stops and removes', async (ctx) => {
    need(ctx);
    const runtime = new DockerRuntime({ docker: createDockerClient(), facts, installId });
    const modelDir = tmp('aima-model-');
    const modelFile = path.join(modelDir, 'tiny.gguf');
    writeFileSync(modelFile, 'GGUF');
    const plan = runtime.plan(planInput({ engine: engine([HTTPD_IMAGE]), model: { name: 'tiny', path: modelFile }, port: await freePort() }));
    const exits: { code: number | null; signal: string | null }[] = [];
    const t0 = Date.now();
    const handle = await runtime.start(plan, { onExit: (code, signal) => exits.push({ code, signal }) });
    expect(handle.containerId).toBeTruthy();
    expect(runtime.isAlive(handle)).toBe(true);
    await waitFor(async () => (await runtime.probe(handle, plan.health)).kind === 'ready', 'healthy', 30_000, 50);
    const readyMs = Date.now() - t0;

    const info = JSON.parse(docker(['inspect', handle.containerId!]))[0];
    expect(info.Config.Labels['aima.service']).toBe(plan.serviceId);
    expect(info.HostConfig.PortBindings['8080/tcp']).toEqual([{ HostIp: '127.0.0.1', HostPort: String(plan.port) }]);
    expect(info.Mounts).toMatchObject([{ Type: 'bind', Source: modelFile, Destination: '/models/tiny.gguf', RW: false }]);
    expect(info.HostConfig.Memory).toBe(64 * 1024 * 1024);
    expect(info.HostConfig.NanoCpus).toBe(5e8);
    // The port is published on loopback only.
    expect(docker(['port', handle.containerId!]).trim()).toBe(`8080/tcp -> 127.0.0.1:${plan.port}`);

    await waitFor(() => existsSync(plan.logFile) && readFileSync(plan.logFile, 'utf8').includes('serving'), 'log lines', 5000);
    const log = readFileSync(plan.logFile, 'utf8');
    expect(log).toMatch(new RegExp(`^--- aima .*starting .* from ${HTTPD_IMAGE.replace(/[/.]/g, '\\$&')}`, 'm'));
    expect(log).toContain(`httpd starting for tiny`);
    expect(log).toContain('tiny.gguf'); // `ls /models` inside: the model is there
    expect(await runtime.logs(plan.logFile, 2)).toHaveLength(2);

    const stopped = await runtime.stop(handle, { graceMs: 1000 });
    // busybox httpd as PID 1 ignores SIGTERM: the grace period ends in SIGKILL.
    expect(stopped.escalated).toBe(true);
    await waitFor(() => exits.length === 1, 'the exit hook', 3000);
    expect(runtime.isAlive(handle)).toBe(false);
    expect(aimaContainers(plan.serviceId)).toEqual([]);
    runtime.close();
    console.log(`docker runtime: healthy ${readyMs} ms after start()`);
  });

  it('sees `docker rm -f` from outside within 1 s, and adopts running containers by label', async (ctx) => {
    need(ctx);
    const runtime = new DockerRuntime({ docker: createDockerClient(), facts, installId });
    const plan = runtime.plan(planInput({ engine: engine([HTTPD_IMAGE]), port: await freePort() }));
    let exitAt = 0;
    let exit: { code: number | null; signal: string | null } | null = null;
    const handle = await runtime.start(plan, { onExit: (code, signal) => ((exitAt = Date.now()), (exit = { code, signal })) });
    await waitFor(async () => (await runtime.probe(handle, plan.health)).kind === 'ready', 'healthy', 30_000, 50);

    // A second runtime (a new core) finds the container by its label and adopts it.
    const next = new DockerRuntime({ docker: createDockerClient(), facts, installId });
    await next.init();
    const adopted = next.adopt(`/anywhere/${plan.serviceId}.pid`);
    expect(adopted).toMatchObject({ containerId: handle.containerId, ownChild: false, host: '127.0.0.1', port: plan.port, logFile: plan.logFile });
    expect(next.adopt(`/anywhere/${plan.serviceId}.pid`)).toBeNull(); // once only
    let adoptedExit = 0;
    next.watch(adopted!, () => (adoptedExit = Date.now()));

    // The API call `docker rm -f` makes (the CLI's own start-up would blur the measurement).
    const t0 = Date.now();
    await createDockerClient().getContainer(handle.containerId!).remove({ force: true });
    await waitFor(() => exit !== null && adoptedExit > 0, 'exit events', 3000, 5);
    expect(exitAt - t0).toBeLessThan(1000);
    expect(adoptedExit - t0).toBeLessThan(1000);
    expect(exit!.code).toBe(137);
    expect(runtime.isAlive(handle)).toBe(false);
    expect(next.isAlive(adopted!)).toBe(false);
    console.log(`docker rm -f → exit hook after ${exitAt - t0} ms (adopted: ${adoptedExit - t0} ms)`);
    runtime.close();
    next.close();
  });

  it('names every image tried when none is present and no registry answers', async (ctx) => {
    need(ctx);
    const dead = `127.0.0.1:${await freePort()}`;
    const images = [`${dead}/aima-test/absent:1`, `${dead}/aima-test/absent:2`];
    const err = await resolveImage(createDockerClient(), 'test-httpd', images, [{ image: 'cuda-only:1', why: 'for device gpu' }]).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain(`none of ${images.join(', ')} is present locally`);
    expect((err as Error).message).toContain('cuda-only:1 (for device gpu)');
  });
});

describe('Docker services through `aima serve`', () => {
  let serve: ServeHandle | undefined;
  let api: CoreApi;
  let client: ReturnType<typeof createHttpClient> | undefined;
  let env: Record<string, string>;

  const connect = (s: ServeHandle) => {
    client?.close();
    client = createHttpClient({ url: s.url, token: s.token });
    api = transportToApi(client);
  };

  beforeAll(async () => {
    if (!haveDocker || !haveBusybox) return;
    const home = tempHome('aima-docker-serve-');
    mkdirSync(path.join(home, 'engines'), { recursive: true });
    writeFileSync(path.join(home, 'engines', 'test-httpd.json'), JSON.stringify(engineJson([HTTPD_IMAGE], 2)));
    const absent = engineJson([`127.0.0.1:${await freePort()}/aima-test/absent:1`]);
    writeFileSync(path.join(home, 'engines', 'test-absent.json'), JSON.stringify({ ...absent, id: 'test-absent' }));
    env = { AIMA_HOME: home };
    serve = await startServe(env, [], 60_000);
    connect(serve);
  });
  afterAll(async () => {
    if (serve && api) await api['services.remove']({ name: 'web' }).catch(() => {});
    client?.close();
    await serve?.stop();
  });

  it('start --wait → running; `docker rm -f` → crashed within 1 s and back (restart on-failure); SIGKILLed core → the next one adopts the container', async (ctx) => {
    requirePart(ctx, 'docker', haveDocker);
    if (!haveBusybox) return ctx.skip('missing system part "busybox-static": apt-get install -y busybox-static');
    // A retry finds the service its failed try created: remove it (and its container) first.
    await api['services.remove']({ name: 'web' }).catch(() => {});
    const created = await api['services.create']({ name: 'web', engine: 'test-httpd', restartPolicy: 'on-failure' });
    const started = await api['services.start']({ name: 'web', wait: true, timeoutMs: 30_000 });
    expect(started.state).toBe('running');
    const first = aimaContainers(created.id);
    expect(first).toHaveLength(1);
    const logs = await api['services.logs']({ name: 'web', lines: 50 });
    expect(logs.lines.join('\n')).toContain('httpd starting for web');
    expect(await (await fetch(`${started.url}/health`)).text()).toContain('ok');

    // Removed from outside: the state changes within 1 s, then the policy brings it back.
    const seen: { at: number; state: string }[] = [];
    const off = client!.on('services.changed', (all: ServiceSummary[]) => {
      const s = all.find((x) => x.name === 'web');
      if (s) seen.push({ at: Date.now(), state: s.state });
    });
    const t0 = Date.now();
    await createDockerClient().getContainer(first[0]!).remove({ force: true }); // what `docker rm -f` calls

    const left = await waitFor(() => seen.find((s) => s.state !== 'running'), 'a state change', 3000, 5);
    expect(left.at - t0).toBeLessThan(1000);
    await waitFor(async () => (await api['services.get']({ name: 'web' })).state === 'running', 'running again', 20_000, 100);
    off();
    const second = aimaContainers(created.id);
    expect(second).toHaveLength(1);
    expect(second[0]).not.toBe(first[0]);
    const states = seen.map((s) => s.state);
    expect(states).toContain('backoff');
    console.log(`docker rm -f → ${left.state} after ${left.at - t0} ms; states: ${[...new Set(states)].join(' → ')}`);

    // Restart it, and kill the core with SIGKILL while the engine is still loading (it sleeps 2 s).
    await api['services.stop']({ name: 'web' });
    expect(aimaContainers(created.id)).toEqual([]);
    await api['services.start']({ name: 'web' });
    await waitFor(async () => (await api['services.get']({ name: 'web' })).state === 'loading', 'loading', 10_000, 20);
    const container = aimaContainers(created.id);
    expect(container).toHaveLength(1);
    client!.close();
    client = undefined;
    await serve!.kill();
    expect(docker(['inspect', '-f', '{{.State.Running}}', container[0]!]).trim()).toBe('true');

    serve = await startServe(env, [], 60_000); // a loaded machine can be slow to start a core
    connect(serve);
    const adopted = await api['services.get']({ name: 'web' });
    expect(['loading', 'running']).toContain(adopted.state);
    if (adopted.state === 'loading') expect(adopted.reason ?? '').toMatch(/Adopted/);
    await waitFor(async () => (await api['services.get']({ name: 'web' })).state === 'running', 'adopted → running', 20_000, 100);
    expect(aimaContainers(created.id)).toEqual(container); // the same container, not a new one
    // The adopted container's end is still seen: stop it through the new core.
    const stopped = await api['services.stop']({ name: 'web' });
    expect(stopped.state).toBe('stopped');
    expect(aimaContainers(created.id)).toEqual([]);
  });

  it('runs a custom image named at creation (its own engine entry, removed with the service)', async (ctx) => {
    requirePart(ctx, 'docker', haveDocker);
    if (!haveBusybox) return ctx.skip('missing system part "busybox-static": apt-get install -y busybox-static');
    // Created with the CLI's --image; its limits come from the engineResources setting.
    const created = await runAima(['service', 'create', 'mine', '--engine', 'custom-image', '--image', HTTPD_IMAGE, '--json'], env);
    expect(created.code, created.stderr).toBe(0);
    const s = JSON.parse(created.stdout) as ServiceSummary;
    expect(s.engine).toBe('custom-mine');
    const set = await runAima(['settings', 'set', 'engineResources', JSON.stringify({ 'custom-mine': { memory: '48m', cpus: 0.25 } })], env);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain('"custom-mine":{"memory":"48m","cpus":0.25}');
    const entryFile = path.join(env.AIMA_HOME!, 'engines', 'custom-mine.json');
    expect(JSON.parse(readFileSync(entryFile, 'utf8')).images).toEqual([{ image: HTTPD_IMAGE, requires: {} }]);
    const running = await api['services.start']({ name: 'mine', wait: true, timeoutMs: 30_000 });
    expect(running.state).toBe('running');
    expect(aimaContainers(s.id)).toHaveLength(1);
    const limits = JSON.parse(docker(['inspect', '-f', '{{json .HostConfig}}', aimaContainers(s.id)[0]!])) as { Memory: number; NanoCpus: number };
    expect(limits.Memory).toBe(48 * 1024 ** 2);
    expect(limits.NanoCpus).toBe(0.25e9);
    await api['services.remove']({ name: 'mine' });
    expect(aimaContainers(s.id)).toEqual([]);
    expect(existsSync(entryFile)).toBe(false);
    const wrong = await api['services.create']({ name: 'nope', engine: 'test-httpd', image: HTTPD_IMAGE }).catch((e: Error) => e);
    expect((wrong as Error).message).toMatch(/an image is given only for "custom image" engines/);
  });

  it('refuses a GPU service without the NVIDIA runtime, and an engine with no image and no registry; nothing is left behind', async (ctx) => {
    requirePart(ctx, 'docker', haveDocker);
    if (!haveBusybox) return ctx.skip('missing system part "busybox-static": apt-get install -y busybox-static');
    const info = JSON.parse(docker(['info', '--format', '{{json .Runtimes}}'])) as Record<string, unknown>;
    if ('nvidia' in info) return ctx.skip('this Docker has the NVIDIA runtime: the refusal cannot be shown here');
    const before = aimaContainers();
    const gpu = await api['services.create']({ name: 'web-gpu', engine: 'test-httpd', device: 'gpu' }).catch((e: Error & { fix?: string }) => e);
    expect(gpu).toBeInstanceOf(Error);
    expect((gpu as Error).message).toMatch(/needs the NVIDIA container runtime/);
    expect((gpu as { fix?: string }).fix).toMatch(/NVIDIA Container Toolkit/);

    const absent = await api['services.create']({ name: 'web-absent', engine: 'test-absent' }).catch((e: Error) => e);
    expect(absent).toBeInstanceOf(Error);
    expect((absent as Error).message).toMatch(/No image of .* is present locally and no registry is reachable to pull one; tried 127\.0\.0\.1:\d+\/aima-test\/absent:1/);

    const names = (await api['services.list']({})).map((s) => s.name);
    expect(names).not.toContain('web-gpu');
    expect(names).not.toContain('web-absent');
    expect(aimaContainers()).toEqual(before);
  });
});

describe('Pulling from a local registry', () => {
  let registry: ChildProcess | undefined;
  afterAll(() => {
    registry?.kill('SIGTERM');
  });

  it('pulls the missing image with progress; the first present candidate wins; none present and no registry → the images tried', async (ctx) => {
    requirePart(ctx, 'docker', haveDocker);
    if (!haveBusybox) return ctx.skip('missing system part "busybox-static": apt-get install -y busybox-static');
    if (!existsSync('/usr/bin/docker-registry')) {
      if (requireAll) throw new Error('docker-registry is missing: apt-get install -y docker-registry');
      return ctx.skip('missing system part "docker-registry": apt-get install -y docker-registry (Debian package, obtainable)');
    }
    const port = await freePort();
    const dir = tmp('aima-registry-');
    const config = path.join(dir, 'config.yml');
    writeFileSync(
      config,
      ['version: 0.1', 'log:', '  level: warn', 'storage:', '  filesystem:', `    rootdirectory: ${dir}/data`, 'http:', `  addr: 127.0.0.1:${port}`, ''].join('\n'),
    );
    registry = spawn('/usr/bin/docker-registry', ['serve', config], { stdio: 'ignore' });
    await waitFor(
      () =>
        new Promise<boolean>((resolve) => {
          const s = net.connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
          s.on('error', () => resolve(false));
        }),
      'the registry',
      10_000,
      100,
    );
    const remote = `127.0.0.1:${port}/aima-test/httpd:1`;
    docker(['tag', HTTPD_IMAGE, remote]);
    docker(['push', remote], { timeoutMs: 60_000 });
    docker(['rmi', remote]);
    expect(imageExists(remote)).toBe(false);

    // The first present candidate wins, even behind one that could be pulled.
    const client = createDockerClient();
    expect(await resolveImage(client, 'test-httpd', [`127.0.0.1:${port}/aima-test/absent:1`, HTTPD_IMAGE], [])).toBe(HTTPD_IMAGE);
    expect(imageExists(remote)).toBe(false);

    // None present: the first that pulls, with progress; a missing tag is skipped with its error.
    const progress: PullProgress[] = [];
    const runtime = new DockerRuntime({ docker: client, facts, installId });
    const plan: DockerPlan = runtime.plan(planInput({ engine: engine([`127.0.0.1:${port}/aima-test/absent:1`, remote]), port: await freePort() }));
    const pulled = await resolveImage(client, 'test-httpd', plan.images, [], { onPull: (p) => progress.push(p) });
    expect(pulled).toBe(remote);
    expect(imageExists(remote)).toBe(true);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.map((p) => p.status).join('\n')).toMatch(/Pull complete|Download complete|Downloaded newer image/);
    const last = progress.at(-1)!;
    if (last.total !== null) expect(last.done).toBe(last.total);

    // And the runtime pulls by itself when it starts a service whose image is missing.
    docker(['rmi', remote]);
    const handle = await runtime.start(plan, { onExit: () => {} });
    await waitFor(async () => (await runtime.probe(handle, plan.health)).kind === 'ready', 'healthy after a pull', 15_000, 50);
    expect(readFileSync(plan.logFile, 'utf8')).toContain(`aima: pulled ${remote}`);
    await runtime.stop(handle, { graceMs: 0, force: true });
    runtime.close();
    docker(['rmi', remote]);

    // Registry gone: nothing present, nothing pullable → an error naming the images tried.
    registry.kill('SIGTERM');
    await new Promise((r) => registry!.once('exit', r));
    registry = undefined;
    const err = await resolveImage(client, 'test-httpd', [remote], []).catch((e: Error) => e);
    expect((err as Error).message).toContain(`none of ${remote} is present locally, and pulling failed (${remote}:`);
  });
});
