/**
 * The service lifecycle against real processes: the fake engine (test/fixtures/engines) started by
 * an in-process core, killed, stalled, slow, stubborn — and the guards that refuse a start.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { createCore, type Core } from '../../src/core/core.js';
import { ServicesRepo } from '../../src/core/store/repositories/services-repo.js';
import { ModelsRepo } from '../../src/core/store/repositories/models-repo.js';
import { processStartTime } from '../../src/core/process/proc.js';
import { groupAlive } from '../../src/core/runtimes/native/native-runtime.js';
import { tempHome } from '../support/cli.js';
import { procState, waitFor, writeFakeEngine } from '../support/services.js';
import type { ModelFit, ModelFitParams, ServiceSummary } from '../../src/shared/contract/index.js';
import type { AimaError } from '../../src/shared/errors.js';

const cores: Core[] = [];
afterEach(async () => {
  for (const c of cores.splice(0)) await c.close({ stopServices: true }).catch(() => {});
});

async function core(dataDir: string, timing: Parameters<typeof createCore>[0]['serviceTiming'] = {}, listGpus?: () => Promise<{ index: number; name: string }[]>) {
  const c = await createCore({ dataDir, host: 'serve', serviceTiming: { stopGraceMs: 2000, ...timing }, listGpus });
  cores.push(c);
  return c;
}

const eventsOf = (c: Core, id: string) => new ServicesRepo(c.db).events(id, 200);
const get = (c: Core, name: string) => c.api['services.get']({ name });

describe('services: lifecycle with real engine processes', () => {
  it('starts an engine, waits for running, stops it: group gone, no zombie, PID file removed', async () => {
    const home = tempHome('aima-svc-');
    writeFakeEngine(home, 'fake', ['--load-ms', '300', '--grandchild']);
    const c = await core(home);
    const created = await c.api['services.create']({ name: 'one', engine: 'fake' });
    expect(created).toMatchObject({ state: 'stopped', desiredState: 'stopped', pid: null });
    const s = await c.api['services.start']({ name: 'one', wait: true, timeoutMs: 20_000 });
    expect(s).toMatchObject({ state: 'running', desiredState: 'running' });
    expect(s.pid).toBeGreaterThan(0);
    const res = await fetch(`${s.url}/v1/models`);
    expect(((await res.json()) as { data: { id: string }[] }).data[0]!.id).toBe('one');
    const pidFile = path.join(home, 'run', `${s.id}.pid`);
    expect(existsSync(pidFile)).toBe(true);

    const restarted = await c.api['services.restart']({ name: 'one', wait: true });
    expect(restarted.state).toBe('running');
    expect(restarted.pid).not.toBe(s.pid);
    expect(procState(s.pid!)).toBeNull();
    s.pid = restarted.pid;

    const stopped = await c.api['services.stop']({ name: 'one' });
    expect(stopped).toMatchObject({ state: 'stopped', pid: null, desiredState: 'stopped' });
    expect(procState(s.pid!)).not.toBe('Z');
    expect(procState(s.pid!)).toBeNull();
    expect(groupAlive(s.pid!)).toBe(false); // the grandchild went with it
    // The core (in this process) left no zombie at all: every child it spawned was reaped.
    expect(zombieChildren(process.pid)).toEqual([]);
    expect(existsSync(pidFile)).toBe(false);
    const states = eventsOf(c, s.id).map((e) => `${e.from}>${e.to}`);
    const cycle = ['stopped>starting', 'starting>loading', 'loading>running', 'running>stopping', 'stopping>stopped'];
    expect(states).toEqual([...cycle, ...cycle]);
    const logs = await c.api['services.logs']({ name: 'one', lines: 50 });
    expect(logs.lines.join('\n')).toMatch(/ready at \d+/);
  });

  it('SIGKILL of a running engine: crashed within 1 s, restarted after the 1 s backoff, running again', async () => {
    const home = tempHome('aima-svc-');
    writeFakeEngine(home, 'fake', ['--load-ms', '100']);
    const c = await core(home);
    const { id } = await c.api['services.create']({ name: 'k', engine: 'fake' });
    const s = await c.api['services.start']({ name: 'k', wait: true });
    const killedAt = Date.now();
    process.kill(s.pid!, 'SIGKILL');
    await waitFor(() => eventsOf(c, id).find((e) => e.to === 'crashed'), 'crashed');
    const crashed = eventsOf(c, id).find((e) => e.to === 'crashed')!;
    expect(crashed.at - killedAt).toBeLessThan(1000);
    expect(crashed.reason).toMatch(/killed by SIGKILL/);
    const again = await waitFor(async () => {
      const x = await get(c, 'k');
      return x.state === 'running' && x.pid !== s.pid ? x : null;
    }, 'running again', 10_000);
    const restartedAt = eventsOf(c, id).filter((e) => e.to === 'starting').at(-1)!.at;
    expect(restartedAt - crashed.at).toBeGreaterThanOrEqual(950); // 1 s × 2^0
    expect(again.restarts).toBe(1);
    expect(procState(s.pid!)).toBeNull(); // reaped, not a zombie
    expect(eventsOf(c, id).map((e) => e.to)).toEqual(['starting', 'loading', 'running', 'crashed', 'backoff', 'starting', 'loading', 'running']);
  });

  it('backoff resets after a stable run: an engine that crashes only after running longer than the stable time always waits the first backoff (1 s), never 2 s, 4 s', async () => {
    const home = tempHome('aima-svc-');
    writeFakeEngine(home, 'flaky', ['--load-ms', '20', '--crash-after-ms', '400']);
    const c = await core(home, { stableRunMs: 200 });
    const { id } = await c.api['services.create']({ name: 'f', engine: 'flaky' });
    await c.api['services.start']({ name: 'f', wait: true });
    // Three crashes, each after 400 ms of running (longer than the 200 ms stable time).
    const startsAfterBackoff = () => eventsOf(c, id).filter((e) => e.from === 'backoff' && e.to === 'starting');
    await waitFor(() => startsAfterBackoff().length >= 3, 'three restarts', 15_000, 50);
    const events = eventsOf(c, id);
    const waits = events
      .filter((e) => e.from === 'crashed' && e.to === 'backoff')
      .slice(0, 3)
      .map((b) => events.find((e) => e.from === 'backoff' && e.to === 'starting' && e.at >= b.at)!.at - b.at);
    expect(waits).toHaveLength(3);
    for (const w of waits) {
      expect(w).toBeGreaterThanOrEqual(950);
      expect(w).toBeLessThan(1800); // without the reset: 2 s, then 4 s
    }
    await c.api['services.stop']({ name: 'f' });
  });

  it('graceful stop escalates to SIGKILL after the grace period for an engine that ignores SIGTERM', async () => {
    const home = tempHome('aima-svc-');
    writeFakeEngine(home, 'stubborn', ['--load-ms', '50', '--ignore-sigterm', '--grandchild']);
    const c = await core(home, { stopGraceMs: 1000 });
    await c.api['services.create']({ name: 'st', engine: 'stubborn' });
    const s = await c.api['services.start']({ name: 'st', wait: true });
    const t0 = Date.now();
    const stopped = await c.api['services.stop']({ name: 'st' });
    const took = Date.now() - t0;
    expect(stopped.state).toBe('stopped');
    expect(took).toBeGreaterThanOrEqual(950);
    expect(took).toBeLessThan(4000);
    expect(procState(s.pid!)).toBeNull();
    expect(groupAlive(s.pid!)).toBe(false);
    const log = (await c.api['services.logs']({ name: 'st' })).lines.join('\n');
    expect(log).toContain('ignoring SIGTERM');
  });

  it('stop --force kills at once', async () => {
    const home = tempHome('aima-svc-');
    writeFakeEngine(home, 'stubborn', ['--load-ms', '50', '--ignore-sigterm']);
    const c = await core(home, { stopGraceMs: 10_000 });
    await c.api['services.create']({ name: 'f', engine: 'stubborn' });
    const s = await c.api['services.start']({ name: 'f', wait: true });
    const t0 = Date.now();
    await c.api['services.stop']({ name: 'f', force: true });
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(procState(s.pid!)).toBeNull();
  });

  it('a health timeout while the engine is alive and printing keeps it loading; it then becomes running', async () => {
    const home = tempHome('aima-svc-');
    writeFakeEngine(home, 'slow', ['--load-ms', '3000', '--progress-ms', '200']);
    const c = await core(home, { healthTimeoutMs: 500, stallTimeoutMs: 1500 });
    const { id } = await c.api['services.create']({ name: 'slow', engine: 'slow' });
    await c.api['services.start']({ name: 'slow' });
    await waitFor(() => eventsOf(c, id).find((e) => e.event === 'health-timeout'), 'health-timeout note', 5000);
    expect((await get(c, 'slow')).state).toBe('loading');
    const s = await c.api['services.start']({ name: 'slow', wait: true, timeoutMs: 10_000 });
    expect(s.state).toBe('running');
    const note = eventsOf(c, id).find((e) => e.event === 'health-timeout')!;
    expect(note).toMatchObject({ from: 'loading', to: 'loading' });
    expect(note.reason).toMatch(/Still loading/);
    expect(eventsOf(c, id).some((e) => e.to === 'failed')).toBe(false);
  });

  it('no progress past the stall timeout: failed, with the last log line in the reason, and the process ended', async () => {
    const home = tempHome('aima-svc-');
    writeFakeEngine(home, 'stall', ['--stall']);
    const c = await core(home, { stallTimeoutMs: 1000, healthTimeoutMs: 60_000 });
    await c.api['services.create']({ name: 'stuck', engine: 'stall' });
    const err = await c.api['services.start']({ name: 'stuck', wait: true, timeoutMs: 10_000 }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/failed: The engine made no progress for 1 s while loading; last output: stalled at tensor 17\/291/);
    const s = await get(c, 'stuck');
    expect(s.state).toBe('failed');
    expect(s.reason).toContain('stalled at tensor 17/291');
    const pid = Number(/pid (\d+)/.exec((await c.api['services.logs']({ name: 'stuck' })).lines.join('\n'))![1]);
    await waitFor(() => procState(pid) === null, 'the stalled engine to be killed', 5000);
    // start again from failed just works
    writeFakeEngine(home, 'stall', ['--load-ms', '50']);
    expect((await c.api['services.start']({ name: 'stuck', wait: true })).state).toBe('running');
  });

  it('a crash while loading with restart policy never: failed with the exit and the last line', async () => {
    const home = tempHome('aima-svc-');
    writeFakeEngine(home, 'crashy', ['--stall', '--crash-after-ms', '200']);
    const c = await core(home);
    await c.api['services.create']({ name: 'cr', engine: 'crashy', restartPolicy: 'never' });
    const err = (await c.api['services.start']({ name: 'cr', wait: true }).catch((e: Error) => e)) as Error;
    expect(err.message).toMatch(/exited unexpectedly \(exit code 3\); last output: fake engine: crashing on purpose/);
  });

  it('start after the core restarts: a PID file of a dead engine is forgotten and the desired-running service just starts', async () => {
    const home = tempHome('aima-svc-');
    writeFakeEngine(home, 'fake', ['--load-ms', '50']);
    const c1 = await core(home);
    const { id } = await c1.api['services.create']({ name: 'r', engine: 'fake' });
    const s1 = await c1.api['services.start']({ name: 'r', wait: true });
    await c1.close({ stopServices: false }); // keep-running: the engine stays
    cores.splice(cores.indexOf(c1), 1);
    const pidFile = path.join(home, 'run', `${id}.pid`);
    const recorded = readFileSync(pidFile, 'utf8');
    process.kill(s1.pid!, 'SIGKILL'); // ... and dies while no core watches
    await waitFor(() => procState(s1.pid!) === null, 'engine gone');
    // In this test the engine was the test process's child, whose exit handler tidied the PID
    // file; a core that died (the real case) leaves it behind. Put it back.
    writeFileSync(pidFile, recorded);
    const c2 = await core(home);
    const s2 = await waitFor(async () => {
      const x = await get(c2, 'r');
      return x.state === 'loading' || x.state === 'running' ? x : null;
    }, 'restored');
    expect(s2.pid).not.toBe(s1.pid);
    expect(eventsOf(c2, id).some((e) => e.event === 'vanished')).toBe(true);
    expect((await c2.api['services.start']({ name: 'r', wait: true })).state).toBe('running');
  });

  it('a core restart adopts the live engine by PID file (same pid); external death is then detected by polling', async () => {
    const home = tempHome('aima-svc-');
    writeFakeEngine(home, 'fake', ['--load-ms', '50']);
    const c1 = await core(home);
    const { id } = await c1.api['services.create']({ name: 'a', engine: 'fake' });
    const s1 = await c1.api['services.start']({ name: 'a', wait: true });
    await c1.close({ stopServices: false });
    cores.splice(cores.indexOf(c1), 1);
    const c2 = await core(home);
    const s2 = await waitFor(async () => ((await get(c2, 'a')).state === 'running' ? get(c2, 'a') : null), 'adopted and running');
    expect(s2.pid).toBe(s1.pid);
    expect(eventsOf(c2, id).some((e) => e.event === 'adopt')).toBe(true);
    const killedAt = Date.now();
    process.kill(s1.pid!, 'SIGKILL');
    await waitFor(() => eventsOf(c2, id).find((e) => e.to === 'crashed' && e.at >= killedAt), 'crash of the adopted engine');
    const crashed = eventsOf(c2, id).find((e) => e.to === 'crashed' && e.at >= killedAt)!;
    expect(crashed.at - killedAt).toBeLessThan(1000);
  });

  it('a PID file whose PID now belongs to another process (start time differs) is not adopted, and that process is left alone', async () => {
    const home = tempHome('aima-svc-');
    writeFakeEngine(home, 'fake', ['--load-ms', '50']);
    const c1 = await core(home);
    const { id } = await c1.api['services.create']({ name: 'p', engine: 'fake' });
    await c1.close();
    cores.splice(cores.indexOf(c1), 1);
    const other = spawn('sleep', ['30'], { stdio: 'ignore' });
    await waitFor(() => processStartTime(other.pid!), 'sleep started');
    mkdirSync(path.join(home, 'run'), { recursive: true });
    writeFileSync(
      path.join(home, 'run', `${id}.pid`),
      JSON.stringify({ pid: other.pid, startTime: '1', serviceId: id, serviceName: 'p', host: '127.0.0.1', port: 1, logFile: '/dev/null', argv: [], startedAt: new Date().toISOString() }),
    );
    try {
      const c2 = await core(home);
      const s = await get(c2, 'p');
      expect(s.state).toBe('stopped');
      expect(s.pid).toBeNull();
      // The decision itself, not only the end state (a second guard at stop would hide a wrong adoption).
      const decisions = eventsOf(c2, id).filter((e) => e.event === 'adopt' || e.event === 'vanished');
      expect(decisions.map((e) => e.event), 'adopt/vanished events at core start').toEqual(['vanished']);
      expect(decisions[0]!.reason).toContain(`pid ${other.pid}`);
      await c2.close({ stopServices: true });
      cores.splice(cores.indexOf(c2), 1);
      expect(procState(other.pid!)).not.toBeNull(); // never signalled
      expect(existsSync(path.join(home, 'run', `${id}.pid`))).toBe(false);
    } finally {
      other.kill('SIGKILL');
    }
  });

  it('a reused PID is not adopted also when the service should be running: vanished, then a fresh engine starts, the other process is left alone', async () => {
    const home = tempHome('aima-svc-');
    writeFakeEngine(home, 'fake', ['--load-ms', '50']);
    const c1 = await core(home);
    const { id } = await c1.api['services.create']({ name: 'pr', engine: 'fake' });
    const s1 = await c1.api['services.start']({ name: 'pr', wait: true });
    await c1.close({ stopServices: false }); // desired state stays running
    cores.splice(cores.indexOf(c1), 1);
    const pidFile = path.join(home, 'run', `${id}.pid`);
    const recorded = JSON.parse(readFileSync(pidFile, 'utf8')) as { pid: number; startTime: string };
    process.kill(s1.pid!, 'SIGKILL');
    await waitFor(() => procState(s1.pid!) === null, 'engine gone');
    // The PID file as the engine left it, but its PID now names another live process (whose start
    // time is not the recorded one): what a reboot or PID wrap-around leaves behind.
    const other = spawn('sleep', ['30'], { stdio: 'ignore' });
    await waitFor(() => processStartTime(other.pid!), 'sleep started');
    expect(processStartTime(other.pid!)).not.toBe(recorded.startTime);
    writeFileSync(pidFile, JSON.stringify({ ...recorded, pid: other.pid }));
    try {
      const c2 = await core(home);
      const events = eventsOf(c2, id);
      const decisions = events.filter((e) => e.event === 'adopt' || e.event === 'vanished');
      expect(decisions.map((e) => e.event), 'adopt/vanished events at core start').toEqual(['vanished']);
      expect(decisions[0]!.reason).toContain(`pid ${other.pid}`);
      // Restored as desired: a new engine of its own, not the other process.
      const s2 = await c2.api['services.start']({ name: 'pr', wait: true });
      expect(s2.state).toBe('running');
      expect(s2.pid).not.toBe(other.pid);
      expect(s2.pid).not.toBe(s1.pid);
      expect(eventsOf(c2, id).some((e) => e.event === 'adopt')).toBe(false);
      await c2.close({ stopServices: true });
      cores.splice(cores.indexOf(c2), 1);
      expect(procState(other.pid!)).not.toBeNull(); // never signalled
    } finally {
      other.kill('SIGKILL');
    }
  });

  it('shutdown with onQuit=stop-services stops engines and keeps desired states for the next start', async () => {
    const home = tempHome('aima-svc-');
    writeFakeEngine(home, 'fake', ['--load-ms', '50']);
    const c1 = await core(home);
    await c1.api['services.create']({ name: 'q', engine: 'fake' });
    const s1 = await c1.api['services.start']({ name: 'q', wait: true });
    await c1.close(); // onQuit defaults to stop-services
    cores.splice(cores.indexOf(c1), 1);
    expect(procState(s1.pid!)).toBeNull();
    const c2 = await core(home);
    const s2 = await c2.api['services.start']({ name: 'q', wait: true });
    expect(s2.desiredState).toBe('running');
    expect(s2.pid).not.toBe(s1.pid);
  });
});

describe('services: guards refuse a start and change nothing', () => {
  it('port in use → conflict naming the port and the fix; no process, desired state unchanged', async () => {
    const home = tempHome('aima-svc-');
    writeFakeEngine(home, 'fake', ['--load-ms', '50']);
    const c = await core(home);
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const s = await c.api['services.create']({ name: 'busy', engine: 'fake', port });
      const err = (await c.api['services.start']({ name: 'busy' }).catch((e: Error) => e)) as Error & { fix?: string };
      expect(err.message).toBe(`Port ${port} of service "busy" is already in use by another program.`);
      expect(err.fix).toMatch(/another --port/);
      expect(await get(c, 'busy')).toMatchObject({ state: 'stopped', desiredState: 'stopped', pid: null });
      expect(eventsOf(c, s.id)).toEqual([]);
      await expect(c.api['services.create']({ name: 'busy2', engine: 'fake', port })).rejects.toThrow(/already assigned to service "busy"/);
    } finally {
      blocker.close();
    }
  });

  it('model kind/format not accepted, model missing, GPU index invalid, unknown engine', async () => {
    const home = tempHome('aima-svc-');
    writeFakeEngine(home, 'fake', ['--load-ms', '50']);
    writeFakeEngine(home, 'fake-asr', [], { kind: 'asr', model: { required: true, formats: ['onnx'], kinds: ['asr'] } });
    const c = await core(home, {}, async () => [{ index: 0, name: 'Test GPU' }]);
    const models = new ModelsRepo(c.db);
    const gguf = path.join(home, 'm.gguf');
    writeFileSync(gguf, 'GGUF');
    const base = { kindReason: 'test', rootPath: gguf, sourcePath: gguf, storage: 'link' as const, sizeBytes: 4, missing: [], warnings: [], metadata: {} };
    models.insert({ ...base, id: 'm1', name: 'tiny', kind: 'llm', format: 'gguf', path: gguf, sourceReal: gguf });
    models.insert({ ...base, id: 'm2', name: 'gone', kind: 'llm', format: 'gguf', path: path.join(home, 'gone.gguf'), sourceReal: path.join(home, 'gone.gguf') });

    await expect(c.api['services.create']({ name: 'x', engine: 'nope' })).rejects.toThrow(/No engine "nope"/);
    await expect(c.api['services.create']({ name: 'x', engine: 'fake-asr', model: 'tiny' })).rejects.toThrow(/does not run llm models/);
    await expect(c.api['services.create']({ name: 'x', engine: 'fake-asr' })).rejects.toThrow(/needs a model/);
    await expect(c.api['services.create']({ name: 'x', engine: 'fake', model: 'nope' })).rejects.toThrow(/No model named "nope"/);
    expect(await c.api['services.list']({})).toEqual([]);

    await c.api['services.create']({ name: 'g', engine: 'fake', model: 'gone' });
    await expect(c.api['services.start']({ name: 'g' })).rejects.toThrow(/files of model "gone" are missing/);
    await c.api['services.create']({ name: 'gpu', engine: 'fake', model: 'tiny', device: 'gpu', gpus: [1] });
    await expect(c.api['services.start']({ name: 'gpu' })).rejects.toThrow(/GPU 1 does not exist on this machine/);
    for (const s of (await c.api['services.list']({})) as ServiceSummary[]) expect(s).toMatchObject({ state: 'stopped', desiredState: 'stopped' });

    await c.api['services.create']({ name: 'ok', engine: 'fake', model: 'tiny', device: 'gpu', gpus: [0] });
    const ok = await c.api['services.start']({ name: 'ok', wait: true });
    expect(ok.state).toBe('running');
    const log = (await c.api['services.logs']({ name: 'ok' })).lines.join('\n');
    expect(log).toContain(`fake engine: model ${gguf}`);
  });

  it('the fit check before a start: "does not fit" refuses with the reason and the fixes and changes nothing; --ignore-fit starts; a GPU service spilling to the CPU starts with a warning in its log', async () => {
    const home = tempHome('aima-svc-');
    writeFakeEngine(home, 'fake', ['--load-ms', '50']);
    let verdict: ModelFit['verdict'] = { kind: 'does-not-fit', reason: 'exceeds-memory', message: 'needs 9.1 GiB, 3.2 GiB are free.' };
    const asked: ModelFitParams[] = [];
    const c = await createCore({
      dataDir: home,
      host: 'serve',
      serviceTiming: { stopGraceMs: 2000 },
      listGpus: async () => [{ index: 0, name: 'Test GPU' }],
      modelFit: async (p) => {
        asked.push(p);
        return { model: p.name, format: 'gguf', estimator: 'gguf', gpu: null, verdict, suggestions: [{ kind: 'smaller-context', contextSize: 4096, message: 'A context of 4096 fits.' }], numbers: {}, notes: [] };
      },
    });
    cores.push(c);
    const gguf = path.join(home, 'm.gguf');
    writeFileSync(gguf, 'GGUF');
    new ModelsRepo(c.db).insert({ id: 'm1', name: 'big', kind: 'llm', format: 'gguf', path: gguf, sourceReal: gguf, kindReason: 'test', rootPath: gguf, sourcePath: gguf, storage: 'link', sizeBytes: 4, missing: [], warnings: [], metadata: {} });
    await c.api['services.create']({ name: 'b', engine: 'fake', model: 'big', ctxSize: 32768, concurrency: 2 });

    const refused = await c.api['services.start']({ name: 'b' }).then(
      () => null,
      (e: unknown) => e as AimaError,
    );
    expect(refused?.message).toBe('Service "b" would not fit in memory: needs 9.1 GiB, 3.2 GiB are free.');
    expect(refused?.fix).toBe('A context of 4096 fits. To try anyway (the estimate may be wrong): `aima service start b --ignore-fit`.');
    expect(asked[0]).toEqual({ name: 'big', ctx: 32768, parallel: 2 });
    expect(await c.api['services.get']({ name: 'b' })).toMatchObject({ state: 'stopped', desiredState: 'stopped' });

    expect((await c.api['services.start']({ name: 'b', wait: true, ignoreFit: true })).state).toBe('running');
    await c.api['services.stop']({ name: 'b' });

    verdict = { kind: 'partial-offload', gpuLayers: 20, totalLayers: 32, reason: 'weights-exceed-vram', message: '20 of 32 layers fit on GPU 0; the rest runs on the CPU.' };
    await c.api['services.create']({ name: 'g', engine: 'fake', model: 'big', device: 'gpu', gpus: [0] });
    expect((await c.api['services.start']({ name: 'g', wait: true })).state).toBe('running');
    expect(asked.at(-1)).toEqual({ name: 'big', gpu: 0 });
    expect((await c.api['services.logs']({ name: 'g' })).lines).toContain('--- aima: fit: 20 of 32 layers fit on GPU 0; the rest runs on the CPU.');
    await c.api['services.stop']({ name: 'g' });
  });
});

/** PIDs in /proc whose parent is `ppid` and whose state is Z (exited, never reaped). */
function zombieChildren(ppid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const [state, parent] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (state === 'Z' && Number(parent) === ppid) out.push(Number(name));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}
