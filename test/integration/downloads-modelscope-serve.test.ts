/**
 * `aima model pull --source modelscope` against `aima serve` whose MODELSCOPE_ENDPOINT is a local
 * fake of ModelScope's API (Hugging Face unreachable on purpose): a pull with progress, the
 * downloadSource setting as the default, and the refusals a user can meet (an unknown source, a
 * repository id in the wrong form, a repository ModelScope does not have), each naming the fix.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { runAima, startServe, tempHome, type ServeHandle } from '../support/cli.js';
import { FakeModelScope } from '../support/fake-modelscope.js';
import { requirePart, sharedModel } from '../support/system.js';

const GGUF = sharedModel('stories260K/stories260K.gguf');
const REPO = 'aima-test/stories260K-GGUF';
let ms: FakeModelScope;
let serve: ServeHandle | undefined;
let env: Record<string, string>;
let q8: Buffer;

beforeAll(async () => {
  if (!existsSync(GGUF)) return;
  q8 = Buffer.concat([readFileSync(GGUF), randomBytes(2 * 1024 * 1024)]);
  ms = await FakeModelScope.start({ [REPO]: [{ path: 'stories260K-Q8_0.gguf', content: q8, lfs: true }, { path: 'stories260K-F16.gguf', content: readFileSync(GGUF), lfs: true }] });
  env = { AIMA_HOME: tempHome('aima-ms-pull-'), MODELSCOPE_ENDPOINT: ms.url, HF_ENDPOINT: 'http://127.0.0.1:9' };
  serve = await startServe(env);
});
afterAll(async () => {
  await serve?.stop();
  await ms?.close();
});

describe('aima model pull --source modelscope', () => {
  it('pulls from MODELSCOPE_ENDPOINT with progress, verified, into models/modelscope; the model is in the library', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const r = await runAima(['model', 'pull', '--source', 'modelscope', `${REPO}:Q8_0`, '--name', 'from-ms', '--json'], env, 60_000);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/Downloading 1 file \([\d.]+ MiB\) from aima-test\/stories260K-GGUF on ModelScope\. Ctrl\+C pauses\./);
    expect(r.stderr).toMatch(/aima-test\/stories260K-GGUF \[#+\] 100%/);
    const d = JSON.parse(r.stdout) as { state: string; source: string; revision: string; modelName: string; bytesDone: number };
    expect(d).toMatchObject({ state: 'completed', source: 'modelscope', revision: 'master', modelName: 'from-ms', bytesDone: q8.length });
    const list = JSON.parse((await runAima(['model', 'list', '--json'], env)).stdout) as Array<{ name: string; path: string }>;
    expect(list.find((m) => m.name === 'from-ms')!.path).toBe(path.join(env.AIMA_HOME!, 'models', 'modelscope', 'aima-test', 'stories260K-GGUF', 'stories260K-Q8_0.gguf'));
    expect(ms.log.some((l) => l.path === `/api/v1/models/${REPO}/repo/files`)).toBe(true);
  });

  it('without --source the downloadSource setting decides', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const before = await runAima(['model', 'pull', `${REPO}:F16`], env, 60_000);
    // The default is Hugging Face, unreachable here: the error says so and names HF_ENDPOINT.
    expect(before.code).toBe(1);
    expect(before.stderr).toMatch(/127\.0\.0\.1:9 is unreachable.*HF_ENDPOINT/s);
    try {
      const set = await runAima(['settings', 'set', 'downloadSource', 'modelscope'], env);
      expect(set.code, set.stderr).toBe(0);
      const r = await runAima(['model', 'pull', `${REPO}:F16`, '--name', 'by-setting', '--json'], env, 60_000);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ state: 'completed', source: 'modelscope', modelName: 'by-setting' });
      const bad = await runAima(['settings', 'set', 'downloadSource', 'github'], env);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/downloadSource: a source is one of: huggingface, modelscope/);
    } finally {
      await runAima(['settings', 'set', 'downloadSource', 'huggingface'], env);
    }
  });

  it('refuses an unknown source, a repository id in the wrong form and a repository ModelScope lacks, each with the fix', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const unknown = await runAima(['model', 'pull', '--source', 'github', REPO], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/Unknown source "github"\..*Sources are: huggingface, modelscope/s);
    const form = await runAima(['model', 'pull', '--source', 'modelscope', 'qwen2.5-0.5b'], env);
    expect(form.code).toBe(1);
    expect(form.stderr).toMatch(/"qwen2\.5-0\.5b" is not a ModelScope repository id\..*owner\/name as on modelscope\.cn/s);
    const missing = await runAima(['model', 'pull', '--source', 'modelscope', 'nobody/missing-model'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/not found on ModelScope \(404\).*Check the repository id/s);
  });
});
