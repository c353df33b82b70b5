/**
 * Bytes written per chunk of one file, in shared memory. The transfer (on its own thread) adds to
 * it after each write; the hasher thread follows the contiguous prefix from it; the manager reads
 * it for progress events and for what it records in SQLite. No message per write crosses a thread.
 *
 * Layout: an Int32 sequence number (bumped after every write, so a reader can Atomics.wait on it),
 * padding to 8 bytes, then one BigInt64 per chunk. prefix-hasher.ts reads the same layout.
 */
export interface ChunkSpan {
  start: number;
  length: number;
}

export const SEQ_INDEX = 0;
export const WRITTEN_OFFSET = 8;

export class FileProgress {
  private readonly seq: Int32Array;
  private readonly written: BigInt64Array;

  constructor(
    /** The file's chunks in file order. */
    readonly chunks: readonly ChunkSpan[],
    readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(WRITTEN_OFFSET + 8 * chunks.length),
  ) {
    this.seq = new Int32Array(buffer, 0, 1);
    this.written = new BigInt64Array(buffer, WRITTEN_OFFSET, chunks.length);
  }

  static create(chunks: ReadonlyArray<ChunkSpan & { written: number }>): FileProgress {
    const p = new FileProgress(chunks.map((c) => ({ start: c.start, length: c.length })));
    chunks.forEach((c, i) => Atomics.store(p.written, i, BigInt(c.written)));
    return p;
  }

  get(i: number): number {
    return Number(Atomics.load(this.written, i));
  }

  /** Records `n` more bytes of chunk `i` on disk and wakes anyone waiting for more. */
  add(i: number, n: number): void {
    Atomics.add(this.written, i, BigInt(n));
    Atomics.add(this.seq, SEQ_INDEX, 1);
    Atomics.notify(this.seq, SEQ_INDEX);
  }

  total(): number {
    let n = 0;
    for (let i = 0; i < this.chunks.length; i++) n += this.get(i);
    return n;
  }
}
