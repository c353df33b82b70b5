/**
 * The model library through the core's API: imports by link and copy, removal, renames, cancel,
 * and the bad-input table — every bad input gets an error naming the problem and the fix, and
 * leaves the store (rows and files) exactly as it was.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createCore, type Core } from '../../src/main/core/core.js';
import { AimaError } from '../../src/shared/errors.js';
import { dispatchCall } from '../../src/main/core/api/dispatch.js';
import { requirePart, sharedModel } from '../support/system.js';
import { tempHome, runAima, aimaBin } from '../support/cli.js';
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

  it('a folder with nothing recognisable', async () => {
    const dir = path.join(work, 'junk-folder');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'notes.txt'), 'hello');
    await expectRefused({ path: dir }, 'bad-request', /Nothing in .* is a model AIMA knows/);
  });

  it('GGUF with wrong magic, cut short, absurd counts, string past the end', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const good = readFileSync(GGUF);
    const variant = (name: string, bytes: Buffer) => {
      const f = path.join(work, name);
      writeFileSync(f, bytes);
      return f;
    };
    const wrongMagic = Buffer.from(good);
    wrongMagic.write('GGUX', 0);
    await expectRefused({ path: variant('magic.gguf', wrongMagic) }, 'bad-request', /GGUF/);
    const cut = variant('cut.gguf', good);
    truncateSync(cut, 200);
    await expectRefused({ path: cut }, 'bad-request', /declares \d+ tensors but only|cut short|truncated/i);
    const absurdTensors = Buffer.from(good);
    absurdTensors.writeBigUInt64LE(2n ** 60n, 8);
    await expectRefused({ path: variant('tensors.gguf', absurdTensors) }, 'bad-request', /tensor/i);
    const absurdKv = Buffer.from(good);
    absurdKv.writeBigUInt64LE(2n ** 40n, 16);
    await expectRefused({ path: variant('kv.gguf', absurdKv) }, 'bad-request', /metadata|key/i);
    // The first metadata key's string length (offset 24) pointing far past the end of the file.
    const longString = Buffer.from(good);
    longString.writeBigUInt64LE(BigInt(good.length * 10), 24);
    await expectRefused({ path: variant('string.gguf', longString) }, 'bad-request', /past the end|string/i);
  });

  it('a config.json that is not JSON', async () => {
    const dir = path.join(work, 'hf-bad-json');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'config.json'), '{"architectures": ["LlamaForCausalLM"],');
    writeFileSync(path.join(dir, 'model.safetensors'), safetensors({ w: { dtype: 'F16', shape: [2, 2], data_offsets: [0, 8] } }, 8));
    await expectRefused({ path: dir }, 'bad-request', /config\.json/);
  });

  it('a safetensors header that lies about its length', async () => {
    const dir = path.join(work, 'hf-lying');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ architectures: ['LlamaForCausalLM'], model_type: 'llama' }));
    const bytes = safetensors({ w: { dtype: 'F16', shape: [2, 2], data_offsets: [0, 8] } }, 8);
    bytes.writeBigUInt64LE(10n ** 12n, 0);
    writeFileSync(path.join(dir, 'model.safetensors'), bytes);
    await expectRefused({ path: dir }, 'bad-request', /header/i);
  });

  it('a name with shell metacharacters or a path separator', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    await expectRefused({ path: GGUF, name: 'x; rm -rf ~' }, 'bad-request', /shell metacharacter|space/);
    await expectRefused({ path: GGUF, name: 'a/b' }, 'bad-request', /path separator/);
    await expectRefused({ path: GGUF, name: '$(reboot)' }, 'bad-request', /shell metacharacter/);
  });

  it('a path with ..', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    await expectRefused({ path: path.dirname(GGUF) + '/../stories260K/stories260K.gguf' }, 'bad-request', /\.\./);
  });

  it('a symlink loop', async () => {
    const a = path.join(work, 'loop-a');
    const b = path.join(work, 'loop-b');
    symlinkSync(b, a);
    symlinkSync(a, b);
    await expectRefused({ path: a }, 'bad-request', /loop/);
  });

  it('a duplicate name, and the same file imported twice (also through a symlink)', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF) && existsSync(VAD));
    await call('models.import', { path: GGUF, name: 'dup' });
    await expectRefused({ path: VAD, name: 'dup' }, 'conflict', /already exists/);
    await expectRefused({ path: GGUF, name: 'dup2' }, 'conflict', /already imported as "dup"/);
    const link = path.join(work, 'link-to.gguf');
    symlinkSync(GGUF, link);
    await expectRefused({ path: link, name: 'dup3' }, 'conflict', /already imported as "dup"/);
    await call('models.remove', { name: 'dup' });
  });

  it('the CLI shows the error as one line and exits non-zero', async () => {
    const cliHome = tempHome();
    const r = await runAima(['model', 'import', path.join(work, 'nope.gguf')], { AIMA_HOME: cliHome });
    await runAima(['stop'], { AIMA_HOME: cliHome });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^aima: ".*nope\.gguf" does not exist\. Check the path/m);
  });
});

/** A small, valid safetensors file: 8-byte length, JSON header, data. */
function safetensors(header: Record<string, unknown>, dataBytes: number): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, Buffer.alloc(dataBytes)]);
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
