/**
 * The download manager: fetches files of a repository on a model hub (Hugging Face or ModelScope,
 * through the ModelHub adapters of hub.ts) with parallel Range requests,
 * records every chunk's written bytes in SQLite (after an fdatasync) so a pause, a crash or a lost
 * network never costs more than the last second, retries transient failures with exponential
 * backoff, verifies each file (sha256, or a git blob SHA-1, as the hub publishes) and hands the finished model to the
 * library's import. It owns every transition of the state machine drawn in contract/downloads.ts.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { copyFile, mkdir, open, realpath, rename, rm, statfs, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { DownloadStartParams, DownloadSummary, FitHint, HubFile, HubFiles, HubSource, ModelSummary } from '../../shared/contract/index.js';
import { AimaError } from '../../shared/errors.js';
import type { OperationContext } from '../operations/operations.js';
import type { ChunkRow, DownloadRow, DownloadsRepo } from '../store/repositories/downloads-repo.js';
import type { ImportRequest } from '../models/library.js';
import type { ModelHub, ModelHubs } from './hub.js';
import { FileProgress } from './file-progress.js';
import { resolveFile } from './http-range.js';
import { PrefixHasher } from './prefix-hasher.js';
import { describeProxy, proxyFor } from './proxy.js';
import { globToRegExp, groupGgufFiles } from './quant.js';
import { DEFAULT_RETRY, withRetry, type RetryPolicy } from './retry.js';
import { DiskFullError } from './transfer.js';
import { createTransfers } from './transfer-thread.js';

export type { RetryPolicy } from './retry.js';

const MiB = 1024 * 1024;

export interface DownloadManagerOptions {
  repo: DownloadsRepo;
  /** One adapter per source; the same transfer serves both. */
  hubs: ModelHubs;
  /** The source of a search or download that names none (the `downloadSource` setting). */
  defaultSource?: () => HubSource;
  library: { import(req: ImportRequest, op: OperationContext): Promise<ModelSummary>; list(): ModelSummary[] };
  /** `<dataDir>/downloads`: partial files, `<id>/<path>.part`. */
  downloadsDir: string;
  /** `<dataDir>/models`: finished files, `<hub folder: hf|modelscope>/<owner>/<name>/<path>`. */
  modelsDir: string;
  emit(summary: DownloadSummary): void;
  /** Range size for big files (default 16 MiB). */
  chunkBytes?: number;
  /** Parallel connections per file (default 4). */
  connections?: number;
  /** Files up to this size use one stream (default 32 MiB). */
  singleStreamBytes?: number;
  retry?: Partial<RetryPolicy>;
  /** How often written bytes are synced and recorded (default 1000 ms). */
  persistEveryMs?: number;
  /** How often progress events go out while running (default 250 ms). */
  progressEveryMs?: number;
  /** Free bytes where partial files go (a seam for tests). */
  freeBytes?: (dir: string) => Promise<number>;
  /** A size-based fit hint for GGUF variants (hardware/fit needs model facts a listing lacks). */
  fitVerdict?: (sizeBytes: number) => FitHint;
  /** The transfer thread's script (`out/threads/download-transfer.mjs`, built by scripts/build-node.mjs). */
  transferThread: string;
  log?: (line: string) => void;
}

type StopReason = 'pause' | 'cancel' | 'shutdown';

interface Job {
  controller: AbortController;
  stopReason: StopReason | null;
  done: Promise<void>;
  /** `written` is refreshed from the running transfer's shared progress (`refresh`). */
  chunks: ChunkRow[];
  /** The file being transferred: its chunks (objects of `chunks`) and their shared progress. */
  live: { chunks: ChunkRow[]; progress: FileProgress } | null;
  retries: number;
  samples: Array<{ t: number; bytes: number }>;
}

/** Copies the transfer's shared byte counts into the job's chunks. */
function refresh(job: Job): void {
  if (!job.live) return;
  job.live.chunks.forEach((c, i) => (c.written = job.live!.progress.get(i)));
}

/** Thrown for a checksum mismatch: final, not retried. */
class VerifyError extends Error {}

function diskFullError(dir: string, need: number, free: number | null): AimaError {
  return new AimaError(
    'unavailable',
    free === null
      ? `Disk full: the disk holding ${dir} ran out of space while downloading. The partial download is kept.`
      : `Not enough disk space: the download needs ${fmt(need)} more, ${fmt(free)} is free in ${dir}.`,
    free === null ? 'Free some space, then resume the download.' : 'Free some space (or pick a smaller quantization), then try again.',
  );
}

function fmt(bytes: number): string {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = bytes;
  while (v >= 1024 && i < u.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${u[i]}`;
}

export class DownloadManager {
  private readonly jobs = new Map<string, Job>();
  private readonly retry: RetryPolicy;
  private readonly chunkBytes: number;
  private readonly connections: number;
  private readonly singleStreamBytes: number;
  private closed = false;

  constructor(private readonly o: DownloadManagerOptions) {
    this.retry = { ...DEFAULT_RETRY, ...o.retry };
    this.chunkBytes = o.chunkBytes ?? 16 * MiB;
    this.connections = o.connections ?? 4;
    this.singleStreamBytes = o.singleStreamBytes ?? 32 * MiB;
  }

  /**
   * Removes what `<downloadsDir>` holds that no download owns: the partial files (`<id>/`) of a
   * download whose row is gone (a cancel cut short by a crash) or completed (its files were moved
   * out before the folder's removal). A row in any other state — paused, failed, or one resumed
   * below — owns its folder, which a resume continues from. Called at core start, before
   * {@link resumeInterrupted}, under the core lock. One log line each.
   */
  sweepOrphanPartials(): void {
    let entries: string[];
    try {
      entries = readdirSync(this.o.downloadsDir);
    } catch {
      return; // no downloads folder yet
    }
    for (const name of entries) {
      const row = this.o.repo.get(name);
      if (row && row.state !== 'completed' && row.state !== 'cancelled') continue;
      const where = path.join(this.o.downloadsDir, name);
      const why = row ? `its download (${row.repo}) is ${row.state}` : 'no download owns it';
      try {
        rmSync(where, { recursive: true, force: true });
        this.o.log?.(`removed ${where}, a partial download: ${why}`);
      } catch (err) {
        this.o.log?.(`could not remove ${where}, a partial download ${why} (${(err as Error).message}); delete it by hand`);
      }
    }
  }

  /** Carries on with downloads a previous run left unfinished (crash, restart). */
  resumeInterrupted(): void {
    for (const d of this.o.repo.list()) {
      if (d.state === 'queued' || d.state === 'downloading' || d.state === 'verifying' || d.state === 'importing') this.launch(d.id);
    }
  }

  // ---- Hub ----------------------------------------------------------------------------------

  /** The adapter for a source (the default source when none is named). */
  hub(source?: HubSource): ModelHub {
    return this.o.hubs[source ?? this.o.defaultSource?.() ?? 'huggingface'];
  }

  async files(repo: string, revision?: string, source?: HubSource): Promise<HubFiles> {
    const hub = this.hub(source);
    const rev = revision ?? hub.defaultRevision;
    const files = await hub.listFiles(repo, rev);
    return { source: hub.source, repo, revision: rev, files, totalBytes: files.reduce((s, f) => s + f.size, 0), groups: groupGgufFiles(files, this.o.fitVerdict) };
  }

  // ---- API ----------------------------------------------------------------------------------

  list(): DownloadSummary[] {
    return this.o.repo.list().map((d) => this.summary(d));
  }

  get(id: string): DownloadSummary {
    return this.summary(this.row(id));
  }

  async start(p: DownloadStartParams): Promise<DownloadSummary> {
    const hub = this.hub(p.source);
    const revision = p.revision ?? hub.defaultRevision;
    const listing = await hub.listFiles(p.repo, revision);
    const chosen = selectFiles(p.repo, listing, p.files, p.include, hub.source);
    const wanted = chosen.map((f) => f.path).sort();
    // The same files again: resume that download instead of starting over.
    for (const d of this.o.repo.list()) {
      if (d.source !== hub.source || d.repo !== p.repo || d.revision !== revision) continue;
      const have = this.o.repo.files(d.id).map((f) => f.path);
      if (have.length !== wanted.length || !have.every((x, i) => x === wanted[i])) continue;
      if (d.state !== 'completed') return d.state === 'paused' || d.state === 'failed' ? this.resume(d.id) : this.summary(d);
      // Downloaded before: nothing to fetch while the files are still there.
      if (have.every((f) => existsSync(path.join(this.repoDir(d), f)))) return this.summary(d);
      this.o.repo.delete(d.id);
    }
    const total = chosen.reduce((s, f) => s + f.size, 0);
    await this.checkSpace(total);
    const id = randomUUID();
    const chunks: ChunkRow[] = [];
    for (const f of chosen) chunks.push(...this.plan(f));
    this.o.repo.create({
      id,
      source: hub.source,
      repo: p.repo,
      revision,
      wantedName: p.name ?? null,
      files: chosen.map((f) => ({ path: f.path, size: f.size, sha256: f.sha256 ?? null, blobId: f.blobId ?? null })),
      chunks,
    });
    this.launch(id);
    return this.get(id);
  }

  async pause(id: string): Promise<DownloadSummary> {
    const d = this.row(id);
    const job = this.jobs.get(id);
    if (job) await this.stop(job, 'pause');
    else if (d.state === 'queued' || d.state === 'failed') this.setState(id, 'paused');
    else if (d.state !== 'paused') throw new AimaError('conflict', `The download is ${d.state}; only a running download can be paused.`);
    return this.get(id);
  }

  async resume(id: string): Promise<DownloadSummary> {
    const ending = this.jobs.get(id);
    // A job that failed or was stopped records its state before it has closed its thread and
    // files: a resume in between (a quick click on Resume) waits for that, then starts anew.
    if (ending && (ending.stopReason || this.o.repo.get(id)?.state === 'failed')) await ending.done;
    const d = this.row(id);
    if (this.jobs.has(id)) return this.get(id);
    if (d.state === 'completed') return this.get(id);
    this.setState(id, 'queued');
    this.launch(id);
    return this.get(id);
  }

  async cancel(id: string): Promise<{ id: string; cancelled: boolean }> {
    const d = this.o.repo.get(id);
    if (!d) return { id, cancelled: false };
    const job = this.jobs.get(id);
    if (job) await this.stop(job, 'cancel');
    const last = this.summary(d);
    await rm(path.join(this.o.downloadsDir, id), { recursive: true, force: true });
    this.o.repo.delete(id);
    this.o.emit({ ...last, state: 'cancelled', speedBps: 0, etaSeconds: null, updatedAt: new Date().toISOString() });
    return { id, cancelled: d.state !== 'completed' };
  }

  /** Stops every transfer, keeping states as they are so the next start resumes them. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.jobs.values()].map((j) => this.stop(j, 'shutdown')));
  }

  // ---- internals ----------------------------------------------------------------------------

  private row(id: string): DownloadRow {
    const d = this.o.repo.get(id);
    if (!d || d.state === 'cancelled') throw new AimaError('not-found', `No download with id ${id}.`, 'List downloads with `downloads.list` (or the Downloads panel).');
    return d;
  }

  private plan(f: HubFile): ChunkRow[] {
    if (f.size <= this.singleStreamBytes) return [{ path: f.path, idx: 0, start: 0, length: f.size, written: 0 }];
    const out: ChunkRow[] = [];
    for (let start = 0, idx = 0; start < f.size; start += this.chunkBytes, idx++) {
      out.push({ path: f.path, idx, start, length: Math.min(this.chunkBytes, f.size - start), written: 0 });
    }
    return out;
  }

  private async checkSpace(needBytes: number): Promise<void> {
    await mkdir(this.o.downloadsDir, { recursive: true });
    const free = await (this.o.freeBytes ?? defaultFreeBytes)(this.o.downloadsDir);
    if (needBytes > free) throw diskFullError(this.o.downloadsDir, needBytes, free);
  }

  private async stop(job: Job, reason: StopReason): Promise<void> {
    job.stopReason ??= reason;
    job.controller.abort(new AimaError('cancelled', `Download ${reason === 'pause' ? 'paused' : reason === 'cancel' ? 'cancelled' : 'stopped'}.`));
    await job.done;
  }

  private setState(id: string, state: DownloadRow['state'], extra: { error?: string | null; modelName?: string | null } = {}): void {
    this.o.repo.setState(id, state, extra);
    const d = this.o.repo.get(id);
    if (d) this.o.emit(this.summary(d));
  }

  private summary(d: DownloadRow): DownloadSummary {
    const job = this.jobs.get(d.id);
    if (job) refresh(job);
    const chunks = job?.chunks ?? this.o.repo.chunks(d.id);
    const files = this.o.repo.files(d.id).map((f) => {
      const done = f.verified ? f.size : chunks.filter((c) => c.path === f.path).reduce((s, c) => s + Math.min(c.written, c.length), 0);
      return { path: f.path, size: f.size, done, verified: f.verified };
    });
    const bytesTotal = files.reduce((s, f) => s + f.size, 0);
    const bytesDone = files.reduce((s, f) => s + f.done, 0);
    let speedBps = 0;
    if (job && job.samples.length >= 2) {
      const a = job.samples[0]!;
      const b = job.samples[job.samples.length - 1]!;
      if (b.t > a.t) speedBps = Math.max(0, ((b.bytes - a.bytes) * 1000) / (b.t - a.t));
    }
    const running = d.state === 'downloading';
    return {
      id: d.id,
      source: d.source,
      repo: d.repo,
      revision: d.revision,
      state: d.state,
      files,
      bytesDone,
      bytesTotal,
      speedBps: running ? Math.round(speedBps) : 0,
      etaSeconds: running && speedBps > 0 ? Math.ceil((bytesTotal - bytesDone) / speedBps) : null,
      ...(d.error ? { error: d.error } : {}),
      ...((d.modelName ?? d.wantedName) ? { modelName: (d.modelName ?? d.wantedName)! } : {}),
      retries: job?.retries ?? 0,
      createdAt: new Date(d.createdAt).toISOString(),
      updatedAt: new Date(d.updatedAt).toISOString(),
    };
  }

  private launch(id: string): void {
    if (this.closed || this.jobs.has(id)) return;
    const job: Job = {
      controller: new AbortController(),
      stopReason: null,
      done: Promise.resolve(),
      chunks: this.o.repo.chunks(id).map((c) => ({ ...c })),
      live: null,
      retries: 0,
      samples: [],
    };
    this.jobs.set(id, job);
    job.done = this.run(id, job)
      .catch((err: unknown) => this.o.log?.(`download ${id}: ${(err as Error).message}`))
      .finally(() => {
        this.jobs.delete(id);
        const d = this.o.repo.get(id);
        if (d && job.stopReason !== 'cancel') this.o.emit(this.summary(d));
      });
  }

  private async run(id: string, job: Job): Promise<void> {
    const signal = job.controller.signal;
    const d = this.row(id);
    const hub = this.o.hubs[d.source];
    const files = this.o.repo.files(id);
    const partDir = path.join(this.o.downloadsDir, id);
    const handles = new Map<string, FileHandle>();
    const bytesNow = () => {
      refresh(job);
      return job.chunks.reduce((s, c) => s + c.written, 0);
    };
    // One per job: the transfer thread starts with the job's first file and ends with the job.
    const transfers = createTransfers(this.o.transferThread);
    let persisting = Promise.resolve();
    const persist = () =>
      (persisting = persisting.then(async () => {
        // Capture first, sync second, record third: a recorded byte is always on disk.
        refresh(job);
        const snapshot = job.chunks.map((c) => ({ path: c.path, idx: c.idx, written: c.written }));
        await Promise.all([...handles.values()].map((h) => h.datasync().catch(() => undefined)));
        this.o.repo.saveWritten(id, snapshot);
      }));
    const persistTimer = setInterval(() => void persist(), this.o.persistEveryMs ?? 1000);
    const progressTimer = setInterval(() => {
      job.samples.push({ t: Date.now(), bytes: bytesNow() });
      while (job.samples.length > 2 && job.samples[0]!.t < Date.now() - 3000) job.samples.shift();
      const row = this.o.repo.get(id);
      if (row?.state === 'downloading') this.o.emit(this.summary(row));
    }, this.o.progressEveryMs ?? 250);
    job.samples.push({ t: Date.now(), bytes: bytesNow() });

    try {
      this.setState(id, 'downloading');
      const pending = files.filter((f) => !f.verified);
      const remaining = pending.reduce((s, f) => s + f.size, 0) - job.chunks.filter((c) => pending.some((f) => f.path === c.path)).reduce((s, c) => s + c.written, 0);
      await this.checkSpace(remaining);
      await mkdir(partDir, { recursive: true });
      for (const f of pending) {
        if (this.o.repo.get(id)?.state !== 'downloading') this.setState(id, 'downloading');
        const chunks = job.chunks.filter((c) => c.path === f.path).sort((a, b) => a.start - b.start);
        const partPath = path.join(partDir, `${f.path}.part`);
        await mkdir(path.dirname(partPath), { recursive: true });
        const fh = await open(partPath, existsSync(partPath) ? 'r+' : 'w+', 0o644);
        handles.set(f.path, fh);
        if ((await fh.stat()).size !== f.size) await fh.truncate(f.size).catch((e: NodeJS.ErrnoException) => this.rethrowDisk(e, partDir));
        const resolvedUrl = await withRetry(this.retry, signal, this.retryHooks(job, bytesNow), () => this.resolve(id, d, f.path, signal));
        const checksum = hub.checksum(f, resolvedUrl);
        if (!checksum) this.o.log?.(`download: ${hub.label} publishes no checksum for ${f.path}; it is not verified`);
        const progress = FileProgress.create(chunks);
        job.live = { chunks, progress };
        const hasher = checksum ? new PrefixHasher(partPath, f.size, progress, checksum.algo) : null;
        // Its own stop too: a transfer that fails for good ends the hasher waiting for more bytes.
        const stopHashing = new AbortController();
        const hashing = hasher?.run(AbortSignal.any([signal, stopHashing.signal]));
        hashing?.catch(() => undefined);
        try {
          await transfers.run(
            {
              url: resolvedUrl.url,
              headers: hub.authHeaders(),
              partPath,
              connections: this.connections,
              wholeFile: chunks.length === 1,
              retry: this.retry,
            },
            progress,
            signal,
            this.retryHooks(job, bytesNow),
          );
        } catch (e) {
          stopHashing.abort();
          if (e instanceof DiskFullError) throw diskFullError(partDir, 0, null);
          throw e;
        } finally {
          refresh(job);
          job.live = null;
        }
        await persist();
        if (checksum && hashing) {
          this.setState(id, 'verifying');
          const got = await hashing;
          if (got !== checksum.expected) {
            await fh.close();
            handles.delete(f.path);
            await rm(partPath, { force: true });
            this.o.repo.resetFile(id, f.path);
            for (const c of chunks) c.written = 0;
            throw new VerifyError(
              `${f.path} failed verification: expected ${checksum.algo} ${checksum.expected} (as ${hub.label} lists it), got ${got}. The corrupt file was deleted; nothing was imported. Resume to download it again.`,
            );
          }
        }
        this.o.repo.setVerified(id, f.path, true);
        await fh.close();
        handles.delete(f.path);
      }

      // Every file verified: move them into the models folder, then import.
      this.setState(id, 'importing');
      const repoDir = this.repoDir(d);
      for (const f of files) {
        const from = path.join(partDir, `${f.path}.part`);
        const to = path.join(repoDir, f.path);
        if (existsSync(from)) {
          await mkdir(path.dirname(to), { recursive: true });
          await moveFile(from, to).catch((e: NodeJS.ErrnoException) => this.rethrowDisk(e, repoDir));
        } else if (!existsSync(to)) {
          this.o.repo.resetFile(id, f.path);
          throw new Error(`${f.path} vanished before it could be imported; resume to download it again.`);
        }
      }
      await rm(partDir, { recursive: true, force: true });
      const target = importTarget(repoDir, files);
      const model = await this.importModel(target, d.wantedName, signal);
      this.setState(id, 'completed', { modelName: model.name });
    } catch (err) {
      if (signal.aborted) {
        if (job.stopReason === 'pause') this.o.repo.setState(id, 'paused');
        // cancel: the row goes away; shutdown: the state stays so the next start resumes.
        return;
      }
      const message = err instanceof AimaError ? [err.message, err.fix].filter(Boolean).join(' ') : (err as Error).message;
      this.o.repo.setState(id, 'failed', { error: message });
    } finally {
      clearInterval(persistTimer);
      clearInterval(progressTimer);
      await transfers.close();
      await persist().catch(() => undefined);
      for (const h of handles.values()) await h.close().catch(() => undefined);
      if (job.stopReason === 'cancel') await rm(partDir, { recursive: true, force: true });
    }
  }

  private async resolve(id: string, d: DownloadRow, filePath: string, signal: AbortSignal) {
    const hub = this.o.hubs[d.source];
    const rev = this.o.repo.get(id)?.commitSha ?? d.revision;
    const r = await resolveFile(hub.fileUrl(d.repo, rev, filePath), hub.authHeaders(), AbortSignal.any([signal, AbortSignal.timeout(60_000)]), 30_000, hub.probe);
    if (r.commit) this.o.repo.setCommit(id, r.commit);
    const route = proxyFor(r.url);
    if (route) this.o.log?.(`download ${id}: ${filePath} comes through ${describeProxy(route)}`);
    return r;
  }

  private rethrowDisk(e: NodeJS.ErrnoException, dir: string): never {
    if (e.code === 'ENOSPC' || e.code === 'EDQUOT') throw diskFullError(dir, 0, null);
    throw e;
  }

  /** Retries count toward the job's total and go to the log. */
  private retryHooks(job: Job, progress: () => number) {
    return {
      progress,
      onRetry: (message: string, attempt: number, delayMs: number) => {
        job.retries++;
        this.o.log?.(`download: ${message}; retry ${attempt} in ${delayMs} ms`);
      },
    };
  }

  private repoDir(d: DownloadRow): string {
    const hub = this.o.hubs[d.source];
    const [owner, name] = d.repo.split('/') as [string, string];
    return path.join(this.o.modelsDir, hub.folder, owner, d.revision === hub.defaultRevision ? name : `${name}@${d.revision}`);
  }

  private async importModel(target: string, name: string | null, signal: AbortSignal): Promise<ModelSummary> {
    const real = await realpath(target);
    const existing = this.o.library.list().find((m) => m.rootPath === real || m.sourcePath === target);
    if (existing) return existing;
    return this.o.library.import({ path: target, mode: 'link', ...(name ? { name } : {}) }, { signal, report: () => undefined });
  }
}

async function defaultFreeBytes(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}

async function moveFile(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    await copyFile(from, to);
    await rm(from, { force: true });
  }
}

/** What the library imports: the one file, the first shard of the main GGUF variant, or the repo folder (Hugging Face / sherpa-onnx layouts). */
export function importTarget(repoDir: string, files: Array<{ path: string; size: number }>): string {
  if (files.length === 1) return path.join(repoDir, files[0]!.path);
  // GGUF beside a README or a vision projector: the model is the main variant's first shard.
  const main = groupGgufFiles(files.map((f) => ({ path: f.path, size: f.size }))).find((g) => !g.companion);
  if (main) return path.join(repoDir, main.files[0]!);
  return repoDir;
}

/** Picks the files a download asks for, or explains what to ask for. */
export function selectFiles(repo: string, listing: HubFile[], files: string[] | undefined, include: string | undefined, source: HubSource = 'huggingface'): HubFile[] {
  if (listing.length === 0) throw new AimaError('not-found', `${repo} has no files.`);
  let chosen: HubFile[];
  if (files && files.length > 0) {
    chosen = [];
    for (const want of files) {
      const exact = listing.find((f) => f.path === want);
      if (exact) {
        chosen.push(exact);
        continue;
      }
      // A quantization name (`Q4_K_M`) picks that GGUF variant with all its shards.
      const group = groupGgufFiles(listing).find((g) => !g.companion && g.quant.toLowerCase() === want.toLowerCase());
      if (group) {
        chosen.push(...listing.filter((f) => group.files.includes(f.path)));
        continue;
      }
      throw new AimaError('not-found', `${repo} has no file "${want}".`, `Files: ${listing.slice(0, 20).map((f) => f.path).join(', ')}${listing.length > 20 ? ', …' : ''}.`);
    }
  } else if (include) {
    const re = globToRegExp(include);
    chosen = listing.filter((f) => re.test(f.path));
    if (chosen.length === 0) throw new AimaError('not-found', `No file of ${repo} matches "${include}".`, `Files: ${listing.slice(0, 20).map((f) => f.path).join(', ')}.`);
  } else {
    const groups = groupGgufFiles(listing).filter((g) => !g.companion);
    if (groups.length > 1) {
      throw new AimaError(
        'bad-request',
        `${repo} has ${groups.length} GGUF variants; pick one.`,
        `For example \`aima model pull ${source === 'modelscope' ? '--source modelscope ' : ''}${repo}:${groups[0]!.quant}\`. Variants: ${groups.map((g) => `${g.quant} (${fmt(g.sizeBytes)})`).join(', ')}.`,
      );
    }
    chosen = groups.length === 1 ? listing.filter((f) => groups[0]!.files.includes(f.path)) : listing;
  }
  return [...new Map(chosen.map((f) => [f.path, f])).values()];
}
