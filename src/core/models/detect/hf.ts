/**
 * Hugging Face model folders: config.json for the architecture, safetensors headers (all shards)
 * for what the weights really are, model.safetensors.index.json for which shards must exist.
 */
import path from 'node:path';
import { withFileSource } from './byte-source.js';
import { ModelImportError } from './errors.js';
import { readSafetensorsHeader } from './safetensors.js';
import type { HfSafetensorsMetadata, ModelKind, SafetensorsShard, TypeBytes } from './types.js';

/** config.json files are a few KB; anything past this is not a config. */
const MAX_JSON_BYTES = 16 * 1024 * 1024;

/** Reads and parses a small JSON file; `json-invalid` when it is not a JSON object. */
export async function readJsonFile(abs: string, rel: string): Promise<Record<string, unknown>> {
  const shown = JSON.stringify(rel);
  const fix = `Restore ${rel} from the model's original download (it must be the JSON the model was published with).`;
  const text = await withFileSource(abs, async (src) => {
    if (src.size > MAX_JSON_BYTES) throw new ModelImportError('json-invalid', `${shown} is ${src.size} bytes, far too big for a JSON configuration file.`, fix, { path: abs });
    return new TextDecoder('utf-8').decode(await src.read(0, src.size));
  });
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ModelImportError('json-invalid', `${shown} is not valid JSON (${err instanceof Error ? err.message : String(err)}).`, fix, { path: abs, cause: err });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ModelImportError('json-invalid', `${shown} is JSON but not an object.`, fix, { path: abs });
  }
  return value as Record<string, unknown>;
}

export interface HfInput {
  root: string;
  /** Relative paths of every file in the folder. */
  files: string[];
  /** Parsed config.json, or undefined for a bare .safetensors file. */
  config: Record<string, unknown> | undefined;
  /** The safetensors files to read (relative). */
  shardFiles: string[];
}

/** Reads every shard header and combines them with config.json. */
export async function hfMetadata(input: HfInput, signal?: AbortSignal): Promise<HfSafetensorsMetadata> {
  const shards: SafetensorsShard[] = [];
  for (const rel of input.shardFiles) {
    signal?.throwIfAborted();
    shards.push(await withFileSource(path.join(input.root, rel), (src) => readSafetensorsHeader(src, rel)));
  }
  const c = input.config ?? {};
  // Multimodal configs (Llava, Gemma 3, Mistral 3) keep the language model's numbers in text_config.
  const text = isObject(c['text_config']) ? c['text_config'] : {};
  const n = (...keys: string[]) => {
    for (const k of keys) for (const src of [c, text]) if (typeof src[k] === 'number' && Number.isFinite(src[k])) return src[k] as number;
    return undefined;
  };
  const s = (...keys: string[]) => {
    for (const k of keys) for (const src of [c, text]) if (typeof src[k] === 'string') return src[k] as string;
    return undefined;
  };
  const bytesByDtype: Record<string, TypeBytes> = {};
  let tensorCount = 0;
  let tensorBytes = 0;
  let parameterCount = 0;
  for (const sh of shards) {
    tensorCount += sh.tensorCount;
    tensorBytes += sh.tensorBytes;
    for (const [dtype, b] of Object.entries(sh.bytesByDtype)) {
      parameterCount += b.elements;
      const slot = (bytesByDtype[dtype] ??= { tensors: 0, elements: 0, bytes: 0 });
      slot.tensors += b.tensors;
      slot.elements += b.elements;
      slot.bytes += b.bytes;
    }
  }
  return {
    format: 'safetensors',
    hasConfig: input.config !== undefined,
    architectures: Array.isArray(c['architectures']) ? c['architectures'].filter((a): a is string => typeof a === 'string') : [],
    modelType: s('model_type'),
    // transformers ≥ 4.56 writes "dtype"; older configs "torch_dtype".
    torchDtype: s('torch_dtype', 'dtype'),
    hiddenSize: n('hidden_size', 'n_embd', 'd_model'),
    numHiddenLayers: n('num_hidden_layers', 'n_layer', 'num_layers'),
    numAttentionHeads: n('num_attention_heads', 'n_head'),
    numKeyValueHeads: n('num_key_value_heads', 'num_kv_heads'),
    maxPositionEmbeddings: n('max_position_embeddings', 'n_positions', 'max_seq_len'),
    vocabSize: n('vocab_size'),
    parameterCount,
    shards,
    tensorCount,
    tensorBytes,
    bytesByDtype,
  };
}

/**
 * The shard files a folder's model consists of: the index's weight_map when there is one
 * (recording absent shards in `missing`), else every top-level .safetensors file.
 */
export async function hfShardFiles(root: string, files: string[], missing: string[]): Promise<string[]> {
  const indexRel = files.find((f) => f === 'model.safetensors.index.json');
  if (indexRel) {
    const index = await readJsonFile(path.join(root, indexRel), indexRel);
    const map = isObject(index['weight_map']) ? index['weight_map'] : {};
    const wanted = [...new Set(Object.values(map).filter((v): v is string => typeof v === 'string'))].sort();
    const present = new Set(files);
    const shards: string[] = [];
    for (const w of wanted) {
      // weight_map values are plain file names; anything with a separator or ".." is not followed.
      if (w.includes('/') || w.includes('\\') || w === '..' || !w.endsWith('.safetensors')) {
        throw new ModelImportError('json-invalid', `${indexRel} names a shard ${JSON.stringify(w)} that is not a plain .safetensors file name.`, 'Restore model.safetensors.index.json from the original download.', { path: path.join(root, indexRel) });
      }
      if (present.has(w)) shards.push(w);
      else missing.push(w);
    }
    if (wanted.length > 0) return shards;
  }
  return files.filter((f) => !f.includes('/') && f.toLowerCase().endsWith('.safetensors')).sort();
}

/** Kind from architectures / model_type, with the reason; sentence-transformers files mean embedding. */
export function hfKind(meta: HfSafetensorsMetadata, files: string[]): { kind: ModelKind; reason: string } {
  const arch = meta.architectures.join(', ');
  const type = (meta.modelType ?? '').toLowerCase();
  const all = `${arch} ${type}`.toLowerCase();
  if (files.includes('modules.json') || files.includes('config_sentence_transformers.json')) {
    return { kind: 'embedding', reason: 'sentence-transformers files (modules.json) are present.' };
  }
  if (/whisper|wav2vec|hubert|speech2text|ctc|parakeet|moonshine/.test(all)) return { kind: 'asr', reason: `architecture ${arch || type} is a speech recogniser.` };
  if (/vits|speecht5fortexttospeech|bark|kokoro|parler|texttospeech|tts/.test(all)) return { kind: 'tts', reason: `architecture ${arch || type} is a speech synthesiser.` };
  if (meta.architectures.some((a) => /(ForCausalLM|LMHeadModel|ForConditionalGeneration)$/.test(a))) {
    return { kind: 'llm', reason: `architecture ${arch} generates text.` };
  }
  if (/bert|roberta|e5|bge|gte|mpnet|minilm/.test(all) || meta.architectures.some((a) => /Model$/.test(a))) {
    return { kind: 'embedding', reason: `architecture ${arch || type} is an encoder without a generation head.` };
  }
  return { kind: 'llm', reason: meta.hasConfig ? `config.json names no known architecture (${arch || 'none'}); assumed a text generator.` : 'a bare .safetensors file without config.json; assumed a text generator.' };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
