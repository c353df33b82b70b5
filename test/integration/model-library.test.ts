/**
 * The model library through the core's API: imports by link and copy, removal, renames, cancel,
 * and the bad-input table — every bad input gets an error naming the problem and the fix, and
 * leaves the store (rows and files) exactly as it was.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, chownSync, copyFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createCore, type Core } from '../../src/core/core.js';
import { AimaError } from '../../src/shared/errors.js';
import { dispatchCall } from '../../src/core/api/dispatch.js';
import { requirePart, sharedModel } from '../support/system.js';
import { tempHome, runAima, aimaBin } from '../support/cli.js';
import { makeBadModelInputs } from '../support/bad-model-inputs.js';
import { spawn } from 'node:child_process';

const GGUF = sharedModel('stories260K/stories260K.gguf');
const WHISPER = sharedModel('whisper-tiny-en-olive/whisper_cpu_int8_0_model.onnx');
const VAD = sharedModel('silero-vad/silero_vad.onnx');

let core: Core;
let home: string;
let work: string;

beforeAll(async () => {
  home = tempHome('aima-models-');
  work = tempHome('aima-model-inputs-');
  core = await createCore({ dataDir: home, host: 'serve' });
});
afterAll(async () => {
  await core?.close();
});

const call = (name: string, params: unknown) => dispatchCall(core.api, name, params);
const snapshot = () => ({
  rows: core.db.prepare('SELECT id, name, path FROM models ORDER BY id').all(),
  files: existsSync(path.join(home, 'models')) ? readdirSync(path.join(home, 'models'), { recursive: true }).sort() : [],
});

async function expectRefused(params: Record<string, unknown>, code: AimaError['code'], problem: RegExp): Promise<AimaError> {
  const before = snapshot();
  let err: unknown;
  try {
    await call('models.import', params);
  } catch (e) {
    err = e;
  }
  expect(err, `import of ${JSON.stringify(params)} should fail`).toBeInstanceOf(AimaError);
  const e = err as AimaError;
  expect(e.code).toBe(code);
  expect(e.message).toMatch(problem);
  expect(e.fix, 'every error says what to do').toBeTruthy();
  expect(snapshot()).toEqual(before);
  return e;
}

describe('model library', () => {
  it('imports the real GGUF by link with metadata read from the file, and keeps the file on rm', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const m = (await call('models.import', { path: GGUF, name: 'stories' })) as { name: string; path: string; kind: string; metadata: Record<string, unknown>; storage: string };
    expect(m).toMatchObject({ name: 'stories', kind: 'llm', storage: 'link', path: GGUF });
    expect(m.metadata).toMatchObject({ architecture: 'llama', contextLength: 512, vocabSize: 512, layerCount: 5 });
    expect((await call('models.list', {})) as unknown[]).toHaveLength(1);
    const removed = await call('models.remove', { name: 'stories' });
    expect(removed).toMatchObject({ deletedFiles: false });
    expect(existsSync(GGUF)).toBe(true);
  });

  it('copies into the data directory with progress events, and rm deletes the copy', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(VAD));
    const events: { phase: string; done: number; total: number | null }[] = [];
    const off = core.events.on('operation.progress', (p) => p.id === 'copy-1' && events.push(p));
    const m = (await call('models.import', { path: VAD, name: 'vad', mode: 'copy', operationId: 'copy-1' })) as { path: string; kind: string; sizeBytes: number };
    off();
    expect(m.kind).toBe('vad');
    expect(m.path.startsWith(path.join(home, 'models'))).toBe(true);
    expect(readFileSync(m.path).equals(readFileSync(VAD))).toBe(true);
    expect(events.at(0)?.phase).toBe('running');
    expect(events.at(-1)).toMatchObject({ phase: 'done', done: m.sizeBytes, total: m.sizeBytes });
    const r = (await call('models.remove', { name: 'vad' })) as { deletedFiles: boolean };
    expect(r.deletedFiles).toBe(true);
    expect(existsSync(m.path)).toBe(false);
    expect(existsSync(VAD)).toBe(true);
  });

  it('a cancelled copy leaves no row and no files', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(WHISPER));
    const before = snapshot();
    const off = core.events.on('operation.progress', (p) => {
      if (p.id === 'cancel-me' && p.done > 0) core.operations.cancel('cancel-me');
    });
    const err = (await call('models.import', { path: WHISPER, mode: 'copy', operationId: 'cancel-me' }).catch((e: unknown) => e)) as AimaError;
    off();
    expect(err).toBeInstanceOf(AimaError);
    expect(err.code).toBe('cancelled');
    expect(snapshot()).toEqual(before);
  });

  it('renames, and refuses a taken or invalid name', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF) && existsSync(VAD));
    await call('models.import', { path: GGUF, name: 'a' });
    await call('models.import', { path: VAD, name: 'b' });
    await expect(call('models.rename', { name: 'a', newName: 'b' })).rejects.toMatchObject({ code: 'conflict' });
    await expect(call('models.rename', { name: 'a', newName: '../x' })).rejects.toMatchObject({ code: 'bad-request' });
    expect(await call('models.rename', { name: 'a', newName: 'story-llm' })).toMatchObject({ name: 'story-llm' });
    await expect(call('models.get', { name: 'a' })).rejects.toMatchObject({ code: 'not-found', fix: expect.stringContaining('story-llm') });
    await call('models.remove', { name: 'story-llm' });
    await call('models.remove', { name: 'b' });
  });
});

describe('bad input table (store unchanged every time)', () => {
  it('missing path', async () => {
    await expectRefused({ path: path.join(work, 'nope.gguf') }, 'not-found', /does not exist/);
  });

  it('unreadable file (permissions)', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const dir = tempHome('aima-locked-');
    const f = path.join(dir, 'locked.gguf');
    copyFileSync(GGUF, f);
    chmodSync(f, 0o600);
    chmodSync(dir, 0o755);
    if (process.getuid?.() !== 0) {
      chmodSync(f, 0);
      await expectRefused({ path: f }, 'forbidden', /permission denied/);
      return;
    }
    // Root reads every file, so run the real CLI (and the core it starts) as an unprivileged user.
    const userHome = tempHome('aima-nobody-');
    chownSync(userHome, 65534, 65534);
    const r = await runAs('nobody', ['model', 'import', f], userHome);
    await runAs('nobody', ['stop'], userHome);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('permission denied');
    expect(r.stderr).toContain('Give your user read access');
    const list = await runAs('nobody', ['model', 'list', '--json'], userHome);
    await runAs('nobody', ['stop'], userHome);
    expect(JSON.parse(list.stdout)).toEqual([]);
  });

  it('every other row through the core API: its error code, the problem, a fix', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF) && existsSync(VAD));
    for (const row of makeBadModelInputs(work, GGUF, VAD)) {
      if (row.afterDup) await call('models.import', { path: GGUF, name: 'dup' });
      await expectRefused({ path: row.path, ...(row.name ? { name: row.name } : {}) }, row.code, row.problem);
      if (row.afterDup) await call('models.remove', { name: 'dup' });
    }
  });

  it('the CLI shows the error as one line and exits non-zero', async () => {
    const cliHome = tempHome();
    const r = await runAima(['model', 'import', path.join(work, 'nope.gguf')], { AIMA_HOME: cliHome });
    await runAima(['stop'], { AIMA_HOME: cliHome });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^aima: ".*nope\.gguf" does not exist\. Check the path/m);
  });

  it('every row through the CLI: exit 1, the core\'s problem and fix on one stderr line, nothing stored', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF) && existsSync(VAD));
    const cliHome = tempHome();
    const env = { AIMA_HOME: cliHome };
    const rows = makeBadModelInputs(work, GGUF, VAD);
    try {
      let dup = false;
      for (const row of rows) {
        if (row.afterDup && !dup) dup = (await runAima(['model', 'import', GGUF, '--name', 'dup'], env)).code === 0;
        const r = await runAima(['model', 'import', row.path, ...(row.name ? ['--name', row.name] : [])], env);
        expect(r.code, row.row).toBe(1);
        const lines = r.stderr.split('\n').filter((l) => l.startsWith('aima: ') && !l.includes('warning'));
        expect(lines, row.row).toHaveLength(1);
        expect(lines[0], row.row).toMatch(row.problem);
        // The same refusal from the core, fix included, is what the line says.
        const core = await refusal({ path: row.path, ...(row.name ? { name: row.name } : {}) }, row.afterDup === true);
        expect(lines[0], row.row).toBe(`aima: ${core.message} ${core.fix}`);
      }
      // Nothing but the model the duplicate rows needed was ever stored.
      const listed = JSON.parse((await runAima(['model', 'list', '--json'], env)).stdout) as { name: string }[];
      expect(listed.map((m) => m.name)).toEqual(['dup']);
    } finally {
      await runAima(['stop'], env);
    }
  }, 180_000);
});

/** This file's in-process core's refusal of an import; with `dup`, while it holds the GGUF as "dup". */
async function refusal(params: Record<string, unknown>, dup: boolean): Promise<AimaError> {
  if (dup) await call('models.import', { path: GGUF, name: 'dup' });
  try {
    await call('models.import', params);
  } catch (e) {
    return e as AimaError;
  } finally {
    if (dup) await call('models.remove', { name: 'dup' });
  }
  throw new Error(`import of ${JSON.stringify(params)} should fail`);
}

/** Runs the CLI as another user (root only), through runuser: no shell, argv passed as is. */
function runAs(user: string, args: string[], home: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('runuser', ['-u', user, '--', 'env', `AIMA_HOME=${home}`, process.execPath, aimaBin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
