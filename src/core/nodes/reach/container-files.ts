/**
 * Puts small files (an engine's TLS certificate and key) into a created, not yet started
 * container through Docker's archive API, so nothing is written to the node's own disk and no
 * bind mount from this machine is needed (a remote engine cannot see this machine's files).
 */
import { ENGINE_TLS_CERT, ENGINE_TLS_KEY } from './remote-reach.js';
import type { EngineCredentials } from './engine-credentials.js';

export interface ContainerFile {
  /** Absolute path inside the container. */
  path: string;
  content: string | Buffer;
  mode: number;
}

const BLOCK = 512;

function header(name: string, size: number, mode: number, type: '0' | '5'): Buffer {
  const h = Buffer.alloc(BLOCK);
  if (Buffer.byteLength(name) > 100) throw new Error(`A path inside the container is too long for the archive: ${name}`);
  const octal = (value: number, width: number) => value.toString(8).padStart(width - 1, '0') + '\0';
  h.write(name, 0, 100, 'utf8');
  h.write(octal(mode, 8), 100, 8, 'ascii');
  h.write(octal(0, 8), 108, 8, 'ascii'); // uid root
  h.write(octal(0, 8), 116, 8, 'ascii'); // gid root
  h.write(octal(size, 12), 124, 12, 'ascii');
  h.write(octal(Math.floor(Date.now() / 1000), 12), 136, 12, 'ascii');
  h.write(' '.repeat(8), 148, 8, 'ascii');
  h.write(type, 156, 1, 'ascii');
  h.write('ustar\0', 257, 6, 'ascii');
  h.write('00', 263, 2, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(octal(sum, 7) + ' ', 148, 8, 'ascii');
  return h;
}

/** A POSIX ustar archive of `files`, with entries for their parent folders, paths relative to `/`. */
function tarArchive(files: readonly ContainerFile[]): Buffer {
  const parts: Buffer[] = [];
  const dirs = new Set<string>();
  for (const f of files) {
    if (!f.path.startsWith('/')) throw new Error(`A path inside the container must be absolute: ${f.path}`);
    const segments = f.path.slice(1).split('/');
    for (let i = 1; i < segments.length; i++) {
      const dir = `${segments.slice(0, i).join('/')}/`;
      if (dirs.has(dir)) continue;
      dirs.add(dir);
      parts.push(header(dir, 0, 0o755, '5'));
    }
    const body = Buffer.isBuffer(f.content) ? f.content : Buffer.from(f.content);
    parts.push(header(segments.join('/'), body.length, f.mode, '0'), body, Buffer.alloc((BLOCK - (body.length % BLOCK)) % BLOCK));
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(parts);
}

/**
 * The engine's TLS files. The key is readable by any user in the container (images run their
 * server as root or as their own user); the container runs only the engine.
 */
export const engineTlsFiles = (creds: Pick<EngineCredentials, 'certPem' | 'keyPem'>): ContainerFile[] => [
  { path: ENGINE_TLS_CERT, content: creds.certPem, mode: 0o444 },
  { path: ENGINE_TLS_KEY, content: creds.keyPem, mode: 0o444 },
];

/** Copies `files` into a created container (before it starts). */
export async function putContainerFiles(container: { putArchive(file: Buffer, opts: { path: string }): Promise<unknown> }, files: readonly ContainerFile[]): Promise<void> {
  await container.putArchive(tarArchive(files), { path: '/' });
}
