/**
 * The one error type model detection throws. Every failure — a junk file, a loop, a missing
 * shard — becomes a ModelImportError whose `code` the UI can switch on and whose message says
 * what is wrong AND what to do about it, so nothing below the import dialog has to rephrase it.
 */

/** Closed set of reasons; extend deliberately (callers `switch` over it with assertNever). */
export type ModelImportErrorCode =
  | 'path-missing'
  | 'permission-denied'
  | 'invalid-path'
  | 'path-traversal'
  | 'symlink-loop'
  | 'not-a-regular-file'
  | 'folder-too-large'
  | 'ambiguous-folder'
  | 'unrecognised'
  | 'io-error'
  | 'aborted'
  | 'gguf-bad-magic'
  | 'gguf-unsupported-version'
  | 'gguf-truncated'
  | 'gguf-absurd-count'
  | 'gguf-string-past-eof'
  | 'gguf-invalid-value-type'
  | 'gguf-invalid-tensor'
  | 'json-invalid'
  | 'safetensors-header-invalid'
  | 'onnx-invalid'
  | 'model-incomplete'
  | 'invalid-name';

/**
 * A model cannot be imported. `problem` names what is wrong, `fix` what the user can do;
 * `message` is both joined, ready to show.
 */
export class ModelImportError extends Error {
  override readonly name = 'ModelImportError';
  readonly code: ModelImportErrorCode;
  readonly problem: string;
  readonly fix: string;
  /** The file or folder concerned, when there is one. */
  readonly path: string | undefined;

  constructor(code: ModelImportErrorCode, problem: string, fix: string, opts: { path?: string; cause?: unknown } = {}) {
    super(`${problem} ${fix}`, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.problem = problem;
    this.fix = fix;
    this.path = opts.path;
  }
}

/** Type guard for callers that catch unknown errors. */
export function isModelImportError(err: unknown): err is ModelImportError {
  return err instanceof ModelImportError;
}

/**
 * Maps a Node fs error (ENOENT, EACCES, ELOOP, ...) on `filePath` to a ModelImportError.
 * Anything already a ModelImportError passes through; unknown errors become `io-error`.
 */
export function fsErrorToImportError(err: unknown, filePath: string): ModelImportError {
  if (err instanceof ModelImportError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const shown = JSON.stringify(filePath);
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return new ModelImportError('path-missing', `${shown} does not exist.`, 'Check the path, or pick the file again in the file dialog.', { path: filePath, cause: err });
    case 'EACCES':
    case 'EPERM':
      return new ModelImportError(
        'permission-denied',
        `AIMA may not read ${shown} (permission denied).`,
        'Give your user read access (e.g. chmod a+r on the file, a+rx on its folders) or copy the model somewhere you own.',
        { path: filePath, cause: err },
      );
    case 'ELOOP':
      return new ModelImportError('symlink-loop', `${shown} is a symbolic link that points back to itself (a symlink loop).`, 'Replace the link with the real file or folder, or pick the target directly.', { path: filePath, cause: err });
    case 'ENAMETOOLONG':
      return new ModelImportError('invalid-path', `The path ${shown} is too long for the file system.`, 'Move the model to a shorter path.', { path: filePath, cause: err });
    case 'EISDIR':
      return new ModelImportError('not-a-regular-file', `${shown} is a folder where a file was expected.`, 'Pick the model file inside it.', { path: filePath, cause: err });
    case 'ABORT_ERR':
      return abortedError(filePath);
    default: {
      const detail = err instanceof Error ? err.message : String(err);
      return new ModelImportError('io-error', `Reading ${shown} failed: ${detail}.`, 'Check that the disk is mounted and readable, then try again.', { path: filePath, cause: err });
    }
  }
}

/** The error for a detection cancelled through its AbortSignal. */
export function abortedError(filePath: string | undefined): ModelImportError {
  return new ModelImportError('aborted', 'Model detection was cancelled.', 'Start the import again when ready.', { path: filePath });
}
