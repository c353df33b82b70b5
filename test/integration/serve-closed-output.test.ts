/**
 * `aima serve` whose output nobody reads any more (its terminal closed, the pipe's reader gone)
 * still stops its engines on SIGTERM: the "Stopping…" line fails with EPIPE, which must not end
 * the process before the core has stopped them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { aimaBin, tempHome } from '../support/cli.js';
import { procState, waitFor, writeFakeEngine } from '../support/services.js';
import type { ServiceSummary } from '../../src/shared/contract/index.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

async function call<T>(origin: string, token: string, name: string, params: unknown = {}): Promise<T> {
  const res = await fetch(`${origin}/api/call/${name}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(params) });
  const body = (await res.json()) as { result?: T; error?: { message: string } };
  if (!res.ok) throw new Error(`${name}: ${body.error?.message}`);
  return body.result as T;
}

describe('aima serve with its output closed', () => {
  it('on SIGTERM stops its engines and exits 0, though it cannot say "Stopping"', async () => {
    const home = tempHome();
    writeFakeEngine(home, 'quick', ['--load-ms', '50']);
    const child = spawn(process.execPath, [aimaBin, 'serve', '--port', '0'], { env: { ...process.env, AIMA_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
    cleanups.push(() => child.kill('SIGKILL'));
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    await waitFor(() => out.includes('Press Ctrl+C'), 'aima serve to start', 30_000);
    const url = /API and UI: (\S+)/.exec(out)![1]!;
    const token = /token=([\w-]+)/.exec(out)![1]!;
    await call(url, token, 'services.create', { name: 'kept', engine: 'quick' });
    const running = await call<ServiceSummary>(url, token, 'services.start', { name: 'kept', wait: true, timeoutMs: 20_000 });
    const enginePid = running.pid!;
    cleanups.push(() => {
      try {
        process.kill(enginePid, 'SIGKILL');
      } catch {
        /* gone */
      }
    });
    expect(procState(enginePid)).not.toBeNull();
    // Nobody reads its output any more.
    child.stdout!.destroy();
    child.stderr!.destroy();
    const exited = new Promise<[number | null, string | null]>((r) => child.once('exit', (code, signal) => r([code, signal])));
    child.kill('SIGTERM');
    expect(await exited).toEqual([0, null]);
    await waitFor(() => procState(enginePid) === null || procState(enginePid) === 'Z', 'the engine to stop', 10_000);
  });
});
