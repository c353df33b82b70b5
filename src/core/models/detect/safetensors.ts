/**
 * Safetensors header reader: 8-byte little-endian header length, then that many bytes of JSON
 * mapping tensor names to dtype, shape and byte range. Only the header is read; the length is
 * checked against the file size and a 100 MB cap before a byte of it is allocated.
 */
import { readExactly, type ByteSource } from './byte-source.js';
import { ModelImportError } from './errors.js';
import type { SafetensorsShard, TypeBytes } from './types.js';

/** Header size limit from the safetensors reference implementation. */
export const SAFETENSORS_MAX_HEADER = 100 * 1000 * 1000;

/** Bytes per element by dtype; sub-byte types (F4, F6_*) are absent and skip the size check. */
const DTYPE_SIZE: Record<string, number> = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, F8_E8M0: 1,
  I16: 2, U16: 2, F16: 2, BF16: 2,
  I32: 4, U32: 4, F32: 4,
  I64: 8, U64: 8, F64: 8, C64: 8,
};

/** Reads one .safetensors header. `file` is the name shown in errors and stored in the result. */
export async function readSafetensorsHeader(src: ByteSource, file: string): Promise<SafetensorsShard> {
  const shown = JSON.stringify(file);
  const fix = 'The file is damaged or incomplete: download it again.';
  const bad = (problem: string) => new ModelImportError('safetensors-header-invalid', `${shown} ${problem}`, fix, { path: file });
  if (src.size < 8) throw bad(`is ${src.size} bytes, too small to be a safetensors file (it needs an 8-byte header length).`);

  const lenBytes = await readExactly(src, 0, 8, () => bad('could not be read.'));
  const view = new DataView(lenBytes.buffer, lenBytes.byteOffset, 8);
  const headerBytes = view.getUint32(4, true) * 2 ** 32 + view.getUint32(0, true);
  if (headerBytes > src.size - 8) throw bad(`declares a ${headerBytes}-byte header but the file has only ${src.size - 8} bytes after the length field.`);
  if (headerBytes > SAFETENSORS_MAX_HEADER) throw bad(`declares a ${headerBytes}-byte header; the format allows at most ${SAFETENSORS_MAX_HEADER}.`);
  if (headerBytes < 2) throw bad(`declares a ${headerBytes}-byte header, too short to hold its JSON.`);

  const raw = await readExactly(src, 8, headerBytes, () => bad('is cut short inside its header.'));
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw));
  } catch (err) {
    throw bad(`has a header that is not valid JSON (${err instanceof Error ? err.message : String(err)}).`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw bad('has a header that is not a JSON object.');

  const dataBytes = src.size - 8 - headerBytes;
  const bytesByDtype: Record<string, TypeBytes> = {};
  let metadata: Record<string, string> = {};
  let tensorCount = 0;
  let tensorBytes = 0;
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = stringMap(entry);
      continue;
    }
    const t = checkTensor(name, entry, dataBytes, bad);
    tensorCount += 1;
    tensorBytes += t.bytes;
    const slot = (bytesByDtype[t.dtype] ??= { tensors: 0, elements: 0, bytes: 0 });
    slot.tensors += 1;
    slot.elements += t.elements;
    slot.bytes += t.bytes;
  }
  return { file, sizeBytes: src.size, headerBytes, tensorCount, tensorBytes, bytesByDtype, metadata };
}

function checkTensor(
  name: string,
  entry: unknown,
  dataBytes: number,
  bad: (problem: string) => ModelImportError,
): { dtype: string; elements: number; bytes: number } {
  const shownName = JSON.stringify(name);
  if (typeof entry !== 'object' || entry === null) throw bad(`describes tensor ${shownName} with something other than an object.`);
  const { dtype, shape, data_offsets: offsets } = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  if (typeof dtype !== 'string') throw bad(`gives tensor ${shownName} no dtype.`);
  if (!Array.isArray(shape) || !shape.every(isCount)) throw bad(`gives tensor ${shownName} an invalid shape ${JSON.stringify(shape)}.`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    throw bad(`gives tensor ${shownName} invalid data_offsets ${JSON.stringify(offsets)}.`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end || end > dataBytes) {
    throw bad(`places tensor ${shownName} at bytes ${begin}–${end}, outside the ${dataBytes} bytes of tensor data.`);
  }
  let elements = 1;
  for (const d of shape as number[]) elements *= d;
  const size = DTYPE_SIZE[dtype];
  if (size !== undefined && elements * size !== end - begin) {
    throw bad(`declares tensor ${shownName} as ${dtype} ${JSON.stringify(shape)} (${elements * size} bytes) but gives it ${end - begin} bytes.`);
  }
  return { dtype, elements, bytes: end - begin };
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof v !== 'object' || v === null) return out;
  for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}
