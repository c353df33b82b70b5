/**
 * The download manager against a local fake Hub: search and listing, parallel chunked downloads
 * verified and imported for real (stories260K plus random padding, so detection succeeds), pause
 * and resume from the written bytes, retries of 5xx and dropped connections, a corrupted byte
 * caught by the checksum, the disk-space precheck, a full disk (size-limited tmpfs) and a mirror.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { DownloadSummary, ModelSummary } from '../../src/shared/contract/index.js';
import { openDatabase, type Db } from '../../src/core/store/database.js';
import { ModelsRepo } from '../../src/core/store/repositories/models-repo.js';
import { DownloadsRepo } from '../../src/core/store/repositories/downloads-repo.js';
import { ModelLibrary } from '../../src/core/models/library.js';
import { DownloadManager, type DownloadManagerOptions } from '../../src/core/downloads/manager.js';
import { HuggingFaceHub } from '../../src/core/downloads/huggingface-hub.js';
import { ModelScopeHub } from '../../src/core/downloads/modelscope-hub.js';
import { FakeHub, type FakeFile } from '../support/fake-hub.js';
import { requirePart, sharedModel } from '../support/system.js';
import { transferThreadScript } from '../support/transfer-thread.js';
import { tempHome } from '../support/cli.js';

const GGUF = sharedModel('stories260K/stories260K.gguf');
const REPO = 'aima-test/stories260K-GGUF';
let padded: Buffer;
let hub: FakeHub;

function repoFiles(): FakeFile[] {
  return [
    { path: 'README.md', content: Buffer.from('# stories260K\nA tiny llama for tests.\n'), lfs: false },
    { path: 'stories260K-Q8_0.gguf', content: padded, lfs: true },
    { path: 'stories260K-F16.gguf', content: readFileSync(GGUF), lfs: true },
    { path: 'big/big-Q4_K_M-00001-of-00002.gguf', content: Buffer.alloc(1000), lfs: true },
    { path: 'big/big-Q4_K_M-00002-of-00002.gguf', content: Buffer.alloc(500), lfs: true },
    { path: 'mmproj-stories-F16.gguf', content: Buffer.alloc(10), lfs: true },
  ];
}

beforeAll(async () => {
  if (!existsSync(GGUF)) return;
  // A real model followed by ~5 MB of random bytes: big enough for several chunks, still a valid GGUF.
  padded = Buffer.concat([readFileSync(GGUF), randomBytes(5 * 1024 * 1024 + 12345)]);
  hub = await FakeHub.start({ [REPO]: repoFiles(), 'other/unrelated-model': [{ path: 'x.txt', content: Buffer.from('x'), lfs: false }] });
});
afterAll(async () => {
  await hub?.close();
});

interface Rig {
  dir: string;
  db: Db;
  manager: DownloadManager;
  library: ModelLibrary;
  events: DownloadSummary[];
  models: () => ModelSummary[];
}
/** The transfer thread's script, bundled from the source (what the core runs, built). */
let transferThread = '';
beforeAll(async () => {
  transferThread = await transferThreadScript();
});
const rigs: Rig[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) {
    await r.manager.close();
    r.db.close();
  }
  if (hub) Object.assign(hub.faults, { fail5xx: 0, dropAfterBytes: null, dropTimes: 0, throttleBps: null, corruptOffset: null });
});

/** A repo that reports every state it records, at the moment it records it (before the manager's next step). */
class ObservedRepo extends DownloadsRepo {
  constructor(
    db: Db,
    private readonly onState: (id: string, state: DownloadSummary['state']) => void,
  ) {
    super(db);
  }
  override setState(...args: Parameters<DownloadsRepo['setState']>): void {
    super.setState(...args);
    this.onState(args[0], args[1]);
  }
}

function rig(opts: Partial<DownloadManagerOptions> & { dir?: string; endpoint?: string; onState?: (id: string, state: DownloadSummary['state']) => void } = {}): Rig {
  const dir = opts.dir ?? tempHome('aima-dl-');
  const db = openDatabase(path.join(tempHome('aima-dl-db-'), 'aima.db'));
  const library = new ModelLibrary(new ModelsRepo(db), path.join(dir, 'models'), () => undefined);
  const events: DownloadSummary[] = [];
  const manager = new DownloadManager({
    repo: opts.onState ? new ObservedRepo(db, opts.onState) : new DownloadsRepo(db),
    hubs: { huggingface: new HuggingFaceHub({ endpoint: opts.endpoint ?? hub.url }), modelscope: new ModelScopeHub({ endpoint: 'http://127.0.0.1:9' }) },
    library,
    downloadsDir: path.join(dir, 'downloads'),
    modelsDir: path.join(dir, 'models'),
    emit: (s) => events.push(s),
    chunkBytes: 1024 * 1024,
    singleStreamBytes: 1024 * 1024,
    retry: { baseMs: 20, maxMs: 200, maxAttempts: 5 },
    persistEveryMs: 100,
    progressEveryMs: 50,
    transferThread,
    ...opts,
  });
  const r = { dir, db, manager, library, events, models: () => library.list() };
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

describe('Hub search and listing', () => {
  it('searches, lists files with sizes and checksums, and groups GGUF quantizations (shards together)', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const r = rig();
    const hits = await new HuggingFaceHub({ endpoint: hub.url }).search('stories', 'gguf', 10);
    expect(hits.map((h) => h.id)).toEqual([REPO]);
    const listing = await r.manager.files(REPO);
    const q8 = listing.files.find((f) => f.path === 'stories260K-Q8_0.gguf')!;
    expect(q8).toMatchObject({ size: padded.length, sha256: sha256(padded) });
    expect(listing.files.find((f) => f.path === 'README.md')!.blobId).toMatch(/^[0-9a-f]{40}$/);
    const groups = listing.groups.map((g) => [g.quant, g.files.length, g.sizeBytes, g.companion]);
    expect(groups).toEqual([
      ['Q4_K_M', 2, 1500, false],
      ['F16', 1, readFileSync(GGUF).length, false],
      ['Q8_0', 1, padded.length, false],
      ['F16', 1, 10, true],
    ]);
  });
});

describe('downloads', () => {
  it('downloads a file over parallel Range requests, verifies it and imports it (link) under models/hf', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const r = rig();
    hub.log.length = 0;
    const started = await r.manager.start({ repo: REPO, files: ['Q8_0'], name: 'stories-q8' });
    const done = await waitFor(r, started.id, ['completed', 'failed']);
    expect(done.error).toBeUndefined();
    expect(done).toMatchObject({ state: 'completed', modelName: 'stories-q8', bytesDone: padded.length, bytesTotal: padded.length });
    const final = path.join(r.dir, 'models', 'hf', 'aima-test', 'stories260K-GGUF', 'stories260K-Q8_0.gguf');
    expect(sha256(readFileSync(final))).toBe(sha256(padded));
    const model = r.models().find((m) => m.name === 'stories-q8')!;
    expect(model).toMatchObject({ kind: 'llm', format: 'gguf', storage: 'link', path: final });
    // 6 chunks of 1 MiB, each its own Range request; nothing left in downloads/.
    const starts = hub.rangeStarts('stories260K-Q8_0.gguf').sort((a, b) => a - b);
    expect(starts).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => i * 1024 * 1024).filter((s) => s < padded.length));
    expect(readdirSync(path.join(r.dir, 'downloads'))).toEqual([]);
    expect(r.events.some((e) => e.state === 'downloading')).toBe(true);
  });

  it('verifies small non-LFS files by their git blob SHA-1', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const r = rig();
    const s = await r.manager.start({ repo: REPO, files: ['README.md', 'stories260K-F16.gguf'] });
    const done = await waitFor(r, s.id, ['completed', 'failed']);
    expect(done.error).toBeUndefined();
    expect(done.files.every((f) => f.verified)).toBe(true);
    // A README beside a GGUF: both land in the repo folder, the GGUF is what gets imported.
    expect(existsSync(path.join(r.dir, 'models', 'hf', 'aima-test', 'stories260K-GGUF', 'README.md'))).toBe(true);
    expect(r.models()[0]!.path).toBe(path.join(r.dir, 'models', 'hf', 'aima-test', 'stories260K-GGUF', 'stories260K-F16.gguf'));
  });

  it('pauses and resumes from the written bytes, not from 0', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const r = rig({ connections: 1 });
    hub.log.length = 0;
    hub.faults.throttleBps = 2 * 1024 * 1024;
    const s = await r.manager.start({ repo: REPO, files: ['stories260K-Q8_0.gguf'] });
    for (;;) {
      const now = r.manager.list()[0]!;
      if (now.bytesDone > 1.5 * 1024 * 1024) break;
      await new Promise((res) => setTimeout(res, 20));
    }
    const paused = await r.manager.pause(s.id);
    expect(paused.state).toBe('paused');
    const kept = paused.bytesDone;
    expect(kept).toBeGreaterThan(1.5 * 1024 * 1024);
    hub.faults.throttleBps = null;
    const before = hub.log.length;
    await r.manager.resume(s.id);
    const done = await waitFor(r, s.id, ['completed', 'failed']);
    expect(done.state).toBe('completed');
    const resumedStarts = hub.log.slice(before).filter((l) => l.method === 'GET' && l.range).map((l) => Number(/bytes=(\d+)-/.exec(l.range!)![1]));
    expect(Math.min(...resumedStarts)).toBeGreaterThan(1024 * 1024);
    expect(resumedStarts).not.toContain(0);
  });

  it('retries 5xx answers and dropped connections with backoff, and still verifies', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const r = rig();
    hub.faults.fail5xx = 3;
    hub.faults.dropAfterBytes = 300_000;
    hub.faults.dropTimes = 3;
    const s = await r.manager.start({ repo: REPO, files: ['stories260K-Q8_0.gguf'] });
    const done = await waitFor(r, s.id, ['completed', 'failed']);
    expect(done.error).toBeUndefined();
    expect(done.state).toBe('completed');
    expect(hub.log.filter((l) => l.status === 503)).toHaveLength(3);
    expect(r.events.at(-1)!.retries + r.events.reduce((m, e) => Math.max(m, e.retries), 0)).toBeGreaterThanOrEqual(6);
  });

  it('a corrupted byte fails verification: nothing imported, the corrupt partial deleted, a resume fetches it again', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const r = rig();
    hub.faults.corruptOffset = 3 * 1024 * 1024 + 7;
    const s = await r.manager.start({ repo: REPO, files: ['stories260K-Q8_0.gguf'], name: 'corrupt' });
    const failed = await waitFor(r, s.id, ['completed', 'failed']);
    expect(failed.state).toBe('failed');
    expect(failed.error).toMatch(/failed verification: expected sha256 [0-9a-f]{64} \(as Hugging Face lists it\), got [0-9a-f]{64}/);
    expect(r.models()).toEqual([]);
    expect(existsSync(path.join(r.dir, 'downloads', s.id, 'stories260K-Q8_0.gguf.part'))).toBe(false);
    expect(existsSync(path.join(r.dir, 'models', 'hf'))).toBe(false);
    expect(failed.bytesDone).toBe(0);
    hub.faults.corruptOffset = null;
    await r.manager.resume(s.id);
    const done = await waitFor(r, s.id, ['completed', 'failed']);
    expect(done).toMatchObject({ state: 'completed', modelName: 'corrupt' });
  });

  it('a resume the moment a download failed, while it still closes its thread and files, starts it again once they are closed', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    let resumed: Promise<DownloadSummary> | null = null;
    const r: Rig = rig({
      onState: (id, state) => {
        if (state !== 'failed' || resumed) return;
        hub.faults.corruptOffset = null;
        resumed = r.manager.resume(id);
      },
    });
    hub.faults.corruptOffset = 3 * 1024 * 1024 + 7;
    const s = await r.manager.start({ repo: REPO, files: ['stories260K-Q8_0.gguf'], name: 'quick' });
    await waitFor(r, s.id, ['completed', 'failed']);
    expect(resumed).not.toBeNull();
    await resumed;
    const done = await waitFor(r, s.id, ['completed']);
    expect(done).toMatchObject({ state: 'completed', modelName: 'quick' });
  });

  it('refuses a download larger than the free space before fetching a byte', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const r = rig({ freeBytes: async () => 1024 * 1024 });
    hub.log.length = 0;
    await expect(r.manager.start({ repo: REPO, files: ['stories260K-Q8_0.gguf'] })).rejects.toThrow(/Not enough disk space: the download needs 6\.\d MiB more, 1\.0 MiB is free/);
    expect(r.manager.list()).toEqual([]);
    expect(hub.log.filter((l) => l.path.includes('/resolve/') || l.path.includes('/cdn/'))).toEqual([]);
  });

  it('says "disk full" when the disk fills during the download (2 MiB tmpfs), keeps no half-registered model', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const mnt = tempHome('aima-dl-tmpfs-');
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mnt], { stdio: 'pipe' });
    } catch (err) {
      ctx.skip(`cannot mount a size-limited tmpfs (needs root and mount): ${(err as Error).message.split('\n')[0]}`);
      return;
    }
    try {
      const r = rig({ dir: mnt });
      // 1.1 MiB passes the precheck on an empty 2 MiB disk; then something else takes the space.
      hub.faults.throttleBps = 1024 * 1024;
      const s = await r.manager.start({ repo: REPO, files: ['stories260K-F16.gguf'], name: 'full' });
      await new Promise((res) => setTimeout(res, 200));
      try {
        writeFileSync(path.join(mnt, 'filler'), Buffer.alloc(1536 * 1024));
      } catch {
        // The filler itself may hit the limit: the disk is full either way.
      }
      const failed = await waitFor(r, s.id, ['completed', 'failed']);
      expect(failed.state).toBe('failed');
      expect(failed.error).toMatch(/Disk full/);
      expect(r.models()).toEqual([]);
      expect(existsSync(path.join(mnt, 'models', 'hf'))).toBe(false);
      await r.manager.close();
    } finally {
      execFileSync('umount', ['-l', mnt]);
    }
  });

  it('works unchanged against a mirror (HF_ENDPOINT): every request goes to the mirror', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const mirror = await FakeHub.start({ [REPO]: repoFiles() });
    try {
      hub.log.length = 0;
      const r = rig({ endpoint: mirror.url + '/' });
      const s = await r.manager.start({ repo: REPO, files: ['stories260K-F16.gguf'] });
      const done = await waitFor(r, s.id, ['completed', 'failed']);
      expect(done.state).toBe('completed');
      expect(mirror.log.some((l) => l.path.startsWith(`/${REPO}/resolve/`))).toBe(true);
      expect(hub.log.some((l) => l.path.includes('stories260K-F16'))).toBe(false);
    } finally {
      await mirror.close();
    }
  });

  it('asks to pick a variant when a GGUF repo has several, and cancel deletes partial files and the row', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const r = rig();
    await expect(r.manager.start({ repo: REPO })).rejects.toThrow(/has 3 GGUF variants; pick one/);
    hub.faults.throttleBps = 512 * 1024;
    const s = await r.manager.start({ repo: REPO, include: '*Q8_0*' });
    await new Promise((res) => setTimeout(res, 300));
    expect(existsSync(path.join(r.dir, 'downloads', s.id))).toBe(true);
    expect(await r.manager.cancel(s.id)).toEqual({ id: s.id, cancelled: true });
    expect(existsSync(path.join(r.dir, 'downloads', s.id))).toBe(false);
    expect(r.manager.list()).toEqual([]);
    expect(r.events.at(-1)!.state).toBe('cancelled');
  });
});
