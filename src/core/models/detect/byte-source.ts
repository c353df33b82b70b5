/**
 * Bounded, chunked reading of model files. Readers never see a whole multi-GB file: they pull
 * small windows through a ByteSource, and the interface is small enough that tests (the fuzzer)
 * can hand them an in-memory buffer instead of a file.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { ModelImportError, abortedError, fsErrorToImportError } from './errors.js';

/** Random-access bytes of known size. */
export interface ByteSource {
  /** Total size in bytes. */
  readonly size: number;
  /** Bytes [offset, offset+length) clipped to `size`; may return fewer only at the end. */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** A ByteSource over a Uint8Array (tests, fuzzing, small files already in memory). */
export class MemoryByteSource implements ByteSource {
  constructor(private readonly bytes: Uint8Array) {}
  get size(): number {
    return this.bytes.length;
  }
  read(offset: number, length: number): Promise<Uint8Array> {
    const start = Math.min(offset, this.bytes.length);
    return Promise.resolve(this.bytes.subarray(start, Math.min(start + length, this.bytes.length)));
  }
}

/** A ByteSource over an open file; `size` is fixed when opened (a growing file is not followed). */
export class FileByteSource implements ByteSource {
  private constructor(
    private readonly handle: FileHandle,
    readonly size: number,
    readonly filePath: string,
  ) {}

  /** Opens `filePath` read-only. The caller must have checked it is a regular file (FIFOs block). */
  static async open(filePath: string): Promise<FileByteSource> {
    let handle: FileHandle;
    try {
      handle = await open(filePath, 'r');
    } catch (err) {
      throw fsErrorToImportError(err, filePath);
    }
    try {
      const st = await handle.stat();
      return new FileByteSource(handle, st.size, filePath);
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw fsErrorToImportError(err, filePath);
    }
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    const len = Math.max(0, Math.min(length, this.size - offset));
    const buf = Buffer.allocUnsafe(len);
    let done = 0;
    try {
      while (done < len) {
        const { bytesRead } = await this.handle.read(buf, done, len - done, offset + done);
        if (bytesRead === 0) break; // file shrank since open: callers see a short read as EOF
        done += bytesRead;
      }
    } catch (err) {
      throw fsErrorToImportError(err, this.filePath);
    }
    return buf.subarray(0, done);
  }

  async close(): Promise<void> {
    await this.handle.close().catch(() => undefined);
  }
}

/** Runs `fn` with a FileByteSource on `filePath`, closing it afterwards whatever happens. */
export async function withFileSource<T>(filePath: string, fn: (src: FileByteSource) => Promise<T>): Promise<T> {
  const src = await FileByteSource.open(filePath);
  try {
    return await fn(src);
  } finally {
    await src.close();
  }
}

const DEFAULT_CHUNK = 64 * 1024;
const TWO_32 = 2 ** 32;

/**
 * Sequential little-endian reader over a ByteSource with a sliding window. Callers do
 * `if (!r.has(n)) await r.fill(n)` and then the synchronous getters, which keeps tight loops
 * (skipping 150k tokenizer strings) free of a promise per value.
 */
export class ByteReader {
  /** Absolute offset of the next byte. */
  pos: number;
  private buf: Uint8Array = new Uint8Array(0);
  private view: DataView = new DataView(this.buf.buffer);
  private bufStart = 0;
  private readonly chunk: number;

  constructor(
    readonly src: ByteSource,
    private readonly eof: (wanted: number, at: number) => ModelImportError,
    private readonly signal?: AbortSignal,
    opts: { start?: number; chunkSize?: number } = {},
  ) {
    this.pos = opts.start ?? 0;
    this.chunk = opts.chunkSize ?? DEFAULT_CHUNK;
  }

  /** Bytes left between the cursor and the end of the source. */
  get remaining(): number {
    return this.src.size - this.pos;
  }

  /** True when the next `n` bytes are already in the window. */
  has(n: number): boolean {
    return this.pos >= this.bufStart && this.pos + n <= this.bufStart + this.buf.length;
  }

  /** Loads at least `n` bytes from the cursor; throws the format's EOF error past the end. */
  async fill(n: number): Promise<void> {
    if (this.signal?.aborted) throw abortedError(undefined);
    if (n > this.remaining) throw this.eof(n, this.pos);
    const want = Math.min(Math.max(n, this.chunk), this.remaining);
    const bytes = await this.src.read(this.pos, want);
    if (bytes.length < n) throw this.eof(n, this.pos);
    this.buf = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.bufStart = this.pos;
  }

  /** `fill(n)` only when needed. */
  async need(n: number): Promise<void> {
    if (!this.has(n)) await this.fill(n);
  }

  /** Moves the cursor forward without reading; throws the EOF error past the end. */
  skip(n: number): void {
    if (n > this.remaining) throw this.eof(n, this.pos);
    this.pos += n;
  }

  private at(n: number): number {
    const i = this.pos - this.bufStart;
    this.pos += n;
    return i;
  }

  u8(): number {
    return this.view.getUint8(this.at(1));
  }
  i8(): number {
    return this.view.getInt8(this.at(1));
  }
  u16(): number {
    return this.view.getUint16(this.at(2), true);
  }
  i16(): number {
    return this.view.getInt16(this.at(2), true);
  }
  u32(): number {
    return this.view.getUint32(this.at(4), true);
  }
  i32(): number {
    return this.view.getInt32(this.at(4), true);
  }
  /** Unsigned 64-bit as a number: exact to 2^53, beyond that approximate (and caught by limits). */
  u64(): number {
    const i = this.at(8);
    return this.view.getUint32(i + 4, true) * TWO_32 + this.view.getUint32(i, true);
  }
  i64(): number {
    const i = this.at(8);
    return this.view.getInt32(i + 4, true) * TWO_32 + this.view.getUint32(i, true);
  }
  f32(): number {
    return this.view.getFloat32(this.at(4), true);
  }
  f64(): number {
    return this.view.getFloat64(this.at(8), true);
  }
  /** A view of the next `n` bytes (valid until the next fill). */
  bytes(n: number): Uint8Array {
    const i = this.at(n);
    return this.buf.subarray(i, i + n);
  }
}

/** Reads `length` bytes at `offset` exactly, or throws `eof`. */
export async function readExactly(
  src: ByteSource,
  offset: number,
  length: number,
  eof: (wanted: number, at: number) => ModelImportError,
): Promise<Uint8Array> {
  if (offset + length > src.size) throw eof(length, offset);
  const bytes = await src.read(offset, length);
  if (bytes.length < length) throw eof(length, offset);
  return bytes;
}
