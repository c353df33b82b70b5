/**
 * The scheduler's fields and settings through the real `aima` CLI against `aima serve`: create
 * with --idle-ttl and --pinned, `service update`, `service plan`, and the bad inputs — each a
 * clear error that names the problem and changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { runAima, startServe, tempHome, type ServeHandle } from '../support/cli.js';
import { writeFakeEngine } from '../support/services.js';
import { repoRoot } from '../support/system.js';
import type { ServiceSummary, Settings } from '../../src/shared/contract/index.js';

let serve: ServeHandle | undefined;
let home: string;
const aima = (...args: string[]) => runAima(args, { AIMA_HOME: home });
const get = async (name: string) => (JSON.parse((await aima('service', 'list', '--json')).stdout) as ServiceSummary[]).find((s) => s.name === name)!;

beforeAll(async () => {
  execFileSync(process.execPath, [path.join(repoRoot, 'scripts', 'build-node.mjs')], { stdio: 'pipe' });
  home = tempHome('aima-sched-cli-');
  writeFakeEngine(home, 'fake', ['--load-ms', '50']);
  serve = await startServe({ AIMA_HOME: home });
}, 120_000);
afterAll(async () => {
  await serve?.stop();
});

describe('aima service: idle TTL, pinning, plan', () => {
  it('create --idle-ttl 10m --pinned; update --idle-ttl 0 --no-pinned; update --idle-ttl default', async () => {
    const created = await aima('service', 'create', 'w', '--engine', 'fake', '--idle-ttl', '10m', '--pinned', '--json');
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({ idleTtl: 600, pinned: true });
    const upd = await aima('service', 'update', 'w', '--idle-ttl', '0', '--no-pinned');
    expect(upd).toMatchObject({ code: 0, stdout: 'w: idle TTL never, not pinned\n' });
    expect(await get('w')).toMatchObject({ idleTtl: 0, pinned: false });
    expect((await aima('service', 'update', 'w', '--idle-ttl', '1h30m', '--pinned')).stdout).toBe('w: idle TTL 1h 30m, pinned\n');
    expect((await aima('service', 'update', 'w', '--idle-ttl', 'default')).stdout).toBe('w: idle TTL default, pinned\n');
  });

  it('bad input: TTL -1 and abc, nothing to change, a missing service — each named, nothing changed', async () => {
    await aima('service', 'create', 'v', '--engine', 'fake', '--idle-ttl', '90s');
    for (const ttl of ['-1', 'abc', '1.5m']) {
      const r = await aima('service', 'update', 'v', '--idle-ttl', ttl);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(`--idle-ttl takes a duration such as 10m, 90s or 1h, or 0 for never (got "${ttl}").`);
    }
    const c = await aima('service', 'create', 'u', '--engine', 'fake', '--idle-ttl', 'abc');
    expect(c.code).not.toBe(0);
    expect(c.stderr).toContain('--idle-ttl takes a duration');
    expect(await get('u')).toBeUndefined();
    const none = await aima('service', 'update', 'v');
    expect(none.code).not.toBe(0);
    expect(none.stderr).toContain('Nothing to change.');
    const missing = await aima('service', 'update', 'nope', '--pinned');
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('No service named "nope".');
    expect(await get('v')).toMatchObject({ idleTtl: 90, pinned: false });
  });

  it('plan shows the placement without starting anything', async () => {
    await aima('service', 'create', 'p', '--engine', 'fake');
    const r = await aima('service', 'plan', 'p');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^p would run on the CPU/);
    expect((await get('p')).state).toBe('stopped');
    const bad = await aima('service', 'plan', 'p', '--device', 'gpu', '--gpus', '7');
    expect(bad.code).toBe(0);
    expect(bad.stdout).toMatch(/p would not start: (GPU 7 does not exist on this machine\.|Service "p" runs on a GPU, but no GPU is detected\.)/);
  });
});

describe('aima settings: the scheduler settings', () => {
  it('a memory cap beyond the machine is refused and nothing changes; within it, it is kept; null is the default', async () => {
    const totalMiB = Math.floor(os.totalmem() / (1024 * 1024));
    const r = await aima('settings', 'set', 'servicesMemoryCapMiB', String(totalMiB * 4));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`servicesMemoryCapMiB ${totalMiB * 4} is more than this machine has (${totalMiB} MiB of RAM).`);
    const all = () => aima('settings', 'get', '--json').then((x) => JSON.parse(x.stdout) as Settings);
    expect((await all()).servicesMemoryCapMiB).toBeNull();
    expect((await aima('settings', 'set', 'servicesMemoryCapMiB', '1024')).stdout).toBe('servicesMemoryCapMiB = 1024\n');
    expect((await aima('settings', 'set', 'antiThrashSeconds', '5')).code).toBe(0);
    expect((await aima('settings', 'set', 'onDemandIdleTtlSeconds', '-1')).code).not.toBe(0);
    expect(await all()).toMatchObject({ servicesMemoryCapMiB: 1024, antiThrashSeconds: 5, onDemandIdleTtlSeconds: 600 });
    expect((await aima('settings', 'set', 'servicesMemoryCapMiB', 'null')).code).toBe(0);
    expect((await all()).servicesMemoryCapMiB).toBeNull();
  });
});
