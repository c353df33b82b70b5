/**
 * Downloads from ModelScope against a local fake of its hub API (test/support/fake-modelscope.ts):
 * search and listing in ModelScope's shapes, a download through the same resumable, verified
 * transfer as Hugging Face's (imported for real: stories260K plus random padding), pause and
 * resume from the written bytes, a corrupted byte caught by the listing's Sha256, a mirror, and
 * clear errors for a missing repository, an unknown source and a malformed repository id.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { DownloadSummary, HubSource } from '../../src/shared/contract/index.js';
import { calls as contractCalls } from '../../src/shared/contract/index.js';
import { openDatabase, type Db } from '../../src/core/store/database.js';
import { ModelsRepo } from '../../src/core/store/repositories/models-repo.js';
import { DownloadsRepo } from '../../src/core/store/repositories/downloads-repo.js';
import { ModelLibrary } from '../../src/core/models/library.js';
import { DownloadManager, type DownloadManagerOptions } from '../../src/core/downloads/manager.js';
import { HuggingFaceHub } from '../../src/core/downloads/huggingface-hub.js';
import { ModelScopeHub } from '../../src/core/downloads/modelscope-hub.js';
import { FakeModelScope } from '../support/fake-modelscope.js';
import type { FakeFile } from '../support/fake-hub.js';
import { requirePart, sharedModel } from '../support/system.js';
import { transferThreadScript } from '../support/transfer-thread.js';
import { tempHome } from '../support/cli.js';

const GGUF = sharedModel('stories260K/stories260K.gguf');
const REPO = 'aima-test/stories260K-GGUF';
const FILE = 'stories260K-Q8_0.gguf';
let padded: Buffer;
let ms: FakeModelScope;
let transferThread = '';

function repoFiles(): FakeFile[] {
  return [
    { path: 'README.md', content: Buffer.from('# stories260K\n'), lfs: false },
    { path: FILE, content: padded, lfs: true },
    { path: 'sub/stories260K-F16.gguf', content: readFileSync(GGUF), lfs: true },
  ];
}

beforeAll(async () => {
  transferThread = await transferThreadScript();
  if (!existsSync(GGUF)) return;
  padded = Buffer.concat([readFileSync(GGUF), randomBytes(5 * 1024 * 1024 + 4321)]);
  ms = await FakeModelScope.start({ [REPO]: repoFiles(), 'other/bert-base': [{ path: 'model.bin', content: Buffer.from('x'), lfs: true }] });
});
afterAll(async () => {
  await ms?.close();
});

interface Rig {
  dir: string;
  db: Db;
  manager: DownloadManager;
  library: ModelLibrary;
}
const rigs: Rig[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) {
    await r.manager.close();
    r.db.close();
  }
  if (ms) Object.assign(ms.faults, { fail5xx: 0, dropAfterBytes: null, dropTimes: 0, throttleBps: null, corruptOffset: null });
});

function rig(opts: Partial<DownloadManagerOptions> & { endpoint?: string; defaultSource?: () => HubSource } = {}): Rig {
  const dir = tempHome('aima-ms-');
  const db = openDatabase(path.join(tempHome('aima-ms-db-'), 'aima.db'));
  const library = new ModelLibrary(new ModelsRepo(db), path.join(dir, 'models'), () => undefined);
  const manager = new DownloadManager({
    repo: new DownloadsRepo(db),
    // Hugging Face unreachable on purpose: nothing here may go there.
    hubs: { huggingface: new HuggingFaceHub({ endpoint: 'http://127.0.0.1:9' }), modelscope: new ModelScopeHub({ endpoint: opts.endpoint ?? ms.url }) },
    defaultSource: opts.defaultSource ?? (() => 'modelscope'),
    library,
    downloadsDir: path.join(dir, 'downloads'),
    modelsDir: path.join(dir, 'models'),
    emit: () => undefined,
    chunkBytes: 1024 * 1024,
    singleStreamBytes: 1024 * 1024,
    retry: { baseMs: 20, maxMs: 200, maxAttempts: 5 },
    persistEveryMs: 100,
    progressEveryMs: 50,
    transferThread,
    ...opts,
  });
  const r = { dir, db, manager, library };
  rigs.push(r);
  return r;
}

async function waitFor(r: Rig, id: string, states: DownloadSummary['state'][], timeoutMs = 30_000): Promise<DownloadSummary> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = r.manager.list().find((d) => d.id === id);
    if (s && states.includes(s.state)) return s;
    if (Date.now() > deadline) throw new Error(`download ${id} did not reach ${states.join('|')} (now ${s?.state}: ${s?.error ?? ''})`);
    await new Promise((res) => setTimeout(res, 20));
  }
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('ModelScope search and listing', () => {
  it('searches with a libraries criterion (PUT /api/v1/dolphin/models) and maps owner/name, downloads, stars, tags', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const r = rig();
    const hits = await r.manager.hub().search('stories', 'gguf', 10);
    expect(hits).toEqual([{ id: REPO, downloads: 42, likes: 7, lastModified: '2026-01-01T00:00:00.000Z', tags: ['gguf', 'text-generation'] }]);
    expect(ms.searches.at(-1)).toMatchObject({ Name: 'stories', PageSize: 10, PageNumber: 1, Criterion: [{ category: 'libraries', predicate: 'contains', values: ['gguf'] }] });
    // No filter: the non-GGUF repository is found too.
    expect((await r.manager.hub('modelscope').search('', '', 10)).map((h) => h.id).sort()).toEqual([REPO, 'other/bert-base']);
  });

  it("lists a repository's blobs with sizes and ModelScope's Sha256, on master, without .gitattributes or folders", async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const r = rig();
    const listing = await r.manager.files(REPO);
    expect(listing).toMatchObject({ source: 'modelscope', repo: REPO, revision: 'master' });
    expect(listing.files.map((f) => f.path).sort()).toEqual(['README.md', FILE, 'sub/stories260K-F16.gguf']);
    expect(listing.files.find((f) => f.path === FILE)).toEqual({ path: FILE, size: padded.length, sha256: sha256(padded) });
    expect(listing.files.find((f) => f.path === 'README.md')!.sha256).toBe(sha256(Buffer.from('# stories260K\n')));
    expect(listing.groups.filter((g) => !g.companion).map((g) => g.quant).sort()).toEqual(['F16', 'Q8_0']);
    expect(ms.log.at(-1)!.path).toBe(`/api/v1/models/${REPO}/repo/files`);
  });

  it('a repository ModelScope does not have is a clear not-found error naming ModelScope and the fix', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const r = rig();
    const err = await r.manager.start({ repo: 'nobody/missing-model' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'not-found' });
    expect((err as Error).message).toMatch(/Could not list the files of nobody\/missing-model on ModelScope: not found on ModelScope \(404\) \(model nobody\/missing-model not exists\)/);
    expect((err as { fix: string }).fix).toMatch(/owner\/name as on modelscope\.cn.*master/);
    expect(r.manager.list()).toEqual([]);
  });
});

describe('ModelScope downloads', () => {
  it('downloads over parallel Range requests through the CDN redirect, verifies the sha256 and imports under models/modelscope; never a HEAD', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const r = rig();
    ms.log.length = 0;
    const started = await r.manager.start({ repo: REPO, files: ['Q8_0'], name: 'ms-q8' });
    expect(started).toMatchObject({ source: 'modelscope', revision: 'master' });
    const done = await waitFor(r, started.id, ['completed', 'failed']);
    expect(done.error).toBeUndefined();
    expect(done).toMatchObject({ state: 'completed', source: 'modelscope', modelName: 'ms-q8', bytesDone: padded.length });
    const final = path.join(r.dir, 'models', 'modelscope', 'aima-test', 'stories260K-GGUF', FILE);
    expect(sha256(readFileSync(final))).toBe(sha256(padded));
    expect(r.library.list().find((m) => m.name === 'ms-q8')).toMatchObject({ kind: 'llm', format: 'gguf', path: final });
    // The transfer's chunks, one Range request each (plus the one-byte probe of the file API, bytes=0-0).
    const chunks = Math.ceil(padded.length / (1024 * 1024));
    expect(ms.log.filter((l) => l.range === 'bytes=0-0')).toHaveLength(2);
    expect(ms.rangeStarts(FILE).filter((s) => s > 0).sort((a, b) => a - b)).toEqual(Array.from({ length: chunks - 1 }, (_, i) => (i + 1) * 1024 * 1024));
    expect(ms.log.filter((l) => l.method === 'HEAD')).toEqual([]);
    expect(ms.log.some((l) => l.path.startsWith('/cdn-lfs/'))).toBe(true);
    expect(readdirSync(path.join(r.dir, 'downloads'))).toEqual([]);
  });

  it('a small file served directly by the file API (no redirect) is verified too; a whole-repo download keeps the folder layout', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const r = rig();
    const s = await r.manager.start({ repo: REPO, files: ['README.md', 'sub/stories260K-F16.gguf'] });
    const done = await waitFor(r, s.id, ['completed', 'failed']);
    expect(done.error).toBeUndefined();
    expect(done.files.every((f) => f.verified)).toBe(true);
    const root = path.join(r.dir, 'models', 'modelscope', 'aima-test', 'stories260K-GGUF');
    expect(readFileSync(path.join(root, 'README.md'), 'utf8')).toBe('# stories260K\n');
    expect(r.library.list()[0]!.path).toBe(path.join(root, 'sub', 'stories260K-F16.gguf'));
  });

  it('pauses and resumes from the written bytes, not from 0', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const r = rig({ connections: 1 });
    ms.faults.throttleBps = 2 * 1024 * 1024;
    const s = await r.manager.start({ repo: REPO, files: [FILE] });
    for (;;) {
      if (r.manager.list()[0]!.bytesDone > 1.5 * 1024 * 1024) break;
      await new Promise((res) => setTimeout(res, 20));
    }
    const paused = await r.manager.pause(s.id);
    expect(paused.state).toBe('paused');
    expect(paused.bytesDone).toBeGreaterThan(1.5 * 1024 * 1024);
    ms.faults.throttleBps = null;
    const before = ms.log.length;
    // Asking for the same files again resumes that download.
    const again = await r.manager.start({ repo: REPO, files: [FILE] });
    expect(again.id).toBe(s.id);
    const done = await waitFor(r, s.id, ['completed', 'failed']);
    expect(done.state).toBe('completed');
    const starts = ms.log.slice(before).filter((l) => l.method === 'GET' && l.range && l.range !== 'bytes=0-0' && l.path.startsWith('/cdn-lfs/')).map((l) => Number(/bytes=(\d+)-/.exec(l.range!)![1]));
    expect(Math.min(...starts)).toBeGreaterThan(1024 * 1024);
  });

  it('a corrupted byte fails verification naming the file and both hashes: nothing imported, the partial deleted; a resume fetches it again', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const r = rig();
    ms.faults.corruptOffset = 2 * 1024 * 1024 + 11;
    const s = await r.manager.start({ repo: REPO, files: [FILE], name: 'corrupt' });
    const failed = await waitFor(r, s.id, ['completed', 'failed']);
    expect(failed.state).toBe('failed');
    expect(failed.error).toContain(`${FILE} failed verification: expected sha256 ${sha256(padded)} (as ModelScope lists it), got `);
    expect(failed.error).toMatch(/got [0-9a-f]{64}\. The corrupt file was deleted; nothing was imported/);
    expect(r.library.list()).toEqual([]);
    expect(existsSync(path.join(r.dir, 'downloads', s.id, `${FILE}.part`))).toBe(false);
    expect(existsSync(path.join(r.dir, 'models', 'modelscope'))).toBe(false);
    ms.faults.corruptOffset = null;
    await r.manager.resume(s.id);
    expect(await waitFor(r, s.id, ['completed', 'failed'])).toMatchObject({ state: 'completed', modelName: 'corrupt' });
  });

  it('retries 5xx answers and dropped connections on the ModelScope path too', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const r = rig();
    ms.faults.fail5xx = 2;
    ms.faults.dropAfterBytes = 200_000;
    ms.faults.dropTimes = 2;
    const s = await r.manager.start({ repo: REPO, files: [FILE] });
    const done = await waitFor(r, s.id, ['completed', 'failed']);
    expect(done.error).toBeUndefined();
    expect(done.state).toBe('completed');
  });

  it('works unchanged against a mirror: every request goes to the mirror, none to the default endpoint', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const mirror = await FakeModelScope.start({ [REPO]: repoFiles() });
    try {
      ms.log.length = 0;
      const r = rig({ endpoint: mirror.url + '/' });
      const s = await r.manager.start({ repo: REPO, files: ['sub/stories260K-F16.gguf'] });
      expect((await waitFor(r, s.id, ['completed', 'failed'])).state).toBe('completed');
      expect(mirror.log.map((l) => `${l.method} ${l.path.split('?')[0]!.split('/').slice(0, 4).join('/')}`)).toEqual(expect.arrayContaining(['GET /api/v1/models', 'GET /cdn-lfs/aima-test/stories260K-GGUF']));
      expect(ms.log).toEqual([]);
    } finally {
      await mirror.close();
    }
  });

  it('the source is per download: the same repository id on Hugging Face is another download, and a download records its source', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const r = rig({ defaultSource: () => 'huggingface' });
    // The default (Hugging Face) is unreachable here: the error names it and its variable.
    await expect(r.manager.start({ repo: REPO, files: [FILE] })).rejects.toThrow(/127\.0\.0\.1:9 is unreachable/);
    const s = await r.manager.start({ repo: REPO, files: [FILE], source: 'modelscope' });
    expect(s.source).toBe('modelscope');
    await waitFor(r, s.id, ['completed']);
    expect(r.manager.list().map((d) => d.source)).toEqual(['modelscope']);
  });
});

describe('bad input', () => {
  it('an unknown source and a repository id in the wrong form are refused at the contract, naming the choices and the form', () => {
    const start = contractCalls['downloads.start'].params;
    const unknown = start.safeParse({ repo: REPO, source: 'github' });
    expect(unknown.success).toBe(false);
    expect(unknown.error!.issues[0]).toMatchObject({ path: ['source'], message: 'a source is one of: huggingface, modelscope' });
    const search = contractCalls['hub.search'].params.safeParse({ query: 'x', source: 'hf' });
    expect(search.error!.issues[0]!.message).toBe('a source is one of: huggingface, modelscope');
    for (const bad of ['qwen', 'a/b/c', '../x', 'owner/']) {
      const r = contractCalls['hub.files'].params.safeParse({ repo: bad, source: 'modelscope' });
      expect(r.success, bad).toBe(false);
      expect(r.error!.issues[0]!.message, bad).toMatch(/a repository id looks like owner\/name|no "\." or "\.\." parts/);
    }
  });
});
