/**
 * Just enough of the protobuf wire format to walk an ONNX ModelProto through a ByteReader.
 * Hand-written rather than protobufjs because protobufjs decodes from a buffer holding the whole
 * message — a 75 MB model would be read entirely — while this walks fields and seeks past the
 * ones we do not need (weights, subgraph attributes) without reading them.
 */
import type { ByteReader } from './byte-source.js';
import type { ModelImportError } from './errors.js';

export const WIRE = { VARINT: 0, I64: 1, LEN: 2, I32: 5 } as const;

export interface Field {
  field: number;
  wire: number;
  /** VARINT value, or LEN payload length (the cursor is then at the payload start). */
  value: number;
}

/** Field walker bounded to one message's byte range; `bad` builds the error for malformed bytes. */
export class ProtoWalker {
  private steps = 0;
  constructor(
    readonly r: ByteReader,
    readonly bad: (detail: string) => ModelImportError,
    /** Upper bound on fields visited in the whole file: junk made of tiny fields must end fast. */
    private readonly maxSteps = 5_000_000,
  ) {}

  async varint(): Promise<number> {
    const { r } = this;
    await r.need(Math.min(10, r.remaining));
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (r.remaining <= 0 || !r.has(1)) throw this.bad(`a number runs past the end of the file at byte ${r.pos}`);
      const b = r.u8();
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return result;
      scale *= 128;
    }
    throw this.bad(`a number at byte ${r.pos - 10} is longer than 10 bytes`);
  }

  /** Next field header before `end`, or undefined at `end`. LEN payloads are checked against `end`. */
  async next(end: number): Promise<Field | undefined> {
    const { r } = this;
    if (r.pos >= end) {
      if (r.pos > end) throw this.bad(`a field overruns its message (byte ${r.pos} > ${end})`);
      return undefined;
    }
    if (++this.steps > this.maxSteps) throw this.bad(`it has more than ${this.maxSteps} fields`);
    const tag = await this.varint();
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (field === 0) throw this.bad(`field number 0 at byte ${r.pos}`);
    switch (wire) {
      case WIRE.VARINT:
        return { field, wire, value: await this.varint() };
      case WIRE.LEN: {
        const len = await this.varint();
        if (len > end - r.pos) throw this.bad(`field ${field} at byte ${r.pos} claims ${len} bytes, past the end of its message`);
        return { field, wire, value: len };
      }
      case WIRE.I64:
      case WIRE.I32: {
        const n = wire === WIRE.I64 ? 8 : 4;
        if (n > end - r.pos) throw this.bad(`field ${field} runs past the end of its message`);
        r.skip(n);
        return { field, wire, value: 0 };
      }
      default:
        throw this.bad(`unsupported wire type ${wire} at byte ${r.pos}`);
    }
  }

  /** Skips a LEN payload of `len` bytes (no read). */
  skip(f: Field): void {
    if (f.wire === WIRE.LEN) this.r.skip(f.value);
  }

  /** Reads a LEN payload as UTF-8 when ≤ `max` bytes; longer ones are skipped and yield undefined. */
  async string(f: Field, max = 64 * 1024): Promise<string | undefined> {
    if (f.wire !== WIRE.LEN) throw this.bad(`field ${f.field} should be a string`);
    if (f.value > max) {
      this.r.skip(f.value);
      return undefined;
    }
    await this.r.need(f.value);
    return new TextDecoder('utf-8').decode(this.r.bytes(f.value));
  }
}
