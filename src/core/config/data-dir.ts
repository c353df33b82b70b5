/**
 * The data directory holds the install token, the database (API key hashes, settings), secrets
 * and logs. AIMA creates it, its logs and its database owner-only. An existing data directory
 * that the user opened to others stays as it is (it may be shared on purpose), but is pointed
 * out with the command that closes it.
 */
import { chmodSync, closeSync, fchmodSync, fstatSync, mkdirSync, openSync, statSync } from 'node:fs';
import type { DataPaths } from './paths.js';

const posix = process.platform !== 'win32';

/**
 * Creates the data directory and its logs folder owner-only (0700), tightens a looser logs
 * folder, and returns a warning (with the fix) when the data directory is open to other users.
 */
export function preparePrivateDataDir(paths: Pick<DataPaths, 'dataDir' | 'logs'>): string | null {
  mkdirSync(paths.dataDir, { recursive: true, mode: 0o700 });
  mkdirSync(paths.logs, { recursive: true, mode: 0o700 });
  if (!posix) return null;
  if ((statSync(paths.logs).mode & 0o077) !== 0) chmodSync(paths.logs, 0o700);
  const mode = statSync(paths.dataDir).mode & 0o777;
  if ((mode & 0o077) === 0) return null;
  return (
    `the data directory ${paths.dataDir} is open to other users (mode ${mode.toString(8)}). ` +
    `The token and logs in it are owner-only, but its models and database are not: run \`chmod 700 ${paths.dataDir}\` to keep them private.`
  );
}

/** Opens a log for appending, owner-only (0600): a looser existing one is tightened. Returns the fd. */
export function openPrivateLog(file: string): number {
  const fd = openSync(file, 'a', 0o600);
  if (posix && (fstatSync(fd).mode & 0o077) !== 0) fchmodSync(fd, 0o600);
  return fd;
}

/**
 * Makes an SQLite database file owner-only before it is opened: created empty (a valid empty
 * database) when missing, so its -wal and -shm files, which take its mode, are owner-only too.
 */
export function preparePrivateDatabase(file: string): void {
  closeSync(openPrivateLog(file));
  if (!posix) return;
  for (const side of [`${file}-wal`, `${file}-shm`]) {
    try {
      if ((statSync(side).mode & 0o077) !== 0) chmodSync(side, 0o600);
    } catch {
      /* not there yet: SQLite creates it with the database's mode */
    }
  }
}
