/**
 * Detection of the single-file formats (GGUF with its split shards, a bare .safetensors, one
 * .onnx). Used for a picked file and for a folder that turns out to hold one such model.
 */
import { access } from 'node:fs/promises';
import path from 'node:path';
import { withFileSource } from './byte-source.js';
import { ModelImportError, fsErrorToImportError } from './errors.js';
import { readGgufHeader, type GgufHeader } from './gguf.js';
import { ggufKind, ggufMetadata } from './gguf-metadata.js';
import { hfKind, hfMetadata } from './hf.js';
import { onnxKind, readOnnx } from './onnx.js';
import { guessContent, showMagic } from './sniff.js';
import type { DetectedModel } from './types.js';

/** Fields every detector fills; `detectModel` adds realPath/isDirectory/files/sizeBytes for folders. */
export type Detection = Omit<DetectedModel, 'realPath' | 'isDirectory'>;

const SPLIT_RE = /^(.*)-(\d{5})-of-(\d{5})\.gguf$/i;

/** Which single-file format `file` is, from its first bytes and then its extension. */
export async function sniffFile(abs: string): Promise<'gguf' | 'safetensors' | 'onnx' | undefined> {
  const head = await withFileSource(abs, (src) => src.read(0, 16));
  if (head.length >= 4 && head[0] === 0x47 && head[1] === 0x47 && head[2] === 0x55 && head[3] === 0x46) return 'gguf';
  const ext = path.extname(abs).toLowerCase();
  if (ext === '.gguf') return 'gguf'; // reader reports the bad magic with a useful message
  if (ext === '.safetensors') return 'safetensors';
  if (ext === '.onnx') return 'onnx';
  if (head.length >= 9 && head[8] === 0x7b && head[6] === 0 && head[7] === 0) return 'safetensors'; // '{' after a small LE length
  return undefined;
}

/** The error for a file that is none of the formats. */
export async function unrecognisedFile(abs: string): Promise<ModelImportError> {
  const head = await withFileSource(abs, (src) => src.read(0, 64));
  const guess = guessContent(head);
  return new ModelImportError(
    'unrecognised',
    `${JSON.stringify(abs)} is not a model AIMA knows (first bytes ${showMagic(head)}${guess ? `; it looks like ${guess.what}` : ''}).`,
    guess?.fix ?? 'AIMA imports .gguf files, .onnx files, Hugging Face folders (config.json + .safetensors) and sherpa-onnx model folders: pick one of those.',
    { path: abs },
  );
}

/** GGUF file, following split shards (`name-00001-of-00003.gguf`) that sit beside it. */
export async function detectGguf(abs: string, signal?: AbortSignal): Promise<Detection> {
  const dir = path.dirname(abs);
  const base = path.basename(abs);
  const split = SPLIT_RE.exec(base);
  const shardNames: string[] = [];
  const missing: string[] = [];
  if (split) {
    const count = Number(split[3]);
    if (count < 1 || count > 999) throw new ModelImportError('gguf-absurd-count', `${JSON.stringify(base)} claims to be one of ${count} shards.`, 'Rename the file back to its published name.', { path: abs });
    for (let i = 1; i <= count; i++) {
      const name = `${split[1]}-${String(i).padStart(5, '0')}-of-${split[3]}.gguf`;
      if (await exists(path.join(dir, name))) shardNames.push(name);
      else missing.push(name);
    }
  } else shardNames.push(base);

  const headers: GgufHeader[] = [];
  let sizeBytes = 0;
  for (const name of shardNames) {
    const h = await withFileSource(path.join(dir, name), async (src) => {
      sizeBytes += src.size;
      return readGgufHeader(src, name, signal);
    });
    headers.push(h);
  }
  const metadata = ggufMetadata(headers, split ? shardNames : undefined);
  const { kind, reason } = ggufKind(metadata);
  return { format: 'gguf', kind, kindReason: reason, mainFile: path.join(dir, shardNames[0]!), sizeBytes, files: shardNames, missing, warnings: [], metadata };
}

/** A .safetensors file picked on its own (no config.json beside it). */
export async function detectBareSafetensors(abs: string, signal?: AbortSignal): Promise<Detection> {
  const dir = path.dirname(abs);
  const rel = path.basename(abs);
  const metadata = await hfMetadata({ root: dir, files: [rel], config: undefined, shardFiles: [rel] }, signal);
  const { kind, reason } = hfKind(metadata, []);
  return {
    format: 'safetensors', kind, kindReason: reason, mainFile: abs, sizeBytes: metadata.shards[0]?.sizeBytes ?? 0, files: [rel], missing: [],
    warnings: ['No config.json was found beside this file: architecture and context length are unknown. Pick the model\'s folder instead when it has one.'],
    metadata,
  };
}

/** One .onnx file; `unrecognised` when nothing in it says what it is for. */
export async function detectOnnx(abs: string, signal?: AbortSignal): Promise<Detection> {
  const rel = path.basename(abs);
  const { metadata, size } = await withFileSource(abs, async (src) => ({ metadata: await readOnnx(src, rel, signal), size: src.size }));
  const k = onnxKind(metadata);
  if (!k) {
    const io = (l: typeof metadata.inputs) => l.map((t) => t.name).slice(0, 8).join(', ') || 'none';
    throw new ModelImportError(
      'unrecognised',
      `AIMA cannot tell what ${JSON.stringify(rel)} does (inputs: ${io(metadata.inputs)}; outputs: ${io(metadata.outputs)}).`,
      'AIMA runs the Whisper Olive export and Silero VAD as single ONNX files; for a sherpa-onnx model pick its whole folder.',
      { path: abs },
    );
  }
  return { format: 'onnx', kind: k.kind, kindReason: k.reason, mainFile: abs, sizeBytes: size, files: [rel], missing: [], warnings: [], metadata };
}

async function exists(p: string): Promise<boolean> {
  try {
    await access(p);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw fsErrorToImportError(err, p);
  }
}
