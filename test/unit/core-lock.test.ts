import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { acquireCoreLock, parseLockInfo, readLock } from '../../src/core/lock/core-lock.js';
import { processStartTime } from '../../src/core/process/proc.js';

const who = { owner: 'serve' as const, dataDir: '/d', version: 't' };
const lockFile = () => path.join(mkdtempSync(path.join(os.tmpdir(), 'aima-lock-')), 'core.lock');

describe('core lock', () => {
  it('is taken by the first process and reported as held by a live holder', async () => {
    const file = lockFile();
    const first = await acquireCoreLock(file, who);
    expect(first.kind).toBe('acquired');
    const second = await acquireCoreLock(file, who);
    // The same process asking again finds itself as the live holder.
    expect(second).toMatchObject({ kind: 'held', info: { pid: process.pid } });
    if (first.kind === 'acquired') first.lock.release();
    expect(existsSync(file)).toBe(false);
  });

  it('takes over a lock whose process is gone', async () => {
    const file = lockFile();
    const child = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => child.on('exit', r));
    writeFileSync(file, JSON.stringify({ ...who, pid: child.pid, startTime: '1', url: 'http://127.0.0.1:1', startedAt: 'x' }));
    const result = await acquireCoreLock(file, who);
    expect(result.kind).toBe('acquired');
    expect(readLock(file)?.pid).toBe(process.pid);
  });

  it('takes over a lock whose PID now belongs to another process (start time differs)', async () => {
    const file = lockFile();
    const sleeper = spawn('sleep', ['30']);
    try {
      const real = processStartTime(sleeper.pid!);
      expect(real).not.toBeNull();
      writeFileSync(file, JSON.stringify({ ...who, pid: sleeper.pid, startTime: String(Number(real) - 100), url: null, startedAt: 'x' }));
      expect((await acquireCoreLock(file, who)).kind).toBe('acquired');
    } finally {
      sleeper.kill('SIGKILL');
    }
  });

  it('replaces an old unreadable lock file', async () => {
    const file = lockFile();
    writeFileSync(file, '{half');
    const { utimesSync } = await import('node:fs');
    utimesSync(file, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    expect((await acquireCoreLock(file, who)).kind).toBe('acquired');
  });

  it('reads a lock file only when every field has its type (extra fields dropped)', () => {
    const good = { pid: 42, startTime: null, owner: 'electron', dataDir: '/d', url: null, version: '1', startedAt: 'now' };
    expect(parseLockInfo({ ...good, extra: true })).toEqual(good);
    expect(parseLockInfo({ ...good, startTime: '7', url: 'http://127.0.0.1:9090' })).toMatchObject({ startTime: '7', url: 'http://127.0.0.1:9090' });
    for (const bad of [null, 'x', [], { ...good, pid: 1.5 }, { ...good, pid: '42' }, { ...good, owner: 'other' }, { ...good, url: 1 }, { ...good, version: undefined }, { ...good, dataDir: null }]) {
      expect(parseLockInfo(bad)).toBeNull();
    }
  });
});
