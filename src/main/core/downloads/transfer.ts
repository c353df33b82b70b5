/**
 * Fetches one file's missing chunks into its `.part` file: parallel Range requests, socket pieces
 * gathered into one writev per WRITE_BYTES, one write in flight per file, retries with backoff.
 * It knows nothing of SQLite or the core, so it runs on the transfer thread (transfer-thread.ts)
 * or, without a built thread entry, on the caller's event loop. Progress goes to a FileProgress in
 * shared memory after each write reaches the page cache.
 */
import { writevSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { fetchRange } from './http-range.js';
import type { FileProgress } from './file-progress.js';
import { withRetry, type RetryPolicy } from './retry.js';

const MiB = 1024 * 1024;
/**
 * Bytes gathered per file write: big enough for few syscalls, small enough that socket pieces die
 * young (4 MiB per connection got them promoted to V8's old generation, and GC took more CPU than
 * the transfer: 6.4 vs 3.8 CPU s per GiB in bench/downloads.mjs).
 */
const WRITE_BYTES = 1 * MiB;
/** Slow links flush by time, so a crash loses at most a moment of data. */
const FLUSH_EVERY_MS = 250;

export interface TransferPlan {
  /** Where the bytes are (resolved: the CDN location for LFS files). */
  url: string;
  headers: Record<string, string>;
  /** The `.part` file, already created at the file's full size. */
  partPath: string;
  /** Parallel connections. */
  connections: number;
  /** One chunk that is the whole file: a server ignoring Range (HTTP 200) is fine then. */
  wholeFile: boolean;
  retry: RetryPolicy;
}

export interface TransferHooks {
  onRetry(message: string, attempt: number, delayMs: number): void;
}

export interface TransferOptions {
  /**
   * Write with blocking calls. Right on the transfer thread, which has nothing else to do while a
   * write copies into the page cache (it skips the thread pool's hand-offs: ~0.2 CPU s per GiB
   * less); never on the core's event loop.
   */
  blockingWrites?: boolean;
}

/** The disk filled up (ENOSPC, EDQUOT, or a short write with nothing more accepted). */
export class DiskFullError extends Error {
  constructor() {
    super('no space left on device');
    this.name = 'DiskFullError';
  }
}

const isDiskFull = (e: unknown) => ['ENOSPC', 'EDQUOT'].includes((e as NodeJS.ErrnoException).code ?? '');

/** A positional writev, blocking or not; returns the bytes written. */
type Writev = (batch: Buffer[], at: number) => number | Promise<number>;

/** Writes `batch` (`total` bytes) at `at`, finishing short writes. */
async function writeFully(writev: Writev, batch: Buffer[], total: number, at: number): Promise<void> {
  let done = await writev(batch, at);
  if (done >= total) return;
  // A nearly full disk answers with a short write first, ENOSPC only on the next one.
  const all = Buffer.concat(batch);
  while (done < total) {
    const n = await writev([all.subarray(done)], at + done);
    if (n <= 0) throw new DiskFullError();
    done += n;
  }
}

export async function transferFile(plan: TransferPlan, progress: FileProgress, signal: AbortSignal, hooks: TransferHooks, opts: TransferOptions = {}): Promise<void> {
  const chunks = progress.chunks;
  const queue = chunks.map((_, i) => i).filter((i) => progress.get(i) < chunks[i]!.length);
  if (queue.length === 0) return;
  const fh = await open(plan.partPath, 'r+');
  // One write in flight per file: parallel pwritev calls on one file contend for its inode lock in
  // the kernel (perf with 4 connections: ~11 % of the download's CPU spinning in
  // rwsem_spin_on_owner); in turn they cost nothing in throughput, the page cache copy is the work.
  const writev: Writev = opts.blockingWrites ? (batch, at) => writevSync(fh.fd, batch, at) : async (batch, at) => (await fh.writev(batch, at)).bytesWritten;
  let writing: Promise<unknown> = Promise.resolve();
  const writeAt = (batch: Buffer[], total: number, at: number): Promise<void> => {
    const done = writing.then(() => writeFully(writev, batch, total, at));
    writing = done.catch(() => undefined);
    return done;
  };
  const retryHooks = { progress: () => progress.total(), onRetry: hooks.onRetry };
  // The first connection to fail for good stops the others: nothing keeps fetching for a file
  // whose transfer already failed.
  const stopOthers = new AbortController();
  const connSignal = AbortSignal.any([signal, stopOthers.signal]);
  const failures: unknown[] = [];

  const connection = async () => {
    for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
      const idx = i;
      const chunk = chunks[idx]!;
      // Socket pieces (~64 KiB) are collected and written with one writev per WRITE_BYTES: no copy,
      // one promise per write rather than per piece.
      let pieces: Buffer[] = [];
      let filled = 0;
      let lastFlush = Date.now();
      const flush = async () => {
        lastFlush = Date.now();
        if (filled === 0) return;
        const batch = pieces;
        const total = filled;
        pieces = [];
        filled = 0;
        try {
          await writeAt(batch, total, chunk.start + progress.get(idx));
        } catch (e) {
          throw isDiskFull(e) ? new DiskFullError() : e;
        }
        progress.add(idx, total);
      };
      await withRetry(plan.retry, connSignal, retryHooks, async () => {
        try {
          await fetchRange(
            plan.url,
            chunk.start + progress.get(idx) + filled,
            chunk.start + chunk.length - 1,
            { headers: plan.headers, signal: connSignal, wholeFile: plan.wholeFile },
            (piece) => {
              pieces.push(piece);
              filled += piece.length;
              if (filled < WRITE_BYTES && Date.now() - lastFlush <= FLUSH_EVERY_MS) return undefined;
              return flush();
            },
          );
        } finally {
          // Whatever arrived is kept, also when the connection broke.
          await flush();
        }
      });
    }
  };
  try {
    await Promise.all(
      Array.from({ length: Math.min(plan.connections, queue.length) }, () =>
        connection().catch((error: unknown) => {
          if (!connSignal.aborted) failures.push(error);
          stopOthers.abort(error);
        }),
      ),
    );
  } finally {
    await writing;
    await fh.close();
  }
  if (signal.aborted) throw signal.reason;
  if (failures.length > 0) throw failures[0];
}
