/**
 * Builders for model-detection tests: temp folders, small but real safetensors files, patched
 * copies of the shared GGUF. Everything is written under one temp root removed by `cleanup()`.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A temp folder for one test file; `cleanup()` in afterAll. */
export function tempRoot(prefix: string): { dir: string; file: (rel: string, data?: string | Uint8Array) => string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), `aima-${prefix}-`));
  return {
    dir,
    file(rel, data = '') {
      const abs = path.join(dir, rel);
      mkdirSync(path.dirname(abs), { recursive: true });
      writeFileSync(abs, data);
      return abs;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

const DTYPE_BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, I64: 8, U8: 1 };

/**
 * A valid safetensors file: tensors laid out back to back, zero-filled, header padded with spaces
 * to a multiple of 8 as the reference writer does.
 */
export function safetensorsBytes(tensors: Record<string, { dtype: string; shape: number[] }>, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header['__metadata__'] = metadata;
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const bytes = t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype]!;
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  while ((8 + json.length) % 8 !== 0) json += ' ';
  return withHeader(Buffer.from(json, 'utf8'), offset);
}

/** 8-byte LE length + `json` + `dataBytes` zeros; `declaredLength` overrides the length field (to lie). */
export function withHeader(json: Uint8Array, dataBytes: number, declaredLength?: number): Uint8Array {
  const out = Buffer.alloc(8 + json.length + dataBytes);
  out.writeBigUInt64LE(BigInt(declaredLength ?? json.length), 0);
  out.set(json, 8);
  return out;
}

/** Meta-Llama-3-8B's published config.json (meta-llama/Meta-Llama-3-8B, config.json). */
export const LLAMA3_8B_CONFIG = {
  architectures: ['LlamaForCausalLM'],
  attention_bias: false,
  attention_dropout: 0.0,
  bos_token_id: 128000,
  eos_token_id: 128001,
  hidden_act: 'silu',
  hidden_size: 4096,
  initializer_range: 0.02,
  intermediate_size: 14336,
  max_position_embeddings: 8192,
  model_type: 'llama',
  num_attention_heads: 32,
  num_hidden_layers: 32,
  num_key_value_heads: 8,
  pretraining_tp: 1,
  rms_norm_eps: 1e-5,
  rope_scaling: null,
  rope_theta: 500000.0,
  tie_word_embeddings: false,
  torch_dtype: 'bfloat16',
  transformers_version: '4.40.0.dev0',
  use_cache: true,
  vocab_size: 128256,
};

/** Offset just after the GGUF key `key` (its value type u32 starts there), or -1. */
export function ggufKeyEnd(bytes: Uint8Array, key: string): number {
  const i = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).indexOf(Buffer.from(key, 'utf8'));
  return i < 0 ? -1 : i + Buffer.byteLength(key);
}

/** Copy of `bytes` with a u64 LE written at `offset`. */
export function patchU64(bytes: Uint8Array, offset: number, value: bigint): Uint8Array {
  const out = Buffer.from(bytes);
  out.writeBigUInt64LE(value, offset);
  return out;
}

/** GGUF metadata value types, as numbered by the spec. */
export const GT = { U8: 0, I8: 1, U16: 2, I16: 3, U32: 4, I32: 5, F32: 6, BOOL: 7, STRING: 8, ARRAY: 9, U64: 10, I64: 11, F64: 12 } as const;

export type GgufTestValue =
  | { type: Exclude<(typeof GT)[keyof typeof GT], 9>; value: number | bigint | boolean | string }
  | { type: 9; elemType: number; values: GgufTestValue[] | Array<number | string | boolean> };

/** Growable little-endian byte writer (one buffer, doubled as needed: fast for 500k strings). */
/** (room() may swap `buf`, so every write takes its offset first.) */
class LeWriter {
  buf = Buffer.alloc(1 << 16);
  len = 0;
  private room(n: number): number {
    while (this.len + n > this.buf.length) {
      const bigger = Buffer.alloc(this.buf.length * 2);
      this.buf.copy(bigger, 0, 0, this.len);
      this.buf = bigger;
    }
    const at = this.len;
    this.len += n;
    return at;
  }
  u8(v: number) { const at = this.room(1); this.buf.writeUInt8(v, at); }
  i8(v: number) { const at = this.room(1); this.buf.writeInt8(v, at); }
  u16(v: number) { const at = this.room(2); this.buf.writeUInt16LE(v, at); }
  i16(v: number) { const at = this.room(2); this.buf.writeInt16LE(v, at); }
  u32(v: number) { const at = this.room(4); this.buf.writeUInt32LE(v, at); }
  i32(v: number) { const at = this.room(4); this.buf.writeInt32LE(v, at); }
  f32(v: number) { const at = this.room(4); this.buf.writeFloatLE(v, at); }
  f64(v: number) { const at = this.room(8); this.buf.writeDoubleLE(v, at); }
  u64(v: number | bigint) {
    const at = this.room(8);
    // Plain numbers (the common case: lengths) skip the slow BigInt conversion.
    if (typeof v === 'number' && v <= 0xffff_ffff) {
      this.buf.writeUInt32LE(v, at);
      this.buf.writeUInt32LE(0, at + 4);
    } else this.buf.writeBigUInt64LE(BigInt(v), at);
  }
  i64(v: number | bigint) { const at = this.room(8); this.buf.writeBigInt64LE(BigInt(v), at); }
  str(s: string) {
    const n = Buffer.byteLength(s, 'utf8');
    this.u64(n);
    const at = this.room(n);
    this.buf.write(s, at, 'utf8');
  }
  bytes(): Buffer { return this.buf.subarray(0, this.len); }
}

/** Little GGUF writer for tests: any version number, every value type, tensors with real data sizes. */
export function buildGguf(opts: {
  version?: number;
  kv: Array<[string, GgufTestValue]>;
  tensors?: Array<{ name: string; dims: number[]; type: number; bytes: number }>;
  alignment?: number;
}): Uint8Array {
  const w = new LeWriter();
  const scalar = (type: number, v: number | bigint | boolean | string) => {
    switch (type) {
      case GT.U8: return w.u8(Number(v));
      case GT.I8: return w.i8(Number(v));
      case GT.U16: return w.u16(Number(v));
      case GT.I16: return w.i16(Number(v));
      case GT.U32: return w.u32(Number(v));
      case GT.I32: return w.i32(Number(v));
      case GT.F32: return w.f32(Number(v));
      case GT.BOOL: return w.u8(v ? 1 : 0);
      case GT.STRING: return w.str(String(v));
      case GT.U64: return w.u64(v as number | bigint);
      case GT.I64: return w.i64(v as number | bigint);
      case GT.F64: return w.f64(Number(v));
      default: throw new Error(`bad type ${type}`);
    }
  };
  const value = (v: GgufTestValue) => {
    if (v.type === GT.ARRAY) {
      w.u32(v.elemType);
      w.u64(v.values.length);
      for (const x of v.values) {
        if (typeof x === 'object') value(x);
        else scalar(v.elemType, x);
      }
    } else scalar(v.type, v.value);
  };
  w.u32(0x46554747); // "GGUF" read as a little-endian u32
  w.u32(opts.version ?? 3);
  const tensors = opts.tensors ?? [];
  w.u64(tensors.length);
  w.u64(opts.kv.length);
  for (const [key, v] of opts.kv) {
    w.str(key);
    w.u32(v.type);
    value(v);
  }
  const align = opts.alignment ?? 32;
  let offset = 0;
  for (const t of tensors) {
    w.str(t.name);
    w.u32(t.dims.length);
    for (const d of t.dims) w.u64(d);
    w.u32(t.type);
    w.u64(offset);
    offset += Math.ceil(t.bytes / align) * align;
  }
  const head = w.bytes();
  const dataStart = Math.ceil(head.length / align) * align;
  return Buffer.concat([head, Buffer.alloc(dataStart - head.length + offset)]);
}

/** Protobuf encoding of `fields`: numbers as varints, strings and bytes as length-delimited. */
export function pb(fields: Array<[number, number | string | Uint8Array]>): Uint8Array {
  const out: number[] = [];
  const varint = (n: number) => {
    let v = n;
    while (v >= 0x80) {
      out.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    out.push(v);
  };
  for (const [field, value] of fields) {
    if (typeof value === 'number') {
      varint(field * 8);
      varint(value);
    } else {
      const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
      varint(field * 8 + 2);
      varint(bytes.length);
      out.push(...bytes);
    }
  }
  return Uint8Array.from(out);
}

/** ONNX tensor elem types used by tests. */
export const ONNX_FLOAT = 1;
export const ONNX_INT64 = 7;

/** A small but valid ONNX ModelProto: named inputs/outputs, some ops, metadata_props, one initializer. */
export function onnxModel(opts: {
  inputs: Array<[string, number, Array<number | string>]>;
  outputs: Array<[string, number, Array<number | string>]>;
  ops?: Array<[string, string?]>;
  props?: Record<string, string>;
  initializers?: string[];
}): Uint8Array {
  const valueInfo = ([name, elem, dims]: [string, number, Array<number | string>]) =>
    pb([[1, name], [2, pb([[1, pb([[1, elem], [2, pb(dims.map((d) => [1, pb([[typeof d === 'number' ? 1 : 2, d]])]))]])]])]]);
  const graph = pb([
    ...(opts.ops ?? []).map(([op, domain]): [number, Uint8Array] => [1, pb([[4, op], ...(domain ? [[7, domain] as [number, string]] : [])])]),
    [2, 'main'],
    ...(opts.initializers ?? []).map((n): [number, Uint8Array] => [5, pb([[1, 4], [2, ONNX_FLOAT], [8, n], [9, new Uint8Array(16)]])]),
    ...opts.inputs.map((i): [number, Uint8Array] => [11, valueInfo(i)]),
    ...opts.outputs.map((o): [number, Uint8Array] => [12, valueInfo(o)]),
  ]);
  return pb([
    [1, 8],
    [2, 'aima-test'],
    [7, graph],
    [8, pb([[1, ''], [2, 17]])],
    ...Object.entries(opts.props ?? {}).map(([k, v]): [number, Uint8Array] => [14, pb([[1, k], [2, v]])]),
  ]);
}

/**
 * Runs `fn` and returns its result with the process CPU time it used. Tests bound CPU rather than
 * wall time: the 2 cores here are shared with other suites, so wall time measures the neighbours.
 */
export async function withCpuMs<T>(fn: () => Promise<T>): Promise<{ value: T; cpuMs: number }> {
  const started = process.cpuUsage();
  const value = await fn();
  const used = process.cpuUsage(started);
  return { value, cpuMs: (used.user + used.system) / 1000 };
}
