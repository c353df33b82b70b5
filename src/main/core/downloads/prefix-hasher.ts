/**
 * Verifies a file while it downloads. Chunks arrive out of order over parallel connections, so
 * the hasher follows the contiguous written prefix, reading it back from the page cache. Hashing
 * runs on a worker thread: sha256 costs about as much CPU as the transfer itself, and on the core's
 * event loop it would halve the download speed. At the end only the tail is left to hash; a
 * resumed download re-reads what is already on disk.
 */
import { Worker } from 'node:worker_threads';

export interface LiveChunk {
  path: string;
  idx: number;
  start: number;
  length: number;
  /** Bytes of this chunk on disk (in the page cache at least); grows as data arrives. */
  written: number;
}

/** sha256 of the content (LFS oid), or git's blob SHA-1: sha1("blob " + size + "\0" + content). */
export type Checksum = { algo: 'sha256'; expected: string } | { algo: 'git-blob-sha1'; expected: string };

// Inline (eval) worker source: works unchanged inside every bundle (CLI, Electron main, tests).
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const crypto = require('node:crypto');
const { file, size, algo } = workerData;
const hash = crypto.createHash(algo === 'sha256' ? 'sha256' : 'sha1');
if (algo === 'git-blob-sha1') hash.update('blob ' + size + '\\0');
const fd = fs.openSync(file, 'r');
const buf = Buffer.allocUnsafe(4 * 1024 * 1024);
let hashed = 0;
let target = 0;
function pump() {
  while (hashed < target) {
    const n = fs.readSync(fd, buf, 0, Math.min(buf.length, target - hashed), hashed);
    if (n === 0) return parentPort.postMessage({ error: 'the partial file is shorter than recorded' });
    hash.update(buf.subarray(0, n));
    hashed += n;
  }
  if (hashed === size) {
    fs.closeSync(fd);
    parentPort.postMessage({ digest: hash.digest('hex') });
  }
}
parentPort.on('message', (m) => {
  if (m.target > target) target = Math.min(m.target, size);
  pump();
});
`;

export class PrefixHasher {
  private worker: Worker | null = null;
  private sent = -1;

  constructor(
    private readonly file: string,
    private readonly size: number,
    /** This file's chunks in order; the same objects the writers update. */
    private readonly chunks: LiveChunk[],
    private readonly algo: Checksum['algo'],
  ) {}

  /** How far the file is written without gaps. */
  private contiguous(): number {
    let n = 0;
    for (const c of this.chunks) {
      if (c.written >= c.length) n = c.start + c.length;
      else return c.start + c.written;
    }
    return n;
  }

  /** Tells the hasher more bytes are on disk. */
  notify(): void {
    const target = this.contiguous();
    if (this.worker && target > this.sent) {
      this.sent = target;
      this.worker.postMessage({ target });
    }
  }

  /** Hashes until the whole file is done (or the signal aborts); returns the hex digest. */
  run(signal: AbortSignal): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file: this.file, size: this.size, algo: this.algo } });
      this.worker = worker;
      const finish = (fn: () => void) => {
        signal.removeEventListener('abort', onAbort);
        this.worker = null;
        void worker.terminate();
        fn();
      };
      const onAbort = () => finish(() => reject(signal.reason ?? new Error('aborted')));
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      worker.on('message', (m: { digest?: string; error?: string }) => {
        if (m.digest) finish(() => resolve(m.digest!));
        else if (m.error) finish(() => reject(new Error(m.error)));
      });
      worker.on('error', (err) => finish(() => reject(err)));
      // A zero-byte file is done at once; otherwise start from what is already on disk.
      worker.postMessage({ target: 0 });
      this.notify();
    });
  }
}
