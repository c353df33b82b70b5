/**
 * Services through the real `aima` CLI against a real `aima serve` process: the create → start
 * --wait → list → logs → stop → rm flow; a core killed with SIGKILL and started again adopts the
 * live engine by PID file; and, when the workers are built and the shared model is there, the
 * embedded LLM worker end to end.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { runAima, startServe, tempHome, aimaBin, type ServeHandle } from '../support/cli.js';
import { procState, waitFor, writeFakeEngine } from '../support/services.js';
import { repoRoot, requirePart, sharedModel } from '../support/system.js';
import type { EngineList, ServiceSummary } from '../../src/shared/contract/index.js';

const serves: ServeHandle[] = [];
const enginePids: number[] = [];

beforeAll(() => {
  // The CLI and the workers as `npm run build` makes them (the Node part).
  execFileSync(process.execPath, [path.join(repoRoot, 'scripts', 'build-node.mjs')], { stdio: 'pipe' });
}, 120_000);

afterAll(async () => {
  for (const s of serves) await s.stop().catch(() => {});
  for (const pid of enginePids) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {}
  }
});

async function serve(home: string): Promise<ServeHandle> {
  const s = await startServe({ AIMA_HOME: home });
  serves.push(s);
  return s;
}

async function aima(home: string, args: string[], timeoutMs = 60_000) {
  const r = await runAima(args, { AIMA_HOME: home }, timeoutMs);
  if (r.code !== 0) throw new Error(`aima ${args.join(' ')} exited with ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

const list = async (home: string) => JSON.parse((await aima(home, ['service', 'list', '--json'])).stdout) as ServiceSummary[];

describe('aima service / aima engine (real processes)', () => {
  it('engine list shows every entry and whether it can run, with the reason', async () => {
    const home = tempHome('aima-svc-cli-');
    writeFakeEngine(home, 'fake', []);
    await serve(home);
    const engines = JSON.parse((await aima(home, ['engine', 'list', '--json'])).stdout) as EngineList;
    const byId = new Map(engines.engines.map((e) => [e.id, e]));
    expect([...byId.keys()].sort()).toEqual(['aima-asr', 'aima-llm', 'aima-tts', 'custom-image', 'fake', 'kokoro', 'llama-cpp', 'llama-server', 'sglang', 'speaches', 'vllm']);
    expect(byId.get('fake')).toMatchObject({ source: 'user', canRun: true, reason: null });
    expect(byId.get('aima-llm')).toMatchObject({ canRun: true });
    expect(byId.get('vllm')!.canRun).toBe(false);
    const ls = byId.get('llama-server')!;
    if (!ls.canRun) expect(ls).toMatchObject({ reason: 'binary-missing', detail: expect.stringMatching(/not found on PATH/) });
    const human = (await aima(home, ['engine', 'list'])).stdout;
    expect(human).toMatch(/vllm\s+llm\s+docker.*no: /);
  });

  it('create → start --wait (progress on stderr) → list → logs → SIGKILL the core → restart adopts the same pid → stop → rm', async () => {
    const home = tempHome('aima-svc-cli-');
    writeFakeEngine(home, 'fake', ['--load-ms', '1500', '--progress-ms', '300']);
    const s1 = await serve(home);
    await aima(home, ['service', 'create', 'fk', '--engine', 'fake', '--concurrency', '2']);
    const started = await aima(home, ['service', 'start', 'fk', '--wait', '--timeout', '30']);
    expect(started.stdout).toMatch(/^fk: running at http:\/\/127\.0\.0\.1:\d+ \(pid \d+\)/);
    expect(started.stderr).toMatch(/fk: loading — loading: \d+%/);
    const [svc] = await list(home);
    expect(svc).toMatchObject({ name: 'fk', state: 'running', engine: 'fake', concurrency: 2, desiredState: 'running' });
    enginePids.push(svc!.pid!);
    expect((await aima(home, ['service', 'list'])).stdout).toMatch(/fk\s+running\s+\d+\s+\d+\s+fake/);
    expect((await aima(home, ['service', 'logs', 'fk', '-n', '5'])).stdout).toMatch(/ready at \d+/);

    // The core dies hard; the engine must survive and be adopted by the next core.
    await s1.kill();
    expect(procState(svc!.pid!)).not.toBeNull();
    await serve(home);
    const adopted = await waitFor(async () => {
      const [x] = await list(home);
      return x!.state === 'running' ? x : null;
    }, 'adopted engine running', 10_000, 200);
    expect(adopted.pid).toBe(svc!.pid);
    expect(adopted.port).toBe(svc!.port);

    // restart: the adopted engine stops, a new one runs.
    const restarted = await aima(home, ['service', 'restart', 'fk', '--wait', '--json']);
    const again = JSON.parse(restarted.stdout) as ServiceSummary;
    expect(again).toMatchObject({ name: 'fk', state: 'running' });
    expect(again.pid).not.toBe(svc!.pid);
    enginePids.push(again.pid!);
    await waitFor(() => procState(svc!.pid!) === null, 'the adopted engine gone (reaped by init: not our child any more)', 5000);

    const stopped = await aima(home, ['service', 'stop', 'fk']);
    expect(stopped.stdout).toMatch(/fk: stopped/);
    await waitFor(() => procState(again.pid!) === null, 'engine gone', 5000);
    await aima(home, ['service', 'rm', 'fk']);
    expect(await list(home)).toEqual([]);
  });

  it('start --wait: Ctrl+C stops waiting (exit 130) and the service keeps loading; a failed start exits 1 with the reason', async () => {
    const home = tempHome('aima-svc-cli-');
    writeFakeEngine(home, 'slow', ['--load-ms', '4000', '--progress-ms', '200']);
    writeFakeEngine(home, 'crashy', ['--stall', '--crash-after-ms', '100']);
    await serve(home);
    await aima(home, ['service', 'create', 'slow', '--engine', 'slow']);
    const child = spawn(process.execPath, [aimaBin, 'service', 'start', 'slow', '--wait'], { env: { ...process.env, AIMA_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    await waitFor(() => /loading/.test(err), 'progress', 10_000);
    child.kill('SIGINT');
    const code = await new Promise((r) => child.once('exit', r));
    expect(code).toBe(130);
    expect(err).toMatch(/Stopped waiting for "slow"; it keeps starting/);
    const [s] = await list(home);
    expect(s!.state).toMatch(/loading|running/);
    enginePids.push(s!.pid!);

    // logs -f prints the tail, then new lines as the engine writes them, until Ctrl+C.
    writeFakeEngine(home, 'chatty', ['--load-ms', '50', '--tick-ms', '200']);
    await aima(home, ['service', 'create', 'talk', '--engine', 'chatty']);
    await aima(home, ['service', 'start', 'talk', '--wait']);
    const follow = spawn(process.execPath, [aimaBin, 'service', 'logs', 'talk', '-f', '-n', '1'], { env: { ...process.env, AIMA_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    follow.stdout.on('data', (d) => (out += d));
    await waitFor(() => out.split('\n').filter((l) => /^tick \d+$/.test(l)).length >= 4, 'followed lines', 15_000);
    const ticks = out.split('\n').filter((l) => /^tick \d+$/.test(l)).map((l) => Number(l.slice(5)));
    expect(ticks.slice(1)).toEqual(ticks.slice(1).map((_, i) => ticks[1]! + i)); // consecutive: nothing lost or doubled
    follow.kill('SIGINT');
    expect(await new Promise((r) => follow.once('exit', r))).toBe(0);
    await aima(home, ['service', 'stop', 'talk']);

    await aima(home, ['service', 'create', 'cr', '--engine', 'crashy', '--restart', 'never']);
    const r = await runAima(['service', 'start', 'cr', '--wait'], { AIMA_HOME: home });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Service "cr" failed: .*exit code 3.*crashing on purpose/);
    // stop --force: SIGKILL at once, no grace period.
    const slow = (await list(home)).find((x) => x.name === 'slow')!;
    const forced = await aima(home, ['service', 'stop', 'slow', '--force']);
    expect(forced.stdout).toMatch(/slow: stopped/);
    if (slow.pid) expect(procState(slow.pid)).toBeNull();
  });

  it('aima serve on SIGTERM: onQuit keep-running leaves the engine for the next core; stop-services (default) stops it', async () => {
    const home = tempHome('aima-svc-cli-');
    writeFakeEngine(home, 'fake', ['--load-ms', '50']);
    const s1 = await serve(home);
    await aima(home, ['settings', 'set', 'onQuit', 'keep-running']);
    await aima(home, ['service', 'create', 'kr', '--engine', 'fake']);
    await aima(home, ['service', 'start', 'kr', '--wait']);
    const [a] = await list(home);
    enginePids.push(a!.pid!);
    await s1.stop(); // SIGTERM
    expect(procState(a!.pid!)).not.toBeNull();
    const s2 = await serve(home);
    const adopted = await waitFor(async () => {
      const [x] = await list(home);
      return x!.state === 'running' ? x : null;
    }, 'adopted', 10_000, 200);
    expect(adopted.pid).toBe(a!.pid);
    await aima(home, ['settings', 'set', 'onQuit', 'stop-services']);
    await s2.stop();
    await waitFor(() => procState(a!.pid!) === null, 'engine stopped with the core', 5000);
  });

  it('the embedded LLM worker end to end: create → start --wait → running → GET /v1/models → stop', async (ctx) => {
    const model = sharedModel('stories260K/stories260K.gguf');
    requirePart(ctx, 'shared-models', existsSync(model));
    const home = tempHome('aima-svc-cli-');
    await serve(home);
    await aima(home, ['model', 'import', model, '--name', 'stories']);
    await aima(home, ['service', 'create', 'chat', '--model', 'stories', '--engine', 'aima-llm', '--threads', '1', '--ctx-size', '256']);
    const r = await aima(home, ['service', 'start', 'chat', '--wait', '--timeout', '120', '--json'], 150_000);
    const s = JSON.parse(r.stdout) as ServiceSummary;
    expect(s).toMatchObject({ state: 'running', model: 'stories', engine: 'aima-llm', kind: 'llm' });
    enginePids.push(s.pid!);
    const models = (await (await fetch(`${s.url}/v1/models`)).json()) as { data: { id: string }[] };
    expect(models.data.map((m) => m.id)).toContain('stories');
    // The entry's niceness (10): a generation yields the cores to speech work when they are contended.
    if (process.platform === 'linux') {
      expect(Number(readFileSync(`/proc/${s.pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[16])).toBe(10);
      // With autogroup scheduling the engine (its own session) is its own group, and only the
      // group's nice weighs against the other groups: it must carry the value too.
      if (existsSync(`/proc/${s.pid}/autogroup`) && readFileSync('/proc/sys/kernel/sched_autogroup_enabled', 'utf8').trim() === '1') {
        await waitFor(() => /nice 10\b/.test(readFileSync(`/proc/${s.pid}/autogroup`, 'utf8')), 'autogroup nice 10', 3000, 50);
      }
    }
    await aima(home, ['service', 'stop', 'chat']);
    expect(procState(s.pid!)).toBeNull();
  });
});
