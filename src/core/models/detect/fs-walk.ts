/**
 * Filesystem side of detection: input-path checks, symlink resolution and a bounded folder walk.
 * Nothing here opens a file for reading — FIFOs and sockets are recognised by stat and skipped,
 * because opening a FIFO would block forever.
 */
import { lstat, opendir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { ModelImportError, abortedError, fsErrorToImportError } from './errors.js';

export const WALK_LIMITS = { maxDepth: 4, maxEntries: 10_000 } as const;

/** One regular file found under a model folder. */
export interface WalkedFile {
  /** Relative to the walked root, POSIX separators. */
  rel: string;
  abs: string;
  size: number;
}

export interface ResolvedInput {
  realPath: string;
  isDirectory: boolean;
  size: number;
}

/**
 * Rejects paths we refuse to interpret: empty, containing control characters (a NUL truncates the
 * path in C APIs; newlines garble logs and never name a real model) or a `..` segment (the import
 * dialog and API hand us absolute paths; `..` only shows up in paths built to escape a folder).
 * Shell metacharacters are allowed: no path ever reaches a shell.
 */
export function checkInputPath(input: string): void {
  if (typeof input !== 'string' || input.trim() === '') {
    throw new ModelImportError('invalid-path', 'No model path was given.', 'Pick a model file or folder.');
  }
  const ctrl = [...input].find((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f);
  if (ctrl !== undefined) {
    const code = `\\x${ctrl.charCodeAt(0).toString(16).padStart(2, '0')}`;
    throw new ModelImportError('invalid-path', `The path ${JSON.stringify(input)} contains the control character ${code}.`, 'Rename the file or folder so its path has only printable characters.', { path: input });
  }
  if (input.split(/[\\/]/).includes('..')) {
    throw new ModelImportError(
      'path-traversal',
      `The path ${JSON.stringify(input)} contains a ".." segment.`,
      'Give the full path to the model (for example /home/me/models/llama.gguf) without "..".',
      { path: input },
    );
  }
}

/** Resolves symlinks and classifies the input; anything but a file or folder is refused. */
export async function resolveInput(input: string): Promise<ResolvedInput> {
  const abs = path.resolve(input);
  let real: string;
  try {
    real = await realpath(abs);
  } catch (err) {
    throw fsErrorToImportError(err, abs);
  }
  let st;
  try {
    st = await stat(real);
  } catch (err) {
    throw fsErrorToImportError(err, real);
  }
  if (st.isDirectory()) return { realPath: real, isDirectory: true, size: 0 };
  if (st.isFile()) return { realPath: real, isDirectory: false, size: st.size };
  throw new ModelImportError(
    'not-a-regular-file',
    `${JSON.stringify(real)} is ${describeSpecial(st)}, not a model file or folder.`,
    'Pick the model file itself or the folder that holds it.',
    { path: real },
  );
}

function describeSpecial(st: { isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean }): string {
  if (st.isFIFO()) return 'a named pipe (FIFO)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'a special file';
}

/**
 * Lists regular files (and the folders walked) under `root`: depth ≤ 4, ≤ 10,000 entries (else `folder-too-large`).
 * Symlinks are followed (Hugging Face caches are made of them) but each real folder is walked
 * once, so loops end. Dot-folders (.git, .cache) are skipped: clones keep thousands of objects there.
 * Entries that cannot be used (FIFOs, sockets, broken or looping links, unreadable) become warnings.
 */
export async function walkFolder(root: string, warnings: string[], signal?: AbortSignal): Promise<{ files: WalkedFile[]; dirs: string[] }> {
  const files: WalkedFile[] = [];
  const dirs: string[] = [];
  const seen = new Set<string>([root]);
  let entries = 0;
  let warnedDepth = false;
  const queue: Array<{ abs: string; rel: string; depth: number }> = [{ abs: root, rel: '', depth: 0 }];
  while (queue.length > 0) {
    const dir = queue.shift()!;
    if (signal?.aborted) throw abortedError(root);
    // Entries are counted while listing (opendir streams them), so a folder with millions of
    // entries is refused after reading 10,001 names rather than all of them.
    const names: string[] = [];
    try {
      for await (const ent of await opendir(dir.abs)) {
        names.push(ent.name);
        if (entries + names.length > WALK_LIMITS.maxEntries) throw tooLarge(root);
      }
    } catch (err) {
      if (err instanceof ModelImportError || dir.depth === 0) throw fsErrorToImportError(err, dir.abs);
      warnings.push(`Skipped folder ${dir.rel}: ${fsErrorToImportError(err, dir.abs).problem}`);
      continue;
    }
    entries += names.length;
    names.sort();
    for (const name of names) {
      const abs = path.join(dir.abs, name);
      const rel = dir.rel === '' ? name : `${dir.rel}/${name}`;
      let st;
      try {
        const l = await lstat(abs);
        st = l.isSymbolicLink() ? await stat(abs) : l;
      } catch (err) {
        warnings.push(`Skipped ${rel}: ${fsErrorToImportError(err, abs).problem}`);
        continue;
      }
      if (st.isFile()) {
        files.push({ rel, abs, size: st.size });
      } else if (st.isDirectory()) {
        if (name.startsWith('.')) continue;
        if (dir.depth + 1 > WALK_LIMITS.maxDepth) {
          if (!warnedDepth) warnings.push(`Did not look inside ${rel} and other folders more than ${WALK_LIMITS.maxDepth} levels deep.`);
          warnedDepth = true;
          continue;
        }
        let real: string;
        try {
          real = await realpath(abs);
        } catch (err) {
          warnings.push(`Skipped ${rel}: ${fsErrorToImportError(err, abs).problem}`);
          continue;
        }
        if (seen.has(real)) continue;
        seen.add(real);
        dirs.push(rel);
        queue.push({ abs, rel, depth: dir.depth + 1 });
      } else {
        warnings.push(`Skipped ${rel}: it is ${describeSpecial(st)}, not a file.`);
      }
    }
  }
  return { files, dirs };
}

function tooLarge(root: string): ModelImportError {
  return new ModelImportError(
    'folder-too-large',
    `${JSON.stringify(root)} holds more than ${WALK_LIMITS.maxEntries} entries; a model folder is far smaller.`,
    "Pick the model's own folder (the one with config.json, the .gguf or the .onnx files), not a parent folder.",
    { path: root },
  );
}
