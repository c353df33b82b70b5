/**
 * One core per data directory. The process that runs the core (the desktop app or `aima serve`)
 * holds `core.lock`, a JSON file naming its PID, start time and URL. A second process finds the
 * lock held by a live process and attaches to it as a client; a lock left by a dead process (PID
 * gone, or reused by another process with a different start time) is taken over. Every CLI command
 * reads the lock, so the file is checked by hand rather than with a zod schema.
 */
import { openSync, writeSync, closeSync, readFileSync, unlinkSync, writeFileSync, renameSync, statSync } from 'node:fs';
import { processStartTime, isSameProcess } from '../process/proc.js';

export interface LockInfo {
  pid: number;
  startTime: string | null;
  owner: 'electron' | 'serve';
  dataDir: string;
  url: string | null;
  version: string;
  startedAt: string;
}

/** The lock's fields from parsed JSON (extra fields dropped), or null when any is missing or of the wrong type. */
export function parseLockInfo(value: unknown): LockInfo | null {
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  const stringOrNull = (x: unknown): x is string | null => x === null || typeof x === 'string';
  if (!Number.isInteger(v.pid) || !stringOrNull(v.startTime) || (v.owner !== 'electron' && v.owner !== 'serve')) return null;
  if (typeof v.dataDir !== 'string' || !stringOrNull(v.url) || typeof v.version !== 'string' || typeof v.startedAt !== 'string') return null;
  return { pid: v.pid as number, startTime: v.startTime, owner: v.owner, dataDir: v.dataDir, url: v.url, version: v.version, startedAt: v.startedAt };
}

export type AcquireResult = { kind: 'acquired'; lock: CoreLock } | { kind: 'held'; info: LockInfo };

export class CoreLock {
  private released = false;
  constructor(
    readonly file: string,
    private info: LockInfo,
  ) {}

  get current(): LockInfo {
    return this.info;
  }

  /** Records the URL once the server listens; written atomically so readers never see half a file. */
  setUrl(url: string): void {
    this.info = { ...this.info, url };
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.info));
    renameSync(tmp, this.file);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    const onDisk = readLock(this.file);
    if (onDisk && onDisk.pid === this.info.pid) {
      try {
        unlinkSync(this.file);
      } catch {
        /* already gone */
      }
    }
  }
}

/** Reads the lock file; null when absent or unreadable. */
export function readLock(file: string): LockInfo | null {
  try {
    return parseLockInfo(JSON.parse(readFileSync(file, 'utf8')));
  } catch {
    return null;
  }
}

/** The live holder of the lock, or null when nobody (alive) holds it. */
export function liveHolder(file: string): LockInfo | null {
  const info = readLock(file);
  return info && isSameProcess(info.pid, info.startTime) ? info : null;
}

/**
 * Tries to take the lock for this process. Returns the holder's info when a live process has it.
 */
export async function acquireCoreLock(
  file: string,
  who: Omit<LockInfo, 'pid' | 'startTime' | 'url' | 'startedAt'>,
): Promise<AcquireResult> {
  const mine: LockInfo = {
    ...who,
    pid: process.pid,
    startTime: processStartTime(process.pid),
    url: null,
    startedAt: new Date().toISOString(),
  };
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      try {
        writeSync(fd, JSON.stringify(mine));
      } finally {
        closeSync(fd);
      }
      // Two processes clearing the same stale lock could both get here; the file says who won.
      const onDisk = readLock(file);
      if (onDisk && onDisk.pid !== process.pid && isSameProcess(onDisk.pid, onDisk.startTime)) {
        return { kind: 'held', info: onDisk };
      }
      return { kind: 'acquired', lock: new CoreLock(file, mine) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const info = readLock(file);
    if (info) {
      if (isSameProcess(info.pid, info.startTime)) return { kind: 'held', info };
      removeIfUnchanged(file, info);
      continue;
    }
    // Unreadable: a holder may be writing it right now. Give it a moment; an old unreadable file is junk.
    if (ageMs(file) > 3000) removeIfUnchanged(file, null);
    else await new Promise((r) => setTimeout(r, 60));
  }
  throw new Error(`Could not take the core lock ${file}; remove it if no AIMA process is running.`);
}

function removeIfUnchanged(file: string, expected: LockInfo | null): void {
  const now = readLock(file);
  if ((now === null && expected === null) || (now && expected && now.pid === expected.pid && now.startTime === expected.startTime)) {
    try {
      unlinkSync(file);
    } catch {
      /* someone else removed it */
    }
  }
}

function ageMs(file: string): number {
  try {
    return Date.now() - statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}
