/**
 * Turns parsed GGUF headers (one per shard) into the GgufMetadata the library stores:
 * architecture-prefixed keys resolved, per-layer arrays summarised, shards summed.
 */
import type { GgufHeader, GgufValue } from './gguf.js';
import { EMBEDDING_ARCHITECTURES, LLAMA_FILE_TYPES } from './ggml-types.js';
import type { GgufKeyValue, GgufMetadata, ModelKind, TypeBytes } from './types.js';

/** Longest string copied into `keys`; longer ones (chat templates, licences) are summarised. */
const KEY_STRING_MAX = 256;

/** Builds GgufMetadata from the first shard's header plus any further shards (summed). */
export function ggufMetadata(headers: GgufHeader[], splitFiles: string[] | undefined): GgufMetadata {
  const first = headers[0]!;
  const kv = first.kv;
  const arch = str(kv.get('general.architecture'));
  const archKey = (suffix: string) => (arch === undefined ? undefined : kv.get(`${arch}.${suffix}`));
  const tokens = kv.get('tokenizer.ggml.tokens');
  const template = kv.get('tokenizer.chat_template');
  const fileType = num(kv.get('general.file_type'));

  const bytesByType: Record<string, TypeBytes> = {};
  let parameterCount = 0;
  let tensorDataBytes = 0;
  let tensorCount = 0;
  for (const h of headers) {
    parameterCount += h.parameterCount;
    tensorDataBytes += h.tensorDataBytes;
    tensorCount += h.tensorCount;
    for (const [type, b] of Object.entries(h.bytesByType)) {
      const slot = (bytesByType[type] ??= { tensors: 0, elements: 0, bytes: 0 });
      slot.tensors += b.tensors;
      slot.elements += b.elements;
      slot.bytes += b.bytes;
    }
  }

  return {
    format: 'gguf',
    version: first.version,
    architecture: arch,
    name: str(kv.get('general.name')),
    parameterCount,
    contextLength: num(archKey('context_length')),
    embeddingLength: num(archKey('embedding_length')),
    headCount: num(archKey('attention.head_count')),
    headCountKv: num(archKey('attention.head_count_kv')),
    layerCount: num(archKey('block_count')),
    keyLength: num(archKey('attention.key_length')),
    valueLength: num(archKey('attention.value_length')),
    vocabSize: typeof tokens === 'object' && tokens.kind === 'array' ? tokens.length : num(archKey('vocab_size')),
    fileType,
    quantization: fileType === undefined ? undefined : (LLAMA_FILE_TYPES.get(fileType) ?? `unknown (${fileType})`),
    chatTemplate: {
      present: template !== undefined,
      length: typeof template === 'string' ? new TextEncoder().encode(template).length : typeof template === 'object' ? template.length : 0,
    },
    tensorDataOffset: first.tensorDataOffset,
    tensorDataBytes,
    tensorCount,
    bytesByType,
    split: splitFiles === undefined ? undefined : { count: splitFiles.length, files: splitFiles },
    keys: publicKeys(kv),
  };
}

/** Kind of a GGUF model, with the reason. Embedding architectures, or a pooling type, mean embedding. */
export function ggufKind(meta: GgufMetadata): { kind: ModelKind; reason: string } {
  const arch = meta.architecture ?? 'unknown';
  if (EMBEDDING_ARCHITECTURES.has(arch)) return { kind: 'embedding', reason: `GGUF architecture "${arch}" is an embedding encoder.` };
  if (meta.keys[`${arch}.pooling_type`] !== undefined && meta.chatTemplate.present === false) {
    return { kind: 'embedding', reason: `GGUF declares ${arch}.pooling_type (sentence embeddings) and no chat template.` };
  }
  return { kind: 'llm', reason: `GGUF architecture "${arch}" is a text generator.` };
}

function publicKeys(kv: Map<string, GgufValue>): Record<string, GgufKeyValue> {
  const out: Record<string, GgufKeyValue> = {};
  for (const [key, v] of kv) {
    if (typeof v === 'string') out[key] = v.length <= KEY_STRING_MAX ? v : { string: 'omitted', length: v.length };
    else if (typeof v !== 'object') out[key] = v;
    else if (v.kind === 'string-omitted') out[key] = { string: 'omitted', length: v.length };
    else out[key] = { array: v.elementType, length: v.length };
  }
  return out;
}

function str(v: GgufValue | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** A number, or the largest of a per-layer numeric array (head_count can be one per layer). */
function num(v: GgufValue | undefined): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'object' && v.kind === 'array' && v.values && v.values.length > 0) {
    let max = -Infinity;
    for (const x of v.values) if (typeof x === 'number' && x > max) max = x;
    return Number.isFinite(max) ? max : undefined;
  }
  return undefined;
}
