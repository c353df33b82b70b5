/**
 * `aima serve` answers before the slow part of its start: the port opens and models.list answers
 * with the library while hardware detection (for a GPU service it restores) is still running; and
 * a request that arrives during that start and needs the services waits for the adoption of the
 * engines an earlier core left running, so it never spawns a second one.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { aimaBin, startServe, tempHome, type ServeHandle } from '../support/cli.js';
import { procState, waitFor, writeFakeEngine } from '../support/services.js';
import { repoRoot, sharedModel } from '../support/system.js';
import type { ModelSummary, ServiceSummary } from '../../src/shared/contract/index.js';

const fakeSmi = path.join(repoRoot, 'test', 'fixtures', 'bin', 'fake-nvidia-smi');
const gguf = sharedModel('stories260K/stories260K.gguf');

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** A port free right now. */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function call<T>(origin: string, token: string, name: string, params: unknown = {}): Promise<T> {
  const res = await fetch(`${origin}/api/call/${name}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(params),
  });
  const body = (await res.json()) as { result?: T; error?: { message: string } };
  if (!res.ok) throw new Error(`${name}: ${body.error?.message}`);
  return body.result as T;
}

/** `aima serve` on a port chosen here, so the test can knock before it prints anything. */
function launch(env: Record<string, string>, port: number): { child: ChildProcess; output: () => string; stop: () => Promise<void> } {
  const child = spawn(process.execPath, [aimaBin, 'serve', '--port', String(port)], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
  cleanups.push(stop);
  return { child, output: () => out, stop };
}

/** Pids of live processes whose command line contains `marker`. */
function processesWith(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmd.includes(marker) && procState(Number(entry)) !== 'Z') pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

describe('aima serve: launch to first answer', () => {
  it('answers models.list with the library while the hardware detection of its start is still running', async () => {
    const home = tempHome('aima-serve-start-');
    cleanups.push(() => rmSync(home, { recursive: true, force: true }));
    const smiEnv = { AIMA_HOME: home, AIMA_NVIDIA_SMI: fakeSmi };
    // A first core: three models, and a GPU service whose desired state stays running when the
    // core stops (onQuit stop-services keeps desired states), so the next core restores it.
    writeFakeEngine(home, 'quick', ['--load-ms', '100']);
    const first: ServeHandle = await startServe(smiEnv);
    cleanups.push(() => first.stop());
    mkdirSync(path.join(home, 'files'));
    const names = ['alpha', 'beta', 'gamma'];
    for (const name of names) {
      const file = path.join(home, 'files', `${name}.gguf`);
      copyFileSync(gguf, file);
      await call(first.url, first.token, 'models.import', { path: file, name });
    }
    await call(first.url, first.token, 'services.create', { name: 'g', engine: 'quick', device: 'gpu' });
    await call(first.url, first.token, 'services.start', { name: 'g', wait: true, timeoutMs: 20_000 });
    await first.stop();

    // The next core's restore of the GPU service asks nvidia-smi, which now takes 1.5 s per call
    // (a detection makes two rounds of calls, so at least 3 s).
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    const token = readFileSync(path.join(home, 'token'), 'utf8').trim();
    const t0 = performance.now();
    const served = launch({ ...smiEnv, AIMA_FAKE_NVIDIA_SMI_DELAY_MS: '1500' }, port);
    let list: ModelSummary[] | null = null;
    while (!list) {
      if (served.child.exitCode !== null) throw new Error(`aima serve exited:\n${served.output()}`);
      list = await call<ModelSummary[]>(origin, token, 'models.list').catch(() => null);
      if (!list) await new Promise((r) => setTimeout(r, 10));
      if (performance.now() - t0 > 30_000) throw new Error(`no answer in 30 s:\n${served.output()}`);
    }
    const modelsAt = performance.now() - t0;
    expect(list.map((m) => m.name).sort()).toEqual(names);
    // Services wait for the restore, and so for the detection it needs.
    const services = await call<ServiceSummary[]>(origin, token, 'services.list');
    const servicesAt = performance.now() - t0;
    expect(services.map((s) => [s.name, s.state === 'stopped' ? 'stopped' : 'restored'])).toEqual([['g', 'restored']]);
    // Detection alone takes 3 s; the library answers well before (about 1 s here under load,
    // over 3 s when the port opened only after the restore).
    expect(servicesAt).toBeGreaterThan(3000);
    expect(modelsAt).toBeLessThan(2500);
    expect(servicesAt - modelsAt).toBeGreaterThan(1000);
  }, 90_000);

  it('a request during the start waits for the adoption of the running engine, which is not spawned a second time', async () => {
    const home = tempHome('aima-serve-adopt-');
    cleanups.push(() => rmSync(home, { recursive: true, force: true }));
    // The home's path marks this test's engine processes among everything else on the machine.
    writeFakeEngine(home, 'quick', ['--load-ms', '100', `--marker=${home}`]);
    const first: ServeHandle = await startServe({ AIMA_HOME: home });
    cleanups.push(() => first.stop());
    await call(first.url, first.token, 'settings.update', { onQuit: 'keep-running' });
    await call(first.url, first.token, 'services.create', { name: 'kept', engine: 'quick' });
    const running = await call<ServiceSummary>(first.url, first.token, 'services.start', { name: 'kept', wait: true, timeoutMs: 20_000 });
    const enginePid = running.pid!;
    cleanups.push(() => {
      for (const pid of processesWith(home)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    });
    await first.stop();
    expect(processesWith(home)).toEqual([enginePid]);

    // Docker that accepts and never answers holds the next core's start for its 3 s timeout:
    // requests arrive while the core has not adopted the engine yet.
    const sock = path.join(home, 'silent-docker.sock');
    const held = new Set<net.Socket>();
    const silent = net.createServer((c) => held.add(c)).listen(sock);
    cleanups.push(() => new Promise<void>((r) => (held.forEach((c) => c.destroy()), silent.close(() => r()))));
    await waitFor(() => existsSync(sock), 'the silent Docker socket');
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    const token = readFileSync(path.join(home, 'token'), 'utf8').trim();
    const t0 = performance.now();
    const served = launch({ AIMA_HOME: home, DOCKER_HOST: `unix://${sock}` }, port);
    await waitFor(() => call(origin, token, 'models.list').catch(() => null), 'models.list', 20_000, 10);
    const answeredAt = performance.now() - t0;

    // Start on demand through the gateway, and the user's start, both during the core's start.
    const timed = <T>(p: Promise<T>) => p.then((v) => ({ v, at: performance.now() - t0 }));
    const [onDemand, started] = await Promise.all([
      timed(
        fetch(`${origin}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'kept', messages: [{ role: 'user', content: 'hi' }] }),
        }).then(async (r) => ({ status: r.status, body: await r.text() })),
      ),
      timed(call<ServiceSummary>(origin, token, 'services.start', { name: 'kept', wait: true, timeoutMs: 20_000 })),
    ]);
    // Both waited for the start (the silent Docker's 3 s) while models.list did not.
    expect(answeredAt).toBeLessThan(2500);
    expect(started.at).toBeGreaterThan(2900);
    expect(onDemand.at).toBeGreaterThan(2900);
    expect(started.v.pid).toBe(enginePid);
    // The gateway reached the adopted engine: the fake engine answers with its pid.
    expect(onDemand.v.status, onDemand.v.body).toBe(200);
    expect(onDemand.v.body).toContain(`"content":"pid ${enginePid}"`);
    const after = await call<ServiceSummary>(origin, token, 'services.get', { name: 'kept' });
    expect(after).toMatchObject({ state: 'running', pid: enginePid });
    expect(processesWith(home)).toEqual([enginePid]);
    await served.stop();
  }, 90_000);
});
