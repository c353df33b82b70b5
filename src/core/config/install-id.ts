/**
 * The install id: a UUID made once per data directory and kept in `<dataDir>/install-id`. Things
 * this install leaves outside its data directory carry it — Docker containers in their name
 * (`aima-<first 8>-<service>`) and label (`aima.install`) — so two installs sharing one Docker
 * daemon tell theirs apart. A copied data directory is the same install (it has the same id).
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { AimaError } from '../../shared/errors.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Reads the install id, making it on the first start of a data directory. */
export function readOrCreateInstallId(file: string): string {
  const existing = readId(file);
  if (existing !== null) return existing;
  mkdirSync(path.dirname(file), { recursive: true });
  try {
    writeFileSync(file, `${randomUUID()}\n`, { flag: 'wx', mode: 0o644 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const made = readId(file);
  if (made === null) throw new Error(`${file} vanished right after it was written.`);
  return made;
}

function readId(file: string): string | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const id = text.trim().toLowerCase();
  if (!UUID.test(id)) {
    throw new AimaError(
      'internal',
      `${file} does not hold an install id (a UUID); it holds ${JSON.stringify(text.slice(0, 60))}.`,
      `Restore the file from a backup, or delete it to make a new id (Docker containers left running under the old id are then not adopted: remove them with \`docker rm -f\`).`,
    );
  }
  return id;
}
