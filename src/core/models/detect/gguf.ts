/**
 * GGUF header reader (spec: ggml/docs/gguf.md, versions 2 and 3). Reads metadata and tensor
 * infos through a ByteReader, checking every count and length against the bytes left and a sane
 * maximum before acting on it, so junk or hostile files fail fast with a ModelImportError and
 * never make us allocate or loop on a number read from disk. Big arrays (tokenizer vocabularies)
 * are skipped, keeping only their length.
 */
import { ByteReader, type ByteSource } from './byte-source.js';
import { ModelImportError, abortedError } from './errors.js';
import { GGML_TYPES } from './ggml-types.js';
import { guessContent, showMagic } from './sniff.js';
import type { TypeBytes } from './types.js';

/** Sane maxima: far above any real model, far below what would hurt us. */
export const GGUF_LIMITS = {
  maxTensors: 1 << 20,
  maxKv: 1 << 20,
  /** Keys and tensor names are identifiers (llama.cpp caps tensor names at 64 bytes). */
  maxKeyLength: 1024,
  maxArrayLength: 1 << 26,
  maxArrayDepth: 3,
  maxDims: 4,
  /** Strings up to this size are kept in memory; longer ones are skipped, length recorded. */
  keepStringBytes: 64 * 1024,
  /** Total string bytes kept per file; past it strings are summarised (a header can be GBs). */
  keepTotalBytes: 16 * 1024 * 1024,
  /** Numeric arrays up to this length are kept (per-layer head counts); longer ones skipped. */
  keepArrayLength: 4096,
} as const;

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** GGUF metadata value types (gguf_type). */
const VT = { U8: 0, I8: 1, U16: 2, I16: 3, U32: 4, I32: 5, F32: 6, BOOL: 7, STRING: 8, ARRAY: 9, U64: 10, I64: 11, F64: 12 } as const;
const VT_NAMES = ['uint8', 'int8', 'uint16', 'int16', 'uint32', 'int32', 'float32', 'bool', 'string', 'array', 'uint64', 'int64', 'float64'];
/** Bytes per scalar of each fixed-size value type (string/array are variable: -1). */
const VT_SIZE = [1, 1, 2, 2, 4, 4, 4, 1, -1, -1, 8, 8, 8];

/** A metadata value as parsed: big strings and arrays are summarised, not materialised. */
export type GgufValue =
  | number
  | boolean
  | string
  | { kind: 'string-omitted'; length: number }
  | { kind: 'array'; elementType: string; length: number; values: Array<number | boolean> | undefined };

/** What one GGUF file's header holds. */
export interface GgufHeader {
  version: number;
  kv: Map<string, GgufValue>;
  tensorCount: number;
  parameterCount: number;
  tensorDataBytes: number;
  tensorDataOffset: number;
  alignment: number;
  bytesByType: Record<string, TypeBytes>;
}

/**
 * Reads the GGUF header from `src`. `label` (the file name or path) appears in error messages.
 * Throws ModelImportError only: gguf-* codes for malformed input, `aborted` on `signal`.
 */
export async function readGgufHeader(src: ByteSource, label: string, signal?: AbortSignal): Promise<GgufHeader> {
  const shown = JSON.stringify(label);
  const err = (code: ConstructorParameters<typeof ModelImportError>[0], problem: string, fix: string) =>
    new ModelImportError(code, `${shown} ${problem}`, fix, { path: label });
  const redownload = 'The file is damaged or incomplete: download it again (and compare its checksum if the source publishes one).';
  const truncated = (wanted: number, at: number) =>
    err('gguf-truncated', `is cut short: its header needs ${wanted} more byte(s) at offset ${at} but the file is ${src.size} bytes.`, redownload);

  if (src.size === 0) throw err('gguf-truncated', 'is empty (0 bytes).', 'The download did not finish: download it again.');
  if (src.size < 4) throw truncated(4, 0);
  const r = new ByteReader(src, truncated, signal);
  await r.fill(Math.min(src.size, 24));
  const magic = r.bytes(4);
  if (magic[0] !== 0x47 || magic[1] !== 0x47 || magic[2] !== 0x55 || magic[3] !== 0x46) {
    const guess = guessContent(await src.read(0, 64));
    throw err(
      'gguf-bad-magic',
      `is not a GGUF file (magic bytes ${showMagic(magic)}, expected 'GGUF')${guess ? `: it looks like ${guess.what}` : ''}.`,
      guess?.fix ?? 'Pick the .gguf file itself, or re-download it.',
    );
  }
  await r.need(4);
  const version = r.u32();
  if (version !== 2 && version !== 3) {
    const swapped = ((version & 0xff) << 24) | ((version >>> 8 & 0xff) << 16) | ((version >>> 16 & 0xff) << 8) | (version >>> 24);
    const bigEndian = swapped === 2 || swapped === 3;
    throw err(
      'gguf-unsupported-version',
      bigEndian ? 'is a big-endian GGUF, which this machine cannot run.' : `has GGUF version ${version}; AIMA reads versions 2 and 3.`,
      bigEndian || version > 3
        ? 'Download the little-endian build of the model (the usual one), or update AIMA if the file is newer.'
        : 'Re-convert the model with a current llama.cpp (convert_hf_to_gguf.py) or download a recent GGUF of it.',
    );
  }

  await r.need(16);
  const tensorCount = r.u64();
  const kvCount = r.u64();
  // Each kv needs ≥ 8 (key length) + 1 (key) + 4 (type) + 1 (value) bytes; each tensor info ≥ 8+1+4+8+4+8.
  checkCount(r, tensorCount, GGUF_LIMITS.maxTensors, 33, 'tensors', err, redownload);
  checkCount(r, kvCount, GGUF_LIMITS.maxKv, 14, 'metadata entries', err, redownload);

  const kv = new Map<string, GgufValue>();
  const ctx: ParseCtx = { r, err, redownload, signal, kept: 0 };
  for (let i = 0; i < kvCount; i++) {
    const key = await readString(ctx, 'metadata key', GGUF_LIMITS.maxKeyLength);
    if (typeof key !== 'string') throw err('gguf-absurd-count', `has a metadata key of ${key.length} bytes (the limit is ${GGUF_LIMITS.maxKeyLength}).`, redownload);
    await r.need(4);
    const type = r.u32();
    kv.set(key, await readValue(ctx, type, 0, key));
  }

  const alignValue = kv.get('general.alignment');
  const alignment = alignValue === undefined ? 32 : typeof alignValue === 'number' ? alignValue : 0;
  if (!Number.isInteger(alignment) || alignment <= 0 || alignment > 1 << 30 || (alignment & (alignment - 1)) !== 0) {
    throw err('gguf-invalid-value-type', `declares general.alignment ${JSON.stringify(alignValue)}; it must be a power of two.`, redownload);
  }

  const tensors: Array<{ name: string; bytes: number; offset: number }> = [];
  const bytesByType: Record<string, TypeBytes> = {};
  let parameterCount = 0;
  for (let i = 0; i < tensorCount; i++) {
    const tname = await readString(ctx, 'tensor name', GGUF_LIMITS.maxKeyLength);
    if (typeof tname !== 'string') throw err('gguf-absurd-count', `has a tensor name of ${tname.length} bytes (the limit is ${GGUF_LIMITS.maxKeyLength}).`, redownload);
    await r.need(4);
    const nDims = r.u32();
    if (nDims > GGUF_LIMITS.maxDims) throw err('gguf-invalid-tensor', `declares tensor ${JSON.stringify(tname)} with ${nDims} dimensions (GGML allows at most ${GGUF_LIMITS.maxDims}).`, redownload);
    await r.need(nDims * 8 + 12);
    let elements = 1;
    let firstDim = 1;
    for (let d = 0; d < nDims; d++) {
      const n = r.i64();
      if (n < 0 || n > MAX_SAFE) throw err('gguf-invalid-tensor', `declares tensor ${JSON.stringify(tname)} with dimension ${n}.`, redownload);
      if (d === 0) firstDim = n;
      elements *= n;
      if (elements > MAX_SAFE) throw err('gguf-absurd-count', `declares tensor ${JSON.stringify(tname)} with more than 2^53 elements.`, redownload);
    }
    const typeId = r.u32();
    const offset = r.u64();
    const info = GGML_TYPES.get(typeId);
    if (!info) throw err('gguf-invalid-tensor', `declares tensor ${JSON.stringify(tname)} with unknown GGML type ${typeId}.`, 'Update AIMA if the model uses a new quantization type; otherwise download the file again.');
    if (firstDim % info.blockSize !== 0) {
      throw err('gguf-invalid-tensor', `declares tensor ${JSON.stringify(tname)} whose row of ${firstDim} is not a multiple of the ${info.name} block size ${info.blockSize}.`, redownload);
    }
    const bytes = (elements / info.blockSize) * info.typeSize;
    if (offset % alignment !== 0) throw err('gguf-invalid-tensor', `declares tensor ${JSON.stringify(tname)} at offset ${offset}, not aligned to ${alignment} bytes.`, redownload);
    parameterCount += elements;
    const slot = (bytesByType[info.name] ??= { tensors: 0, elements: 0, bytes: 0 });
    slot.tensors += 1;
    slot.elements += elements;
    slot.bytes += bytes;
    tensors.push({ name: tname, bytes, offset });
  }

  const tensorDataOffset = Math.ceil(r.pos / alignment) * alignment;
  const dataAvailable = src.size - tensorDataOffset;
  let tensorDataBytes = 0;
  for (const t of tensors) {
    tensorDataBytes += t.bytes;
    if (t.offset + t.bytes > dataAvailable) {
      throw err(
        'gguf-truncated',
        `is cut short: tensor ${JSON.stringify(t.name)} ends at byte ${tensorDataOffset + t.offset + t.bytes} but the file is ${src.size} bytes.`,
        redownload,
      );
    }
  }
  return { version, kv, tensorCount, parameterCount, tensorDataBytes, tensorDataOffset, alignment, bytesByType };
}

interface ParseCtx {
  r: ByteReader;
  err: (code: ConstructorParameters<typeof ModelImportError>[0], problem: string, fix: string) => ModelImportError;
  redownload: string;
  signal: AbortSignal | undefined;
  /** String bytes kept so far (see GGUF_LIMITS.keepTotalBytes). */
  kept: number;
}

/** Rejects a count above `max` (absurd) or one the remaining bytes cannot hold (cut short). */
function checkCount(r: ByteReader, count: number, max: number, minBytesEach: number, what: string, err: ParseCtx['err'], fix: string): void {
  if (count > max) throw err('gguf-absurd-count', `declares ${count} ${what}; no real model has more than ${max}.`, fix);
  if (count * minBytesEach > r.remaining) {
    throw err('gguf-truncated', `declares ${count} ${what} but only ${r.remaining} bytes follow, too few to hold them.`, fix);
  }
}

/**
 * Reads a gguf_string. Values are kept when ≤ keepStringBytes and within the per-file budget, else
 * only their length is returned (bytes skipped); identifiers (`maxLength` set) are kept up to it.
 */
async function readString(ctx: ParseCtx, what: string, maxLength?: number): Promise<string | { kind: 'string-omitted'; length: number }> {
  const { r } = ctx;
  await r.need(8);
  const at = r.pos;
  const length = r.u64();
  if (length > r.remaining) {
    throw ctx.err(
      'gguf-string-past-eof',
      `has a ${what} at offset ${at} declared as ${length} bytes long, past the end of the file (${r.remaining} bytes left).`,
      ctx.redownload,
    );
  }
  const keep = maxLength !== undefined
    ? length <= maxLength
    : length <= GGUF_LIMITS.keepStringBytes && ctx.kept + length <= GGUF_LIMITS.keepTotalBytes;
  if (!keep) {
    r.skip(length);
    return { kind: 'string-omitted', length };
  }
  await r.need(length);
  if (maxLength === undefined) ctx.kept += length;
  return new TextDecoder('utf-8').decode(r.bytes(length));
}

async function readValue(ctx: ParseCtx, type: number, depth: number, key: string): Promise<GgufValue> {
  const { r } = ctx;
  switch (type) {
    case VT.STRING:
      return readString(ctx, `string value of ${JSON.stringify(key)}`);
    case VT.ARRAY:
      return readArray(ctx, depth, key);
    default: {
      const size = VT_SIZE[type];
      if (size === undefined || size < 0) {
        throw ctx.err('gguf-invalid-value-type', `has metadata ${JSON.stringify(key)} with unknown value type ${type}.`, ctx.redownload);
      }
      await r.need(size);
      return readScalar(r, type);
    }
  }
}

function readScalar(r: ByteReader, type: number): number | boolean {
  switch (type) {
    case VT.U8: return r.u8();
    case VT.I8: return r.i8();
    case VT.U16: return r.u16();
    case VT.I16: return r.i16();
    case VT.U32: return r.u32();
    case VT.I32: return r.i32();
    case VT.F32: return r.f32();
    case VT.BOOL: return r.u8() !== 0;
    case VT.U64: return r.u64();
    case VT.I64: return r.i64();
    default: return r.f64(); // VT.F64: the caller has ruled out every other type
  }
}

async function readArray(ctx: ParseCtx, depth: number, key: string): Promise<GgufValue> {
  const { r } = ctx;
  const shownKey = JSON.stringify(key);
  if (depth >= GGUF_LIMITS.maxArrayDepth) {
    throw ctx.err('gguf-invalid-value-type', `nests arrays more than ${GGUF_LIMITS.maxArrayDepth} deep in ${shownKey}.`, ctx.redownload);
  }
  await r.need(12);
  const elemType = r.u32();
  const length = r.u64();
  const elemName = VT_NAMES[elemType];
  if (elemName === undefined) {
    throw ctx.err('gguf-invalid-value-type', `has array ${shownKey} with unknown element type ${elemType}.`, ctx.redownload);
  }
  // Strings need ≥ 8 bytes (their length), arrays ≥ 12; fixed types their own size.
  const minEach = elemType === VT.STRING ? 8 : elemType === VT.ARRAY ? 12 : VT_SIZE[elemType]!;
  if (length > GGUF_LIMITS.maxArrayLength) {
    throw ctx.err('gguf-absurd-count', `declares array ${shownKey} with ${length} elements; the limit is ${GGUF_LIMITS.maxArrayLength}.`, ctx.redownload);
  }
  if (length * minEach > r.remaining) {
    throw ctx.err('gguf-truncated', `declares array ${shownKey} with ${length} elements but only ${r.remaining} bytes follow.`, ctx.redownload);
  }
  const size = VT_SIZE[elemType]!;
  if (size > 0) {
    if (length > GGUF_LIMITS.keepArrayLength) {
      r.skip(length * size);
      return { kind: 'array', elementType: elemName, length, values: undefined };
    }
    await r.need(length * size);
    const values: Array<number | boolean> = [];
    for (let i = 0; i < length; i++) values.push(readScalar(r, elemType));
    return { kind: 'array', elementType: elemName, length, values };
  }
  // Variable-size elements: walk them without keeping them (a vocabulary can be 250k strings).
  for (let i = 0; i < length; i++) {
    if ((i & 0x3fff) === 0 && ctx.signal?.aborted) throw abortedError(undefined);
    if (elemType === VT.STRING) {
      if (!r.has(8)) await r.fill(8);
      const at = r.pos;
      const n = r.u64();
      if (n > r.remaining) {
        throw ctx.err('gguf-string-past-eof', `has element ${i} of array ${shownKey} at offset ${at} declared as ${n} bytes, past the end of the file.`, ctx.redownload);
      }
      r.skip(n);
    } else {
      await readArray(ctx, depth + 1, key);
    }
  }
  return { kind: 'array', elementType: elemName, length, values: undefined };
}
