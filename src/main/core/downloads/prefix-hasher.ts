/**
 * Verifies a file while it downloads: chunks arrive out of order over parallel connections, so the
 * hasher follows the contiguous written prefix, reading it back from the page cache. At the end
 * only the tail is left to hash, and a resumed download re-reads what is already on disk.
 */
import { createHash, type Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';

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

const READ_BYTES = 4 * 1024 * 1024;

export class PrefixHasher {
  private readonly hash: Hash;
  private hashed = 0;
  private reading = false;
  private wake: (() => void) | null = null;
  private readonly buf = Buffer.allocUnsafe(READ_BYTES);

  constructor(
    private readonly fh: FileHandle,
    private readonly size: number,
    /** This file's chunks in order; the same objects the writers update. */
    private readonly chunks: LiveChunk[],
    algo: Checksum['algo'],
  ) {
    this.hash = createHash(algo === 'sha256' ? 'sha256' : 'sha1');
    if (algo === 'git-blob-sha1') this.hash.update(`blob ${size}\0`);
  }

  /** How far the file is written without gaps. */
  private contiguous(): number {
    let n = 0;
    for (const c of this.chunks) {
      if (c.written >= c.length) n = c.start + c.length;
      else return c.start + c.written;
    }
    return n;
  }

  /**
   * Offers bytes just written at `pos`: when they continue the hashed prefix they are hashed from
   * memory, saving the read back (the common case for the chunk at the front).
   */
  offer(pos: number, bytes: Buffer): void {
    if (!this.reading && pos === this.hashed && bytes.length > 0) {
      this.hash.update(bytes);
      this.hashed += bytes.length;
    }
    this.notify();
  }

  /** Tells the hasher more bytes are on disk. */
  notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  /** Hashes until the whole file is done (or the signal aborts); returns the hex digest. */
  async run(signal: AbortSignal): Promise<string> {
    while (this.hashed < this.size) {
      if (signal.aborted) throw signal.reason ?? new Error('aborted');
      const target = this.contiguous();
      if (target <= this.hashed) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          // A safety net: a missed notify only delays, never stalls.
          setTimeout(resolve, 200).unref();
        });
        continue;
      }
      this.reading = true;
      try {
        while (this.hashed < target) {
          const want = Math.min(READ_BYTES, target - this.hashed);
          const { bytesRead } = await this.fh.read(this.buf, 0, want, this.hashed);
          if (bytesRead === 0) throw new Error('the partial file is shorter than recorded');
          this.hash.update(this.buf.subarray(0, bytesRead));
          this.hashed += bytesRead;
        }
      } finally {
        this.reading = false;
      }
    }
    return this.hash.digest('hex');
  }
}
