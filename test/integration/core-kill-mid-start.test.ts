/**
 * A core killed with SIGKILL while a native engine is still loading: the engine survives, and the
 * next core adopts it by PID file while it loads and sees it through to running (the Docker
 * counterpart is in docker-runtime.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { runAima, startServe, tempHome, type ServeHandle } from '../support/cli.js';
import { procState, waitFor, writeFakeEngine } from '../support/services.js';
import { repoRoot } from '../support/system.js';
import type { ServiceSummary } from '../../src/shared/contract/index.js';

const serves: ServeHandle[] = [];
const enginePids: number[] = [];

beforeAll(() => {
  execFileSync(process.execPath, [path.join(repoRoot, 'scripts', 'build-node.mjs')], { stdio: 'pipe' });
}, 120_000);

afterAll(async () => {
  for (const s of serves) await s.stop().catch(() => {});
  for (const pid of enginePids) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

async function aima(home: string, args: string[]) {
  const r = await runAima(args, { AIMA_HOME: home });
  if (r.code !== 0) throw new Error(`aima ${args.join(' ')} exited with ${r.code}\nstderr: ${r.stderr}`);
  return r;
}
const get = async (home: string) => (JSON.parse((await aima(home, ['service', 'list', '--json'])).stdout) as ServiceSummary[])[0]!;

describe('core killed mid-start', () => {
  it('SIGKILL of the core while its engine loads: the engine lives on, the next core adopts it (same pid) and it reaches running', async () => {
    const home = tempHome('aima-midstart-');
    writeFakeEngine(home, 'slow', ['--load-ms', '4000', '--progress-ms', '200']);
    const first = await startServe({ AIMA_HOME: home });
    serves.push(first);
    await aima(home, ['service', 'create', 'sl', '--engine', 'slow']);
    await aima(home, ['service', 'start', 'sl']);
    const loading = await waitFor(async () => {
      const s = await get(home);
      return s.state === 'loading' && s.pid ? s : null;
    }, 'loading', 10_000, 100);
    enginePids.push(loading.pid!);

    await first.kill();
    expect(procState(loading.pid!)).not.toBeNull();
    serves.push(await startServe({ AIMA_HOME: home }));
    const adopted = await get(home);
    expect(adopted.pid).toBe(loading.pid);
    expect(['loading', 'running']).toContain(adopted.state);
    const running = await waitFor(async () => {
      const s = await get(home);
      return s.state === 'running' ? s : null;
    }, 'adopted → running', 15_000, 200);
    expect(running.pid).toBe(loading.pid);
    await aima(home, ['service', 'stop', 'sl']);
    await waitFor(() => procState(loading.pid!) === null, 'engine gone', 5000);
  }, 60_000);
});
