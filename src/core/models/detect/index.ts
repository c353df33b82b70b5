/**
 * Model detection: what a model file or folder IS (format, kind, architecture, sizes) read from
 * headers only — never loading weights — and failing only with ModelImportError, whose message
 * says what is wrong and how to fix it. Entry point for the model library's import flow.
 */
import path from 'node:path';
import { ModelImportError, abortedError, fsErrorToImportError } from './errors.js';
import { detectBareSafetensors, detectGguf, detectOnnx, sniffFile, unrecognisedFile, type Detection } from './detect-file.js';
import { detectFolder } from './detect-folder.js';
import { checkInputPath, resolveInput } from './fs-walk.js';
import type { DetectedModel } from './types.js';

export type * from './types.js';
export { ModelImportError, isModelImportError, type ModelImportErrorCode } from './errors.js';
export { validateModelName, suggestModelName } from './names.js';
export { MemoryByteSource, type ByteSource } from './byte-source.js';
export { readGgufHeader, GGUF_LIMITS, type GgufHeader } from './gguf.js';
export { readSafetensorsHeader } from './safetensors.js';
export { readOnnx } from './onnx.js';

/** Options for {@link detectModel}. */
export interface DetectOptions {
  /** Cancels the detection; it then rejects with ModelImportError code `aborted`. */
  signal?: AbortSignal;
}

/**
 * Reads what the model at `inputPath` is, without loading it. `inputPath` may be a file (.gguf,
 * .safetensors, .onnx) or a folder (a Hugging Face repo, a sherpa-onnx model, a folder holding one
 * GGUF or ONNX file); symlinks are resolved, `..` segments are refused.
 *
 * Incomplete models (a missing shard, a sherpa-onnx folder without tokens.txt) are still
 * detected: the gaps are listed in `missing`; use {@link assertComplete} to refuse them.
 *
 * @throws ModelImportError — and nothing else — when the path or the model is unusable.
 */
export async function detectModel(inputPath: string, opts: DetectOptions = {}): Promise<DetectedModel> {
  const { signal } = opts;
  try {
    if (signal?.aborted) throw abortedError(inputPath);
    checkInputPath(inputPath);
    const resolved = await resolveInput(inputPath);
    const d = resolved.isDirectory ? await detectFolder(resolved.realPath, signal) : await detectFile(resolved.realPath, signal);
    return { ...d, realPath: resolved.realPath, isDirectory: resolved.isDirectory };
  } catch (err) {
    if (err instanceof ModelImportError) throw err;
    if (signal?.aborted) throw abortedError(inputPath);
    throw fsErrorToImportError(err, inputPath);
  }
}

async function detectFile(abs: string, signal?: AbortSignal): Promise<Detection> {
  switch (await sniffFile(abs)) {
    case 'gguf':
      return detectGguf(abs, signal);
    case 'safetensors':
      return detectBareSafetensors(abs, signal);
    case 'onnx':
      return detectOnnx(abs, signal);
    case undefined:
      throw await unrecognisedFile(abs);
  }
}

/**
 * Throws ModelImportError('model-incomplete') naming the missing files when `detected.missing`
 * is not empty; returns `detected` otherwise. For callers that must not import partial models.
 */
export function assertComplete(detected: DetectedModel): DetectedModel {
  if (detected.missing.length === 0) return detected;
  throw new ModelImportError(
    'model-incomplete',
    `${JSON.stringify(path.basename(detected.realPath))} is incomplete: ${detected.missing.join(', ')} ${detected.missing.length === 1 ? 'is' : 'are'} missing.`,
    `Put the missing file(s) into ${JSON.stringify(detected.isDirectory ? detected.realPath : path.dirname(detected.realPath))} (they come with the model's download), then import again.`,
    { path: detected.realPath },
  );
}
