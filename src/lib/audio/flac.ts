/**
 * A small FLAC encoder for 16-bit mono PCM (recorded voice turns), lossless and readable by every
 * FLAC decoder (libFLAC, sox, ffmpeg, browsers' <audio>). Each block of 4096 samples becomes one
 * frame whose subframe is the smallest of: constant (digital silence), verbatim, or one of the
 * fixed polynomial predictors of order 0–4 with a Rice-coded residual partitioned 2^0–2^6 ways.
 * No LPC: speech compresses to roughly half of WAV this way, which is what recordings need.
 *
 * Also reads a FLAC file's STREAMINFO (sample rate, sample count) for durations.
 */
import { createHash } from 'node:crypto';

const BLOCK_SIZE = 4096;
const MAX_FIXED_ORDER = 4;
const MAX_PARTITION_ORDER = 6;
/** Largest Rice parameter with the 4-bit encoding (15 is the escape code, never used here). */
const MAX_RICE_PARAM = 14;

/** Bits written most significant first into a growing byte buffer. */
class BitWriter {
  private buf: Uint8Array;
  private bytePos = 0;
  private acc = 0;
  private accBits = 0;

  constructor(initial = 1 << 16) {
    this.buf = new Uint8Array(initial);
  }

  /** Writes the low `n` bits of `value` (n ≤ 32; value as unsigned). */
  write(value: number, n: number): void {
    if (n > 24) {
      this.write(Math.floor(value / 2 ** 16) & ((1 << (n - 16)) - 1), n - 16);
      this.write(value & 0xffff, 16);
      return;
    }
    this.acc = ((this.acc << n) | (value & ((1 << n) - 1))) >>> 0;
    this.accBits += n;
    while (this.accBits >= 8) {
      this.accBits -= 8;
      this.pushByte((this.acc >>> this.accBits) & 0xff);
    }
    this.acc &= (1 << this.accBits) - 1;
  }

  /** `q` zero bits then a one (a Rice quotient). */
  unary(q: number): void {
    while (q >= 16) {
      this.write(0, 16);
      q -= 16;
    }
    this.write(1, q + 1);
  }

  alignToByte(): void {
    if (this.accBits > 0) this.write(0, 8 - this.accBits);
  }

  get length(): number {
    return this.bytePos;
  }

  bytes(from = 0, to = this.bytePos): Uint8Array {
    return this.buf.subarray(from, to);
  }

  private pushByte(b: number): void {
    if (this.bytePos === this.buf.length) {
      const next = new Uint8Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.bytePos++] = b;
  }
}

const CRC8_TABLE = (() => {
  const t = new Uint8Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let j = 0; j < 8; j++) c = c & 0x80 ? ((c << 1) ^ 0x07) & 0xff : (c << 1) & 0xff;
    t[i] = c;
  }
  return t;
})();

const CRC16_TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let j = 0; j < 8; j++) c = c & 0x8000 ? ((c << 1) ^ 0x8005) & 0xffff : (c << 1) & 0xffff;
    t[i] = c;
  }
  return t;
})();

function crc8(b: Uint8Array): number {
  let c = 0;
  for (const x of b) c = CRC8_TABLE[c ^ x]!;
  return c;
}

function crc16(b: Uint8Array): number {
  let c = 0;
  for (const x of b) c = ((c << 8) & 0xffff) ^ CRC16_TABLE[(c >> 8) ^ x]!;
  return c;
}

/** The frame number in FLAC's UTF-8-like variable-length coding. */
function writeUtf8Number(w: BitWriter, n: number): void {
  if (n < 0x80) return w.write(n, 8);
  let bytes = 2;
  while (n >= 2 ** (5 * bytes + 1)) bytes++;
  const lead = (0xff << (8 - bytes)) & 0xff;
  w.write(lead | Math.floor(n / 2 ** (6 * (bytes - 1))), 8);
  for (let i = bytes - 2; i >= 0; i--) w.write(0x80 | (Math.floor(n / 2 ** (6 * i)) & 0x3f), 8);
}

/** The residual of the fixed predictor of `order` (the order-th difference) for x[order..]. */
function fixedResidual(x: Int32Array, order: number): Int32Array {
  const n = x.length;
  const r = new Int32Array(Math.max(0, n - order));
  for (let i = order; i < n; i++) {
    let p: number;
    switch (order) {
      case 0:
        p = 0;
        break;
      case 1:
        p = x[i - 1]!;
        break;
      case 2:
        p = 2 * x[i - 1]! - x[i - 2]!;
        break;
      case 3:
        p = 3 * x[i - 1]! - 3 * x[i - 2]! + x[i - 3]!;
        break;
      default:
        p = 4 * x[i - 1]! - 6 * x[i - 2]! + 4 * x[i - 3]! - x[i - 4]!;
    }
    r[i - order] = x[i]! - p;
  }
  return r;
}

interface RicePlan {
  partitionOrder: number;
  params: number[];
  bits: number;
}

/**
 * The cheapest partition order and Rice parameters for a residual (folded to unsigned). The sums
 * Σ(u >> k) are taken once over the finest partitions and added pairwise for the coarser ones.
 */
function planRice(folded: Uint32Array, blockSize: number, predictorOrder: number): RicePlan {
  let maxPo = 0;
  while (maxPo < MAX_PARTITION_ORDER && blockSize % (1 << (maxPo + 1)) === 0 && blockSize >> (maxPo + 1) > predictorOrder) maxPo++;
  const K = MAX_RICE_PARAM + 1;
  // sums[p * K + k]: Σ(u >> k) over partition p at the finest order; counts[p]: its residuals.
  let parts = 1 << maxPo;
  let sums = new Float64Array(parts * K);
  let counts = new Float64Array(parts);
  for (let p = 0, at = 0; p < parts; p++) {
    const count = (blockSize >> maxPo) - (p === 0 ? predictorOrder : 0);
    counts[p] = count;
    for (let i = at; i < at + count; i++) {
      let u = folded[i]!;
      for (let k = 0; k < K && u > 0; k++, u >>>= 1) sums[p * K + k]! += u;
    }
    at += count;
  }
  let best: RicePlan | null = null;
  for (let po = maxPo; po >= 0; po--) {
    const params: number[] = [];
    let bits = 2 + 4; // coding method, partition order
    for (let p = 0; p < parts; p++) {
      let bestK = 0;
      let bestBits = Infinity;
      for (let k = 0; k < K; k++) {
        const b = counts[p]! * (k + 1) + sums[p * K + k]!;
        if (b < bestBits) {
          bestBits = b;
          bestK = k;
        }
      }
      params.push(bestK);
      bits += 4 + bestBits;
    }
    if (!best || bits < best.bits) best = { partitionOrder: po, params, bits };
    if (po > 0) {
      parts >>= 1;
      const s2 = new Float64Array(parts * K);
      const c2 = new Float64Array(parts);
      for (let p = 0; p < parts; p++) {
        c2[p] = counts[2 * p]! + counts[2 * p + 1]!;
        for (let k = 0; k < K; k++) s2[p * K + k] = sums[2 * p * K + k]! + sums[(2 * p + 1) * K + k]!;
      }
      sums = s2;
      counts = c2;
    }
  }
  return best!;
}

function fold(r: Int32Array): Uint32Array {
  const u = new Uint32Array(r.length);
  for (let i = 0; i < r.length; i++) u[i] = ((r[i]! << 1) ^ (r[i]! >> 31)) >>> 0;
  return u;
}

/** Writes one mono 16-bit subframe, choosing the smallest encoding. */
function writeSubframe(w: BitWriter, x: Int32Array): void {
  const n = x.length;
  if (x.every((v) => v === x[0])) {
    w.write(0, 1);
    w.write(0b000000, 6);
    w.write(0, 1);
    w.write(x[0]! & 0xffff, 16);
    return;
  }
  let best: { order: number; folded: Uint32Array; plan: RicePlan; bits: number } | null = null;
  for (let order = 0; order <= Math.min(MAX_FIXED_ORDER, n - 1); order++) {
    const folded = fold(fixedResidual(x, order));
    const plan = planRice(folded, n, order);
    const bits = order * 16 + plan.bits;
    if (!best || bits < best.bits) best = { order, folded, plan, bits };
  }
  if (!best || best.bits >= n * 16) {
    w.write(0, 1);
    w.write(0b000001, 6);
    w.write(0, 1);
    for (let i = 0; i < n; i++) w.write(x[i]! & 0xffff, 16);
    return;
  }
  w.write(0, 1);
  w.write(0b001000 | best.order, 6);
  w.write(0, 1);
  for (let i = 0; i < best.order; i++) w.write(x[i]! & 0xffff, 16);
  w.write(0b00, 2);
  w.write(best.plan.partitionOrder, 4);
  let at = 0;
  for (let p = 0; p < best.plan.params.length; p++) {
    const k = best.plan.params[p]!;
    const count = (n >> best.plan.partitionOrder) - (p === 0 ? best.order : 0);
    w.write(k, 4);
    for (let i = at; i < at + count; i++) {
      const u = best.folded[i]!;
      w.unary(u >>> k);
      if (k > 0) w.write(u & ((1 << k) - 1), k);
    }
    at += count;
  }
}

/** Encodes 16-bit mono PCM at `sampleRate` (1–655,350 Hz) as a FLAC file. */
export function encodeFlac(pcm: Int16Array, sampleRate: number): Uint8Array {
  if (!Number.isInteger(sampleRate) || sampleRate < 1 || sampleRate > 655_350) throw new RangeError(`FLAC sample rate out of range: ${sampleRate}`);
  const w = new BitWriter(Math.max(1 << 12, pcm.length));
  // "fLaC", then STREAMINFO as the last (only) metadata block.
  for (const c of 'fLaC') w.write(c.charCodeAt(0), 8);
  w.write(1, 1);
  w.write(0, 7);
  w.write(34, 24);
  w.write(BLOCK_SIZE, 16);
  w.write(BLOCK_SIZE, 16);
  w.write(0, 24); // min frame size: unknown
  w.write(0, 24); // max frame size: unknown
  w.write(sampleRate, 20);
  w.write(0, 3); // channels - 1
  w.write(15, 5); // bits per sample - 1
  w.write(Math.floor(pcm.length / 2 ** 32), 4);
  w.write(pcm.length >>> 0, 32);
  const md5 = createHash('md5').update(new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength)).digest();
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('FLAC encoding assumes a little-endian host (the MD5 is of little-endian samples).');
  for (const b of md5) w.write(b, 8);

  for (let frame = 0, start = 0; start < pcm.length; frame++, start += BLOCK_SIZE) {
    const n = Math.min(BLOCK_SIZE, pcm.length - start);
    const x = Int32Array.from(pcm.subarray(start, start + n));
    const frameStart = w.length;
    w.write(0b11111111111110, 14);
    w.write(0, 1); // reserved
    w.write(0, 1); // fixed block size: the header numbers frames
    w.write(0b0111, 4); // block size: 16 bits (n - 1) after the frame number
    w.write(0b0000, 4); // sample rate: from STREAMINFO
    w.write(0b0000, 4); // one channel
    w.write(0b100, 3); // 16 bits per sample
    w.write(0, 1);
    writeUtf8Number(w, frame);
    w.write(n - 1, 16);
    w.write(crc8(w.bytes(frameStart)), 8);
    writeSubframe(w, x);
    w.alignToByte();
    w.write(crc16(w.bytes(frameStart)), 16);
  }
  return w.bytes().slice();
}

/** A FLAC file's STREAMINFO facts. */
export interface FlacInfo {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  samples: number;
  seconds: number;
}

/** Reads STREAMINFO; throws when the bytes are not a FLAC file. */
export function readFlacInfo(bytes: Uint8Array): FlacInfo {
  if (bytes.length < 42 || String.fromCharCode(...bytes.subarray(0, 4)) !== 'fLaC' || (bytes[4]! & 0x7f) !== 0) throw new Error('not a FLAC file (no fLaC marker and STREAMINFO)');
  const b = bytes.subarray(8);
  const sampleRate = (b[10]! << 12) | (b[11]! << 4) | (b[12]! >> 4);
  const channels = ((b[12]! >> 1) & 0x7) + 1;
  const bitsPerSample = (((b[12]! & 1) << 4) | (b[13]! >> 4)) + 1;
  const samples = (b[13]! & 0x0f) * 2 ** 32 + ((b[14]! << 24) >>> 0) + (b[15]! << 16) + (b[16]! << 8) + b[17]!;
  return { sampleRate, channels, bitsPerSample, samples, seconds: sampleRate ? samples / sampleRate : 0 };
}
