/**
 * Verifies a file while it downloads. Chunks arrive out of order over parallel connections, so
 * the hasher follows the contiguous written prefix, reading it back from the page cache. Hashing
 * runs on a worker thread: sha256 costs about as much CPU as the transfer itself, and on the core's
 * event loop it would halve the download speed. The thread reads the written bytes per chunk from
 * shared memory (file-progress.ts) and sleeps on its sequence number between writes, so the core
 * sends it nothing per write. At the end only the tail is left to hash; a resumed download
 * re-reads what is already on disk.
 */
import { Worker } from 'node:worker_threads';
import { SEQ_INDEX, WRITTEN_OFFSET, type FileProgress } from './file-progress.js';

/** sha256 of the content (LFS oid), or git's blob SHA-1: sha1("blob " + size + "\0" + content). */
export type Checksum = { algo: 'sha256'; expected: string } | { algo: 'git-blob-sha1'; expected: string };

// Inline (eval) worker source: works unchanged inside every bundle (CLI, Electron main, tests).
// It reads FileProgress's layout: an Int32 sequence number, then a BigInt64 per chunk from byte 8.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const crypto = require('node:crypto');
const { file, size, algo, progress, starts, lengths } = workerData;
const seq = new Int32Array(progress, 0, 1);
const written = new BigInt64Array(progress, ${WRITTEN_OFFSET}, starts.length);
const hash = crypto.createHash(algo === 'sha256' ? 'sha256' : 'sha1');
if (algo === 'git-blob-sha1') hash.update('blob ' + size + '\\0');
const fd = fs.openSync(file, 'r');
const buf = Buffer.allocUnsafe(4 * 1024 * 1024);
let hashed = 0;
function contiguous() {
  let n = 0;
  for (let i = 0; i < starts.length; i++) {
    const w = Number(Atomics.load(written, i));
    if (w < lengths[i]) return starts[i] + w;
    n = starts[i] + lengths[i];
  }
  return n;
}
// A function, not top-level code: an eval'd worker is a script, where \`return\` is not allowed.
function run() {
  for (;;) {
    const s = Atomics.load(seq, ${SEQ_INDEX});
    const target = Math.min(contiguous(), size);
    while (hashed < target) {
      const n = fs.readSync(fd, buf, 0, Math.min(buf.length, target - hashed), hashed);
      if (n === 0) return parentPort.postMessage({ error: 'the partial file is shorter than recorded' });
      hash.update(buf.subarray(0, n));
      hashed += n;
    }
    if (hashed === size) break;
    // Sleeps until the next write (with a timeout, so terminate() never waits on a sleeping thread).
    Atomics.wait(seq, ${SEQ_INDEX}, s, 500);
  }
  fs.closeSync(fd);
  parentPort.postMessage({ digest: hash.digest('hex') });
}
run();
`;

export class PrefixHasher {
  constructor(
    private readonly file: string,
    private readonly size: number,
    /** This file's chunks and their written bytes, updated by the transfer. */
    private readonly progress: FileProgress,
    private readonly algo: Checksum['algo'],
  ) {}

  /** Hashes until the whole file is done (or the signal aborts); returns the hex digest. */
  run(signal: AbortSignal): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      const chunks = this.progress.chunks;
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { file: this.file, size: this.size, algo: this.algo, progress: this.progress.buffer, starts: chunks.map((c) => c.start), lengths: chunks.map((c) => c.length) },
      });
      const finish = (fn: () => void) => {
        signal.removeEventListener('abort', onAbort);
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
    });
  }
}
