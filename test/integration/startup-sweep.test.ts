/**
 * What a core start cleans up after a crash: the temporary folder of a copy import killed with
 * SIGKILL mid-copy, and partial downloads no download job owns — while a paused download's
 * partial file (resumable) is kept.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { createCore, type Core } from '../../src/core/core.js';
import { DownloadsRepo } from '../../src/core/store/repositories/downloads-repo.js';
import { aimaBin, tempHome } from '../support/cli.js';
import { buildGguf, GT } from '../support/model-fixtures.js';
import { waitFor } from '../support/services.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  while (cleanups.length) await cleanups.pop()!();
});

async function core(dataDir: string): Promise<Core> {
  const c = await createCore({ dataDir, host: 'serve' });
  cleanups.push(() => c.close({ stopServices: true }));
  return c;
}

/** Captures what the core writes to stderr (its log lines) while `fn` runs. */
async function stderrOf<T>(fn: () => Promise<T>): Promise<{ value: T; text: string }> {
  let text = '';
  const real = process.stderr.write.bind(process.stderr);
  vi.spyOn(process.stderr, 'write').mockImplementation(((chunk: string | Uint8Array, ...rest: unknown[]) => {
    text += String(chunk);
    return (real as (...a: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stderr.write);
  const value = await fn();
  vi.restoreAllMocks();
  return { value, text };
}

const killPid = (pid: number) => {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
};

describe('core start sweeps what a crash left behind', () => {
  it('a copy import killed with SIGKILL mid-copy leaves models/.importing-<id>/; the next core start removes it and says so', async () => {
    const home = tempHome('aima-sweep-');
    const work = tempHome('aima-sweep-src-');
    // A valid GGUF header, made 3 GiB by a sparse tail: the copy takes seconds, the source no disk.
    const src = path.join(work, 'big.gguf');
    writeFileSync(src, buildGguf({ kv: [['general.architecture', { type: GT.STRING, value: 'llama' }]] }));
    truncateSync(src, 3 * 1024 ** 3);

    // The CLI starts a background core and asks it to import; the core is what gets killed.
    const cli: ChildProcess = spawn(process.execPath, [aimaBin, 'model', 'import', '--copy', src, '--name', 'big'], { env: { ...process.env, AIMA_HOME: home }, stdio: 'ignore' });
    cleanups.push(() => void cli.kill('SIGKILL'));
    const models = path.join(home, 'models');
    const tmpDir = await waitFor(
      () => {
        const name = existsSync(models) ? readdirSync(models).find((n) => n.startsWith('.importing-')) : undefined;
        if (!name) return null;
        const dir = path.join(models, name);
        const files = readdirSync(dir);
        return files.length > 0 && statSync(path.join(dir, files[0]!)).size > 0 ? dir : null;
      },
      'a copy in progress',
      30_000,
    );
    const lock = JSON.parse(readFileSync(path.join(home, 'core.lock'), 'utf8')) as { pid: number };
    cleanups.push(() => killPid(lock.pid));
    process.kill(lock.pid, 'SIGKILL');
    await waitFor(() => {
      try {
        process.kill(lock.pid, 0);
        return false;
      } catch {
        return true;
      }
    }, 'the core to die');
    expect(existsSync(tmpDir)).toBe(true);

    const { text } = await stderrOf(() => core(home));
    expect(existsSync(tmpDir)).toBe(false);
    expect(readdirSync(models).filter((n) => n.startsWith('.'))).toEqual([]);
    expect(text).toContain(`removed ${tmpDir}`);
    expect(text).toMatch(/unfinished (copy )?import/);
  }, 60_000);

  it('a partial download no job owns is removed at core start; a paused download keeps its partial file', async () => {
    const home = tempHome('aima-sweep-');
    const c1 = await core(home);
    const owned = randomUUID();
    new DownloadsRepo(c1.db).create({
      id: owned,
      source: 'huggingface',
      repo: 'someone/model',
      revision: 'main',
      wantedName: null,
      files: [{ path: 'model.gguf', size: 1000, sha256: null, blobId: null }],
      chunks: [{ path: 'model.gguf', idx: 0, start: 0, length: 1000, written: 0 }],
    });
    new DownloadsRepo(c1.db).setState(owned, 'paused');
    await c1.close();
    cleanups.pop();
    const downloads = path.join(home, 'downloads');
    const ownedPart = path.join(downloads, owned, 'model.gguf.part');
    mkdirSync(path.dirname(ownedPart), { recursive: true });
    writeFileSync(ownedPart, Buffer.alloc(400, 1));
    const orphanDir = path.join(downloads, randomUUID());
    mkdirSync(path.join(orphanDir, 'sub'), { recursive: true });
    writeFileSync(path.join(orphanDir, 'sub', 'weights.gguf.part'), Buffer.alloc(400, 2));

    const { value: c2, text } = await stderrOf(() => core(home));
    expect(existsSync(orphanDir)).toBe(false);
    expect(text).toContain(`removed ${orphanDir}`);
    expect(text).toMatch(/partial download/);
    expect(readFileSync(ownedPart)).toEqual(Buffer.alloc(400, 1));
    expect(text).not.toContain(owned);
    expect(c2.api).toBeDefined();
    const [d] = await c2.api['downloads.list']({});
    expect(d).toMatchObject({ id: owned, state: 'paused' });
  });
});
