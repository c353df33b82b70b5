/**
 * Service logs: the engine writes stdout and stderr straight into <dataDir>/logs/services/<name>.log
 * (a file, not a pipe to the core, so the engine survives a core crash and can be adopted). The
 * core follows the file (inotify via fs.watch, plus the supervisor's poll as a fallback) to turn
 * output into `progress` events and `services.log` events, and rotates it by copy-and-truncate
 * (the engine's O_APPEND descriptor then continues at the start of the emptied file): at 5 MiB,
 * keeping 3 old files (.1 newest). A line written between the copy and the truncate can be lost;
 * that is the price of never reopening the engine's descriptor.
 */
import { closeSync, copyFileSync, existsSync, fstatSync, mkdirSync, openSync, readSync, renameSync, statSync, truncateSync, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';

export const LOG_MAX_BYTES = 5 * 1024 * 1024;
export const LOG_KEEP = 3;

/** Opens the log for appending and returns the descriptor to hand to the child's stdout/stderr. */
export function openLogForChild(file: string): number {
  mkdirSync(path.dirname(file), { recursive: true });
  return openSync(file, 'a', 0o600);
}

/** Rotates `file` when it is larger than `maxBytes`: file.2→.3, .1→.2, copy file→.1, truncate file. */
export function rotateIfNeeded(file: string, maxBytes = LOG_MAX_BYTES, keep = LOG_KEEP): boolean {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    return false;
  }
  if (size <= maxBytes) return false;
  for (let i = keep - 1; i >= 1; i--) {
    if (existsSync(`${file}.${i}`)) renameSync(`${file}.${i}`, `${file}.${i + 1}`);
  }
  copyFileSync(file, `${file}.1`);
  truncateSync(file, 0);
  return true;
}

function readRange(file: string, start: number, end: number): string {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(end - start);
    let off = 0;
    while (off < buf.length) {
      const n = readSync(fd, buf, off, buf.length - off, start + off);
      if (n === 0) break;
      off += n;
    }
    return buf.subarray(0, off).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** The last `n` lines of the log (reaching into the newest rotated file when the current one is short). */
export function tailLines(file: string, n: number): string[] {
  const lines: string[] = [];
  for (const f of [file, `${file}.1`]) {
    let size: number;
    try {
      size = statSync(f).size;
    } catch {
      continue;
    }
    const start = Math.max(0, size - Math.max(64 * 1024, n * 400));
    const text = readRange(f, start, size);
    const got = text.split('\n');
    if (start > 0) got.shift(); // a partial first line
    if (got.at(-1) === '') got.pop();
    lines.unshift(...got);
    if (lines.length >= n) break;
  }
  return lines.slice(-n);
}

/**
 * Follows a log file from an offset: calls `onLines` whenever output arrived, with the new complete lines.
 * Rotation happens here too, after the new bytes have been read.
 */
export class LogFollower {
  private offset: number;
  private partial = '';
  private watcher: FSWatcher | null = null;
  private closed = false;

  constructor(
    private readonly file: string,
    /** New complete lines, and the unfinished last line (progress bars redraw it with \r): any call means output arrived. */
    private readonly onLines: (lines: string[], partial: string) => void,
    opts: { fromEnd?: boolean; maxBytes?: number; keep?: number } = {},
  ) {
    this.maxBytes = opts.maxBytes ?? LOG_MAX_BYTES;
    this.keep = opts.keep ?? LOG_KEEP;
    let size = 0;
    try {
      size = statSync(file).size;
    } catch {}
    this.offset = opts.fromEnd === false ? 0 : size;
    try {
      this.watcher = watch(file, { persistent: false }, () => this.poll());
      this.watcher.on('error', () => {
        this.watcher?.close();
        this.watcher = null;
      });
    } catch {
      // No inotify (or the file vanished): the supervisor's poll still calls poll().
    }
  }
  private readonly maxBytes: number;
  private readonly keep: number;

  /** Reads what was appended since the last call. Cheap when nothing changed. */
  poll(): void {
    if (this.closed) return;
    let size: number;
    try {
      const fd = openSync(this.file, 'r');
      try {
        size = fstatSync(fd).size;
      } finally {
        closeSync(fd);
      }
    } catch {
      return;
    }
    if (size < this.offset) {
      // Truncated (rotated by another core, or by hand): start again from the top.
      this.offset = 0;
      this.partial = '';
    }
    if (size > this.offset) {
      const text = this.partial + readRange(this.file, this.offset, size);
      this.offset = size;
      const parts = text.split('\n');
      this.partial = parts.pop() ?? '';
      if (this.partial.length > 64 * 1024) {
        // A "line" this long is not a line (progress bars with \r): hand it over anyway.
        parts.push(this.partial);
        this.partial = '';
      }
      const lines = parts.map((l) => l.replace(/\r$/, '').split('\r').at(-1) ?? '').filter((l) => l.length > 0);
      this.onLines(lines, this.partial.split('\r').at(-1) ?? '');
    }
    if (size > this.maxBytes && rotateIfNeeded(this.file, this.maxBytes, this.keep)) this.offset = 0;
  }

  close(): void {
    this.closed = true;
    this.watcher?.close();
    this.watcher = null;
  }
}
