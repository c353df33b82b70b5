/**
 * Detection of a model folder: walks it (bounded), then tries, in order, GGUF, Hugging Face
 * (config.json + safetensors), sherpa-onnx layouts and a lone .onnx file. The order puts the
 * formats that need the fewest guesses first.
 */
import path from 'node:path';
import { withFileSource } from './byte-source.js';
import { ModelImportError } from './errors.js';
import { detectGguf, detectOnnx, type Detection } from './detect-file.js';
import { walkFolder, type WalkedFile } from './fs-walk.js';
import { hfKind, hfMetadata, hfShardFiles, readJsonFile } from './hf.js';
import { readOnnx } from './onnx.js';
import { matchSherpa } from './sherpa.js';

const SPLIT_RE = /-(\d{5})-of-(\d{5})\.gguf$/i;

/** Detects the model in folder `root` (already resolved). */
export async function detectFolder(root: string, signal?: AbortSignal): Promise<Detection> {
  const warnings: string[] = [];
  const { files, dirs } = await walkFolder(root, warnings, signal);
  const rels = files.map((f) => f.rel);
  const sizeBytes = files.reduce((sum, f) => sum + f.size, 0);
  const top = rels.filter((f) => !f.includes('/'));
  const whole = (d: Detection): Detection => ({ ...d, sizeBytes, files: rels, warnings: [...warnings, ...d.warnings] });

  const gguf = pickGguf(root, top, warnings);
  if (gguf) return whole(await detectGguf(path.join(root, gguf), signal));

  if (top.includes('config.json')) {
    const missing: string[] = [];
    const shardFiles = await hfShardFiles(root, rels, missing);
    if (shardFiles.length > 0 || missing.length > 0) {
      const config = await readJsonFile(path.join(root, 'config.json'), 'config.json');
      const metadata = await hfMetadata({ root, files: rels, config, shardFiles }, signal);
      const { kind, reason } = hfKind(metadata, rels);
      return { format: 'safetensors', kind, kindReason: reason, mainFile: undefined, sizeBytes, files: rels, missing, warnings, metadata };
    }
  }

  const propsCache = new Map<string, Record<string, string>>();
  const readProps = async (rel: string | undefined): Promise<Record<string, string>> => {
    if (rel === undefined) return {};
    const cached = propsCache.get(rel);
    if (cached) return cached;
    const props = await onnxPropsBestEffort(root, files.find((f) => f.rel === rel), warnings, signal);
    propsCache.set(rel, props);
    return props;
  };
  const sherpa = await matchSherpa({ name: path.basename(root), files: rels, dirs }, readProps);
  if (sherpa) {
    for (const [role, rel] of Object.entries(sherpa.found)) {
      if (files.find((f) => f.rel === rel)?.size === 0) warnings.push(`${rel} (${role}) is empty (0 bytes): a placeholder or an interrupted download.`);
    }
    const modelMetadataProps = await readProps(sherpa.mainModel);
    return {
      format: 'sherpa-onnx', kind: sherpa.kind, kindReason: `sherpa-onnx ${sherpa.family}: ${sherpa.reason}`,
      mainFile: sherpa.mainModel === undefined ? undefined : path.join(root, sherpa.mainModel),
      sizeBytes, files: rels, missing: sherpa.missing, warnings,
      metadata: { format: 'sherpa-onnx', family: sherpa.family, found: sherpa.found, missing: sherpa.missing, modelMetadataProps },
    };
  }

  const onnx = top.filter((f) => f.toLowerCase().endsWith('.onnx'));
  if (onnx.length === 1) return whole(await detectOnnx(path.join(root, onnx[0]!), signal));
  if (onnx.length > 1) {
    throw new ModelImportError('ambiguous-folder', `${JSON.stringify(root)} holds several unrelated ONNX files (${onnx.slice(0, 5).join(', ')}).`, 'Pick the one .onnx file you want to import.', { path: root });
  }
  const shown = top.slice(0, 8).join(', ') || 'no files';
  throw new ModelImportError(
    'unrecognised',
    `Nothing in ${JSON.stringify(root)} is a model AIMA knows (found: ${shown}${top.length > 8 ? ', …' : ''}).`,
    'Pick a .gguf file, a Hugging Face folder (config.json + .safetensors), an .onnx file or a sherpa-onnx model folder (model .onnx files + tokens.txt).',
    { path: root },
  );
}

/**
 * The GGUF to read in a folder: the only one, or the first shard of the only split set.
 * Multimodal projectors (mmproj-*.gguf) are companions, not the model. Several models: ambiguous.
 */
function pickGguf(root: string, top: string[], warnings: string[]): string | undefined {
  const all = top.filter((f) => f.toLowerCase().endsWith('.gguf'));
  const models = all.filter((f) => !/^mmproj/i.test(f));
  if (models.length < all.length) warnings.push(`Found a multimodal projector (${all.find((f) => /^mmproj/i.test(f))}); it is listed but not analysed.`);
  if (models.length === 0) return undefined;
  const sets = new Set(models.map((f) => f.replace(SPLIT_RE, '')));
  if (sets.size > 1) {
    throw new ModelImportError('ambiguous-folder', `${JSON.stringify(root)} holds several GGUF models (${models.slice(0, 5).join(', ')}).`, 'Pick the one .gguf file you want to import.', { path: root });
  }
  return models.sort()[0];
}

/** metadata_props of an ONNX file; empty (with a warning) when it is a placeholder or unreadable. */
async function onnxPropsBestEffort(root: string, file: WalkedFile | undefined, warnings: string[], signal?: AbortSignal): Promise<Record<string, string>> {
  if (!file || file.size === 0) return {};
  try {
    return (await withFileSource(path.join(root, file.rel), (src) => readOnnx(src, file.rel, signal))).metadataProps;
  } catch (err) {
    if (err instanceof ModelImportError && err.code === 'aborted') throw err;
    warnings.push(`Could not read ${file.rel}: ${err instanceof ModelImportError ? err.problem : String(err)}`);
    return {};
  }
}
