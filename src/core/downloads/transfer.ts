/**
 * Fetches one file's missing chunks into its `.part` file: parallel range GETs (one
 * RangeConnection each, kept alive across chunks), socket reads handed over a MiB at a time and
 * written where they landed, one write in flight per file, retries with backoff. It knows nothing
 * of SQLite or the core, so it runs on the transfer thread (transfer-thread.ts) or, without a built
 * thread entry, on the caller's event loop. Progress goes to a FileProgress in shared memory after
 * each write reaches the page cache.
 */
import { writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { fetchRange } from './http-range.js';
import type { FileProgress } from './file-progress.js';
import { RangeConnection, type BodySink } from './range-connection.js';
import { withRetry, type RetryPolicy } from './retry.js';
import { GeneralClientNeeded } from './transfer-error.js';

const MiB = 1024 * 1024;
/** Bytes per file write: few syscalls, and a buffer per connection that stays in the CPU's caches' reach. */
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

/** The disk filled up (ENOSPC, EDQUOT, or a short write with nothing more accepted). */
export class DiskFullError extends Error {
  constructor() {
    super('no space left on device');
    this.name = 'DiskFullError';
  }
}

const diskError = (e: unknown) => (['ENOSPC', 'EDQUOT'].includes((e as NodeJS.ErrnoException).code ?? '') ? new DiskFullError() : e);

/** Writes all of `bytes` at `at`. A nearly full disk answers with a short write first, ENOSPC only on the next one. */
function writeAllSync(fd: number, bytes: Buffer, at: number): void {
  for (let done = 0; done < bytes.length; ) {
    let n: number;
    try {
      n = writeSync(fd, bytes, done, bytes.length - done, at + done);
    } catch (e) {
      throw diskError(e);
    }
    if (n <= 0) throw new DiskFullError();
    done += n;
  }
}


/**
 * The same range through node:http, for a body RangeConnection does not read (chunked): its
 * socket pieces gathered into the sink a MiB (or FLUSH_EVERY_MS) at a time.
 */
async function fetchRangeGathered(url: string, start: number, end: number, opts: Parameters<typeof fetchRange>[3], sink: BodySink): Promise<void> {
  let pieces: Buffer[] = [];
  let filled = 0;
  let lastFlush = Date.now();
  const flush = () => {
    lastFlush = Date.now();
    if (filled === 0) return undefined;
    const bytes = Buffer.concat(pieces, filled);
    pieces = [];
    filled = 0;
    return sink(bytes);
  };
  try {
    await fetchRange(url, start, end, opts, (piece) => {
      pieces.push(piece);
      filled += piece.length;
      return filled >= WRITE_BYTES || Date.now() - lastFlush > FLUSH_EVERY_MS ? flush() : undefined;
    });
  } finally {
    // Whatever arrived is kept, also when the connection broke.
    await flush();
  }
}

/**
 * Downloads the unfinished chunks of one file into its partial file. It runs on the transfer
 * thread (transfer-thread.ts), which has nothing else to do while a write copies into the page
 * cache, so writes are blocking calls: one at a time, with no thread-pool hand-offs, and never
 * on the core's event loop.
 */
export async function transferFile(plan: TransferPlan, progress: FileProgress, signal: AbortSignal, hooks: TransferHooks): Promise<void> {
  const chunks = progress.chunks;
  const queue = chunks.map((_, i) => i).filter((i) => progress.get(i) < chunks[i]!.length);
  if (queue.length === 0) return;
  const fh = await open(plan.partPath, 'r+');
  // Blocking writes are one in flight per file: parallel pwrite calls on one file would contend
  // for its inode lock in the kernel, and the page cache copy is the work either way. A failed
  // write throws before its bytes are counted: the written counts mean "contiguous from the chunk's start".
  const write = (idx: number, bytes: Buffer, at: number): undefined => {
    writeAllSync(fh.fd, bytes, at);
    progress.add(idx, bytes.length);
    return undefined;
  };
  const retryHooks = { progress: () => progress.total(), onRetry: hooks.onRetry };
  // The first connection to fail for good stops the others: nothing keeps fetching for a file
  // whose transfer already failed.
  const stopOthers = new AbortController();
  const connSignal = AbortSignal.any([signal, stopOthers.signal]);
  const failures: unknown[] = [];
  // node:http from the first URL RangeConnection does not take (a proxied one) or response it does not read (chunked).
  let generalClient = false;

  const connection = async () => {
    const conn = new RangeConnection({ headers: plan.headers, signal: connSignal, bufferBytes: WRITE_BYTES, flushAfterMs: FLUSH_EVERY_MS });
    try {
      for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
        const idx = i;
        const chunk = chunks[idx]!;
        const end = chunk.start + chunk.length - 1;
        await withRetry(plan.retry, connSignal, retryHooks, async () => {
          // Every earlier write of this chunk settled: its recorded bytes are where the range resumes.
          let at = chunk.start + progress.get(idx);
          const sink: BodySink = (bytes) => {
            const pos = at;
            at += bytes.length;
            return write(idx, bytes, pos);
          };
          if (!generalClient) {
            try {
              return await conn.get(plan.url, at, end, plan.wholeFile, sink);
            } catch (e) {
              if (!(e instanceof GeneralClientNeeded)) throw e;
              generalClient = true;
            }
          }
          await fetchRangeGathered(plan.url, at, end, { headers: plan.headers, signal: connSignal, wholeFile: plan.wholeFile }, sink);
        });
      }
    } finally {
      conn.close();
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
    await fh.close();
  }
  if (signal.aborted) throw signal.reason;
  if (failures.length > 0) throw failures[0];
}
