/**
 * Fuzzing the GGUF reader: thousands of randomly mutated copies of the real stories260K header
 * (bit flips, extreme u64s, truncation, inserted and deleted bytes) read from memory. Each must
 * either parse or fail with a ModelImportError — never another exception, never a hang — within
 * 200 ms of CPU time. The PRNG is seeded: a failure prints its seed and iteration, and AIMA_FUZZ_SEED replays it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { ModelImportError, readGgufHeader, readOnnx, type ByteSource } from '../../src/core/models/detect/index.js';
import { requirePart, sharedModel } from '../support/system.js';

const STORIES = sharedModel('stories260K/stories260K.gguf');
const SILERO = sharedModel('silero-vad/silero_vad.onnx');
const SEED = Number(process.env.AIMA_FUZZ_SEED ?? 0x5eed_2026);
const PER_CASE_MS = 200;

/** mulberry32: tiny, fast, good enough to spread mutations; same seed → same cases. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The original file with its first `head.length` bytes replaced by a mutated head (which may be
 * longer or shorter), without copying the 1.2 MB tail for every case.
 */
class SplicedSource implements ByteSource {
  readonly size: number;
  constructor(private readonly head: Uint8Array, private readonly tail: Uint8Array, size?: number) {
    this.size = size ?? head.length + tail.length;
  }
  async read(offset: number, length: number): Promise<Uint8Array> {
    const end = Math.min(offset + length, this.size);
    const out = new Uint8Array(Math.max(0, end - offset));
    for (let i = 0; i < out.length; ) {
      const at = offset + i;
      if (at < this.head.length) {
        const part = this.head.subarray(at, Math.min(this.head.length, at + out.length - i));
        out.set(part, i);
        i += part.length;
      } else {
        const part = this.tail.subarray(at - this.head.length, at - this.head.length + out.length - i);
        if (part.length === 0) break;
        out.set(part, i);
        i += part.length;
      }
    }
    return out;
  }
}

const EXTREMES = [0n, 1n, 0x7fn, 0xffn, 0xffffn, 0xffff_ffffn, 1n << 32n, 1n << 53n, 0x7fff_ffff_ffff_ffffn, 0xffff_ffff_ffff_ffffn];

/** One random mutation of `head` (the header region of the file). */
function mutate(head: Uint8Array, rnd: () => number): { head: Uint8Array; truncateTo?: number; what: string } {
  const out = new Uint8Array(head);
  const pos = () => Math.floor(rnd() * out.length);
  const kind = Math.floor(rnd() * 6);
  switch (kind) {
    case 0: { // flip a few bits
      const n = 1 + Math.floor(rnd() * 8);
      for (let i = 0; i < n; i++) out[pos()]! ^= 1 << Math.floor(rnd() * 8);
      return { head: out, what: `flip ${n} bits` };
    }
    case 1: { // random bytes
      const n = 1 + Math.floor(rnd() * 16);
      for (let i = 0; i < n; i++) out[pos()] = Math.floor(rnd() * 256);
      return { head: out, what: `${n} random bytes` };
    }
    case 2: { // an extreme u64 somewhere (counts and lengths are u64)
      const at = Math.min(pos(), out.length - 8);
      const v = EXTREMES[Math.floor(rnd() * EXTREMES.length)]!;
      new DataView(out.buffer).setBigUint64(at, v, true);
      return { head: out, what: `u64 ${v} at ${at}` };
    }
    case 3: { // truncate the whole file somewhere in or just after the header
      return { head: out, truncateTo: Math.floor(rnd() * (out.length + 64)), what: 'truncate' };
    }
    case 4: { // insert bytes (shifts everything after)
      const at = pos();
      const n = 1 + Math.floor(rnd() * 9);
      const ins = Uint8Array.from({ length: n }, () => Math.floor(rnd() * 256));
      return { head: concat(out.subarray(0, at), ins, out.subarray(at)), what: `insert ${n} at ${at}` };
    }
    default: { // delete bytes
      const at = pos();
      const n = 1 + Math.floor(rnd() * 9);
      return { head: concat(out.subarray(0, at), out.subarray(at + n)), what: `delete ${n} at ${at}` };
    }
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

async function fuzz(
  name: string,
  file: Uint8Array,
  headLength: number,
  iterations: number,
  parse: (src: ByteSource) => Promise<unknown>,
): Promise<{ ok: number; rejected: Record<string, number> }> {
  const rnd = prng(SEED);
  const head = file.subarray(0, headLength);
  const tail = file.subarray(headLength);
  const rejected: Record<string, number> = {};
  let ok = 0;
  for (let i = 0; i < iterations; i++) {
    const m = mutate(head, rnd);
    const full = m.head.length + tail.length;
    const src = new SplicedSource(m.head, tail, m.truncateTo === undefined ? full : Math.min(m.truncateTo, full));
    const label = `${name} seed=${SEED} iteration=${i} (${m.what})`;
    // CPU time, not wall time: on 2 cores shared with other suites (load average above 10 seen
    // here) wall time measures the neighbours. A hang still fails: it burns CPU past the limit or
    // hits the test timeout.
    const started = process.cpuUsage();
    try {
      await parse(src);
      ok += 1;
    } catch (err) {
      if (!(err instanceof ModelImportError)) throw new Error(`${label}: threw ${String(err)}`, { cause: err });
      expect(err.message.length, label).toBeGreaterThan(20);
      rejected[err.code] = (rejected[err.code] ?? 0) + 1;
    }
    const used = process.cpuUsage(started);
    const ms = (used.user + used.system) / 1000;
    if (ms > PER_CASE_MS) throw new Error(`${label}: took ${ms.toFixed(0)} ms of CPU (limit ${PER_CASE_MS} ms)`);
  }
  return { ok, rejected };
}

describe('fuzz', () => {
  test('3000 mutated GGUF headers: only ModelImportError, each within 200 ms of CPU', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(STORIES));
    const file = readFileSync(STORIES);
    // 14,272 bytes of header precede the tensor data: mutate those (plus the first data bytes).
    const result = await fuzz('gguf', file, 16 * 1024, 3000, (src) => readGgufHeader(src, 'fuzz.gguf'));
    // The mutations must reach past the magic: several distinct failure kinds, some survivors.
    expect(Object.keys(result.rejected).length).toBeGreaterThanOrEqual(5);
    expect(result.ok).toBeGreaterThan(0);
  });

  test('1000 mutated ONNX headers (Silero VAD): only ModelImportError, each within 200 ms of CPU', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(SILERO));
    const file = readFileSync(SILERO);
    const result = await fuzz('onnx', file, 4 * 1024, 1000, (src) => readOnnx(src, 'fuzz.onnx'));
    expect(result.rejected['onnx-invalid']).toBeGreaterThan(0);
  });
});
