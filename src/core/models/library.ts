/**
 * The model library: import (link in place or copy into the data directory), list, rename and
 * remove models. Detection reads what a model is from its files; this module decides names,
 * refuses duplicates, copies with progress and cancellation, and keeps the store consistent: a
 * failed or cancelled import leaves neither a row nor stray files, and the folder of a copy cut
 * short by a crash is swept at the next core start.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, readdirSync, rmSync } from 'node:fs';
import { mkdir, rename, rm, statfs } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ImportMode, ModelKind, ModelSummary } from '../../shared/contract/index.js';
import { AimaError } from '../../shared/errors.js';
import type { OperationContext } from '../operations/operations.js';
import type { ModelsRepo } from '../store/repositories/models-repo.js';
import { detectModel, isModelImportError, suggestModelName, validateModelName, type DetectedModel, type ModelImportErrorCode } from './detect/index.js';
import { formatBytes } from '../../shared/format-bytes.js';

export interface ImportRequest {
  path: string;
  name?: string;
  kind?: ModelKind;
  mode: ImportMode;
}

/** Detection's reasons, mapped onto the API's error codes. */
function apiCodeOf(code: ModelImportErrorCode): AimaError['code'] {
  switch (code) {
    case 'path-missing':
      return 'not-found';
    case 'permission-denied':
      return 'forbidden';
    case 'aborted':
      return 'cancelled';
    default:
      return 'bad-request';
  }
}

/** Turns detection's errors into API errors, keeping the problem and the fix apart. */
export function toApiError(err: unknown): unknown {
  if (isModelImportError(err)) return new AimaError(apiCodeOf(err.code), err.problem, err.fix);
  return err;
}

/** A copy import's temporary folder in the models folder: `.importing-<model id>/`. */
const IMPORTING_PREFIX = '.importing-';

export class ModelLibrary {
  constructor(
    private readonly repo: ModelsRepo,
    /** `<dataDir>/models`: where copies live. */
    private readonly modelsDir: string,
    private readonly onChange: (models: ModelSummary[]) => void,
  ) {}

  /**
   * Removes `.importing-<id>/` folders: a copy import's temporary folder (see copyIn) outlives
   * its import only when the core died mid-copy, since a live core removes it on any failure.
   * Called at core start, under the core lock, before any import can run. One log line each.
   */
  sweepUnfinishedImports(log: (line: string) => void): void {
    let names: string[];
    try {
      names = readdirSync(this.modelsDir);
    } catch {
      return; // no models folder yet
    }
    for (const name of names) {
      if (!name.startsWith(IMPORTING_PREFIX)) continue;
      const dir = path.join(this.modelsDir, name);
      try {
        rmSync(dir, { recursive: true, force: true });
        log(`removed ${dir}: an unfinished copy import left by a core that ended mid-copy`);
      } catch (err) {
        log(`could not remove ${dir}, an unfinished copy import (${(err as Error).message}); delete it by hand`);
      }
    }
  }

  list(): ModelSummary[] {
    return this.repo.list();
  }

  get(name: string): ModelSummary {
    const model = this.repo.getByName(name);
    if (!model) throw this.notFound(name);
    return model;
  }

  async import(req: ImportRequest, op: OperationContext): Promise<ModelSummary> {
    try {
      if (!path.isAbsolute(req.path)) {
        throw new AimaError('bad-request', `The model path ${JSON.stringify(req.path)} is relative.`, 'Give an absolute path (the CLI resolves relative paths for you).');
      }
      const detected = await detectModel(req.path, { signal: op.signal });
      if (detected.missing.length > 0) {
        throw new AimaError('bad-request', `The model at ${detected.realPath} is incomplete: missing ${detected.missing.join(', ')}.`, 'Add the missing files (or download the model again), then import it.');
      }
      const name = validateModelName(req.name ?? suggestModelName(detected));
      const taken = this.repo.getByName(name);
      if (taken) throw new AimaError('conflict', `A model named "${name}" already exists (${taken.sourcePath}).`, 'Choose another name with --name, or rename the existing model.');
      const twice = this.repo.getBySourceReal(detected.realPath);
      if (twice) throw new AimaError('conflict', `${detected.realPath} is already imported as "${twice.name}".`, `Use "${twice.name}", or remove it first with \`aima model rm ${twice.name}\`.`);

      const id = randomUUID();
      const kind = req.kind ?? detected.kind;
      const kindReason = req.kind && req.kind !== detected.kind ? `set by the user (detection said ${detected.kind}: ${detected.kindReason})` : detected.kindReason;
      const placed = req.mode === 'copy' ? await this.copyIn(id, detected, op) : { root: detected.realPath, main: detected.mainFile };
      try {
        const model = this.repo.insert({
          id,
          name,
          kind,
          kindReason,
          format: detected.format,
          path: placed.main ?? placed.root,
          rootPath: placed.root,
          sourcePath: req.path,
          sourceReal: detected.realPath,
          storage: req.mode,
          sizeBytes: detected.sizeBytes,
          missing: detected.missing,
          warnings: detected.warnings,
          metadata: detected.metadata as unknown as Record<string, unknown>,
        });
        this.onChange(this.repo.list());
        return model;
      } catch (err) {
        if (req.mode === 'copy') await rm(path.join(this.modelsDir, id), { recursive: true, force: true });
        throw err;
      }
    } catch (err) {
      throw toApiError(err);
    }
  }

  rename(name: string, newName: string): ModelSummary {
    const model = this.get(name);
    let valid: string;
    try {
      valid = validateModelName(newName);
    } catch (err) {
      throw toApiError(err);
    }
    if (valid === model.name) return model;
    if (this.repo.getByName(valid)) throw new AimaError('conflict', `A model named "${valid}" already exists.`, 'Choose another name.');
    this.repo.rename(model.id, valid);
    this.onChange(this.repo.list());
    return this.repo.getById(model.id)!;
  }

  /** Removes the model; deletes files only for copies (never a linked user file). */
  async remove(name: string): Promise<{ name: string; deletedFiles: boolean; path: string }> {
    const model = this.get(name);
    try {
      this.repo.delete(model.id);
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_FOREIGNKEY') {
        throw new AimaError('conflict', `Model "${name}" is used by a service.`, 'Remove the services that use it first (`aima service list`).');
      }
      throw err;
    }
    let deletedFiles = false;
    const copyDir = path.join(this.modelsDir, model.id);
    if (model.storage === 'copy' && model.rootPath.startsWith(copyDir + path.sep)) {
      await rm(copyDir, { recursive: true, force: true });
      deletedFiles = true;
    }
    this.onChange(this.repo.list());
    return { name, deletedFiles, path: model.rootPath };
  }

  private notFound(name: string): AimaError {
    const names = this.repo.list().map((m) => m.name);
    return new AimaError('not-found', `No model named "${name}".`, names.length ? `Models: ${names.join(', ')}.` : 'Import one with `aima model import PATH`.');
  }

  /**
   * Copies the model's files into `<modelsDir>/<id>/` through a temporary folder renamed at the
   * end, so a half-copied model never looks complete; on failure or cancel the folder is removed.
   */
  private async copyIn(id: string, detected: DetectedModel, op: OperationContext): Promise<{ root: string; main: string | undefined }> {
    await mkdir(this.modelsDir, { recursive: true });
    const free = await statfs(this.modelsDir).then((s) => s.bavail * s.bsize).catch(() => Infinity);
    if (detected.sizeBytes > free) {
      throw new AimaError('unavailable', `Not enough disk space to copy the model: it needs ${formatBytes(detected.sizeBytes)}, ${formatBytes(free)} is free in ${this.modelsDir}.`, 'Free some space, or import with --link to use the files where they are.');
    }
    const tmp = path.join(this.modelsDir, `${IMPORTING_PREFIX}${id}`);
    const finalDir = path.join(this.modelsDir, id);
    const baseName = path.basename(detected.realPath);
    const files = detected.isDirectory ? detected.files : [baseName];
    const srcRoot = detected.isDirectory ? detected.realPath : path.dirname(detected.realPath);
    const dstRoot = detected.isDirectory ? path.join(tmp, baseName) : tmp;
    let copied = 0;
    try {
      for (const rel of files) {
        const dst = path.join(dstRoot, rel);
        await mkdir(path.dirname(dst), { recursive: true });
        const counter = new Transform({
          transform(chunk: Buffer, _enc, cb) {
            copied += chunk.length;
            op.report(copied, detected.sizeBytes, `Copying ${rel}`);
            cb(null, chunk);
          },
        });
        await pipeline(createReadStream(path.join(srcRoot, rel)), counter, createWriteStream(dst, { flags: 'wx' }), { signal: op.signal });
      }
      await rename(tmp, finalDir);
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      if (op.signal.aborted) throw new AimaError('cancelled', `Import of ${detected.realPath} was cancelled; nothing was kept.`);
      if ((err as NodeJS.ErrnoException).code === 'ENOSPC') {
        throw new AimaError('unavailable', `The disk filled up while copying ${detected.realPath}; nothing was kept.`, 'Free some space, or import with --link.');
      }
      throw err;
    }
    const root = detected.isDirectory ? path.join(finalDir, baseName) : path.join(finalDir, baseName);
    const main = detected.mainFile ? path.join(detected.isDirectory ? root : finalDir, path.relative(srcRoot, detected.mainFile)) : undefined;
    return { root, main };
  }
}

