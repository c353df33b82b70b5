import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { runAima, startServe, tempHome, type ServeHandle } from '../support/cli.js';
import { processStartTime } from '../../src/core/process/proc.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function serveOn(home: string) {
  return startServe({ AIMA_HOME: home }).then((h) => {
    cleanups.push(() => h.stop());
    return h;
  });
}

describe('one core per data directory', () => {
  it('a second `aima serve` on the same data directory refuses and points at the running core', async () => {
    const home = tempHome();
    const first: ServeHandle = await serveOn(home);
    const second = await runAima(['serve', '--port', '0'], { AIMA_HOME: home });
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`An AIMA core already runs for ${home}`);
    expect(second.stderr).toContain(first.url);
    // The first one is unharmed.
    const res = await fetch(`${first.url}/healthz`);
    expect(res.status).toBe(200);
  });

  it('`aima serve` on another data directory runs its own core', async () => {
    const a = await serveOn(tempHome());
    const b = await serveOn(tempHome());
    expect(a.url).not.toBe(b.url);
  });

  it('`aima status` reports the running core, its URL and data directory, in JSON too', async () => {
    const home = tempHome();
    const none = await runAima(['status', '--json'], { AIMA_HOME: home });
    expect(JSON.parse(none.stdout)).toEqual({ running: false, dataDir: home });
    const serve = await serveOn(home);
    const status = await runAima(['status', '--json'], { AIMA_HOME: home });
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ running: true, url: serve.url, dataDir: home, host: 'serve', pid: serve.child.pid });
  });

  it('a CLI command with no core running starts one in the background and says so', async () => {
    const home = tempHome();
    const result = await runAima(['settings', 'get', '--json'], { AIMA_HOME: home });
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/Started the AIMA core in the background \(pid (\d+), http:\/\/127\.0\.0\.1:\d+; log: /);
    expect(JSON.parse(result.stdout)).toMatchObject({ onQuit: 'stop-services' });
    const pid = Number(/pid (\d+)/.exec(result.stderr)![1]);
    cleanups.push(async () => {
      await runAima(['stop'], { AIMA_HOME: home });
    });
    // The next command reuses it instead of starting another.
    const again = await runAima(['settings', 'set', 'onQuit', 'keep-running'], { AIMA_HOME: home });
    expect(again.stderr).not.toContain('Started');
    expect(again.stdout.trim()).toBe('onQuit = keep-running');
    const lock = JSON.parse(readFileSync(path.join(home, 'core.lock'), 'utf8'));
    expect(lock.pid).toBe(pid);
    const stop = await runAima(['stop'], { AIMA_HOME: home });
    expect(stop.stdout).toContain(`Stopped the AIMA core (pid ${pid})`);
    // Gone, or a zombie waiting for a reaper (the container's PID 1 may not reap): either way not running.
    expect(processStartTime(pid)).toBeNull();
  });

  it('a core killed with SIGKILL leaves a stale lock that the next `aima serve` takes over', async () => {
    const home = tempHome();
    const first = await serveOn(home);
    await first.kill();
    const second = await serveOn(home);
    expect(second.child.pid).not.toBe(first.child.pid);
    const status = await runAima(['status', '--json'], { AIMA_HOME: home });
    expect(JSON.parse(status.stdout)).toMatchObject({ running: true, pid: second.child.pid });
  });

  it('errors are one clear line and a non-zero exit', async () => {
    const home = tempHome();
    const bad = await runAima(['serve', '--port', 'http'], { AIMA_HOME: home });
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toContain('--port must be a port number');
    const unknown = await runAima(['settings', 'set', 'colour', 'red'], { AIMA_HOME: home });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/Unknown setting "colour". Settings are: /);
  });
});
