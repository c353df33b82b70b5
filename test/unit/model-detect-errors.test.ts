/**
 * Path and folder failures of model detection, and model names: every case must end in a
 * ModelImportError with the right code and a message that names the problem and the fix.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, linkSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { detectModel, ModelImportError, suggestModelName, validateModelName } from '../../src/core/models/detect/index.js';
import { fsErrorToImportError } from '../../src/core/models/detect/errors.js';
import { requirePart, sharedModel } from '../support/system.js';
import { tempRoot } from '../support/model-fixtures.js';

const STORIES = sharedModel('stories260K/stories260K.gguf');
const tmp = tempRoot('errors');
afterAll(() => tmp.cleanup());

async function importError(p: string, signal?: AbortSignal): Promise<ModelImportError> {
  const err = await detectModel(p, { signal }).then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ModelImportError);
  return err as ModelImportError;
}

describe('paths', () => {
  test('a missing path', async () => {
    const err = await importError(path.join(tmp.dir, 'nope', 'model.gguf'));
    expect(err.code).toBe('path-missing');
    expect(err.message).toMatch(/does not exist\. Check the path/);
  });

  test('a ".." segment is refused before the path is normalised, even when the target exists', async () => {
    tmp.file('inside/x.gguf', 'GGUF');
    for (const p of [`${tmp.dir}/inside/../inside/x.gguf`, '../etc/passwd', 'models\\..\\secret']) {
      const err = await importError(p);
      expect(err.code).toBe('path-traversal');
      expect(err.message).toContain('without ".."');
    }
    // Dots inside a name are not a traversal.
    const named = tmp.file('v1..2/model..gguf', 'junk');
    expect((await importError(named)).code).toBe('gguf-bad-magic');
  });

  test('control characters and empty paths are refused', async () => {
    expect((await importError(`${tmp.dir}/a\u0000b`)).code).toBe('invalid-path');
    expect((await importError(`${tmp.dir}/a\nb`)).message).toContain('\\x0a');
    expect((await importError('   ')).code).toBe('invalid-path');
  });

  test('shell metacharacters in a real path are just characters (no shell is involved)', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(STORIES));
    const dir = path.join(tmp.dir, "we$ird; `name` & 'quotes'");
    mkdirSync(dir);
    symlinkSync(STORIES, path.join(dir, 'm.gguf'));
    expect((await detectModel(path.join(dir, 'm.gguf'))).format).toBe('gguf');
  });

  test('a symlink loop, as the input and inside a folder', async () => {
    const a = path.join(tmp.dir, 'loop-a');
    const b = path.join(tmp.dir, 'loop-b');
    symlinkSync(b, a);
    symlinkSync(a, b);
    const err = await importError(a);
    expect(err.code).toBe('symlink-loop');
    expect(err.message).toMatch(/symlink loop.*Replace the link/);

    // Inside a folder the looping entry is skipped with a warning; the folder still fails only
    // because nothing else in it is a model.
    const dir = path.join(tmp.dir, 'loopdir');
    mkdirSync(dir);
    symlinkSync(path.join(dir, 'self'), path.join(dir, 'self'));
    symlinkSync(dir, path.join(dir, 'parent')); // a folder link back to itself: walked once
    const inner = await importError(dir);
    expect(inner.code).toBe('unrecognised');
  });

  test('permission denied', async () => {
    // As root (these CI machines) chmod 000 does not stop reads, so the real case runs only for
    // other users; the mapping from EACCES/EPERM is checked directly either way.
    if (process.getuid?.() !== 0) {
      const f = tmp.file('secret/model.gguf', 'GGUF');
      chmodSync(f, 0o000);
      const err = await importError(f);
      expect(err.code).toBe('permission-denied');
      chmodSync(f, 0o644);
    }
    for (const code of ['EACCES', 'EPERM']) {
      const err = fsErrorToImportError(Object.assign(new Error('denied'), { code }), '/m/model.gguf');
      expect(err.code).toBe('permission-denied');
      expect(err.message).toMatch(/may not read "\/m\/model\.gguf".*chmod a\+r/);
    }
  });

  test('a FIFO or a socket is never opened: refused as input, skipped inside a folder', async () => {
    const fifo = path.join(tmp.dir, 'pipe.gguf');
    execFileSync('mkfifo', [fifo]);
    const err = await importError(fifo); // opening a FIFO would hang: this test would time out
    expect(err.code).toBe('not-a-regular-file');
    expect(err.message).toContain('named pipe');

    const dir = path.join(tmp.dir, 'withpipe');
    mkdirSync(dir);
    execFileSync('mkfifo', [path.join(dir, 'model.onnx')]);
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(path.join(dir, 'sock'), resolve));
    try {
      const inner = await importError(dir);
      expect(inner.code).toBe('unrecognised');
    } finally {
      server.close();
    }
  });
});

describe('folders', () => {
  test('nothing recognisable: lists what was found and what AIMA imports', async () => {
    tmp.file('junk/notes.txt', 'hello');
    tmp.file('junk/photo.jpg', 'xx');
    const err = await importError(path.join(tmp.dir, 'junk'));
    expect(err.code).toBe('unrecognised');
    expect(err.message).toMatch(/found: notes\.txt, photo\.jpg\).*Pick a \.gguf file/);
    const empty = path.join(tmp.dir, 'empty');
    mkdirSync(empty);
    expect((await importError(empty)).message).toContain('found: no files');
  });

  test('an unknown single file names what it looks like', async () => {
    const err = await importError(tmp.file('archive.bin', Buffer.from([0x1f, 0x8b, 8, 0, 0, 0])));
    expect(err.code).toBe('unrecognised');
    expect(err.message).toMatch(/gzip archive.*Extract it first/);
  });

  test('two different GGUFs are ambiguous', async () => {
    tmp.file('two/a.gguf', 'GGUF');
    tmp.file('two/b.gguf', 'GGUF');
    const err = await importError(path.join(tmp.dir, 'two'));
    expect(err.code).toBe('ambiguous-folder');
    expect(err.message).toContain('Pick the one .gguf file');
  });

  test('more than 10,000 entries: folder-too-large', async () => {
    const dir = path.join(tmp.dir, 'huge');
    mkdirSync(dir);
    // Hard links to one empty file: ten times faster to create here than 10,001 new files.
    writeFileSync(path.join(dir, '0'), '');
    for (let i = 1; i <= 10_000; i++) linkSync(path.join(dir, '0'), path.join(dir, String(i)));
    const err = await importError(dir);
    expect(err.code).toBe('folder-too-large');
    expect(err.message).toContain("Pick the model's own folder");
  });

  test('folders deeper than 4 levels are not walked (with a warning)', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(STORIES));
    tmp.file('deep/1/2/3/4/5/deep.txt', 'x');
    symlinkSync(STORIES, path.join(tmp.dir, 'deep', 'm.gguf'));
    tmp.file('deep/1/2/3/4/shallow.txt', 'x');
    const d = await detectModel(path.join(tmp.dir, 'deep'));
    expect(d.files).toContain('1/2/3/4/shallow.txt');
    expect(d.files).not.toContain('1/2/3/4/5/deep.txt');
    expect(d.warnings.join(' ')).toContain('more than 4 levels deep');
  });

  test('an aborted signal rejects with code aborted', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(STORIES));
    const ac = new AbortController();
    ac.abort();
    expect((await importError(STORIES, ac.signal)).code).toBe('aborted');
  });
});

describe('model names', () => {
  test('valid names are trimmed and returned', () => {
    expect(validateModelName('  llama3.1:8b-q4_K_M ')).toBe('llama3.1:8b-q4_K_M');
    expect(validateModelName('a'.repeat(64))).toHaveLength(64);
  });

  test.each([
    ['', /empty/],
    ['a'.repeat(65), /65 characters long; the limit is 64/],
    ['.hidden', /starts with "\."/],
    ['-rf', /starts with "-"/],
    ['my model', /contains a space/],
    ['a/b', /contains "\/" \(a path separator\)/],
    ['a\\b', /contains "\\" \(a path separator\)/],
    ['x;rm', /contains ";" \(a shell metacharacter\)/],
    ['$(id)', /contains "\$" \(a shell metacharacter\)/],
    ['tab\tname', /control character \\x09/],
    ['modèle', /contains "è"/],
  ])('%j is rejected', (name, why) => {
    let err: unknown;
    try {
      validateModelName(name);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ModelImportError);
    expect((err as ModelImportError).code).toBe('invalid-name');
    expect((err as ModelImportError).message).toMatch(why);
    expect((err as ModelImportError).message).toContain('Use 1–64 characters: letters A–Z a–z, digits 0–9, ".", "_", ":" and "-"');
  });

  test('suggested names always validate', () => {
    const base = { isDirectory: false, kind: 'llm' as const };
    const meta = (name: string | undefined) => ({ format: 'gguf', name }) as never;
    const cases: Array<[string, string | undefined, string]> = [
      ['/m/Meta-Llama-3-8B-Instruct.Q4_K_M.gguf', undefined, 'meta-llama-3-8b-instruct.q4_k_m'],
      ['/m/x.gguf', 'Qwen2.5 7B Instruct (GGUF) — Ünïcode', 'qwen2.5-7b-instruct-gguf-unicode'],
      ['/m/model-00001-of-00004.gguf', undefined, 'model'],
      ['/m/.hidden.gguf', '...', 'hidden'],
      ['/m/$(rm -rf).gguf', undefined, 'rm-rf'],
      ['/m/日本語.gguf', undefined, 'llm-model'],
      ['/m/x.gguf', 'x'.repeat(100), 'x'.repeat(64)],
    ];
    for (const [realPath, name, expected] of cases) {
      const suggested = suggestModelName({ ...base, realPath, metadata: meta(name) });
      expect(suggested).toBe(expected);
      expect(validateModelName(suggested)).toBe(suggested);
    }
  });
});
