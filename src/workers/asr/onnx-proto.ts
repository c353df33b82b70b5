/**
 * Just enough of the protobuf wire format to edit an ONNX ModelProto: walk fields, copy the ones we
 * keep byte-for-byte, and write the few we add. The Whisper all-in-one export needs one edit (cut
 * the graph before the onnxruntime-extensions BpeDecoder node); a wire-level splice keeps the 25 MB
 * of encoder/decoder subgraphs untouched instead of decoding and re-encoding them through a full
 * schema. Field numbers are from onnx/onnx.proto (stable since ONNX IR v3).
 */

/** One protobuf field as it sits in the buffer. */
export interface WireField {
  /** Field number. */
  readonly field: number;
  /** Wire type: 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32. */
  readonly wire: number;
  /** Varint value (wire type 0). */
  readonly value: bigint;
  /** Payload bounds for length-delimited fields. */
  readonly start: number;
  readonly end: number;
  /** The whole field, key included, for verbatim copies. */
  readonly rawStart: number;
  readonly rawEnd: number;
}

/** Iterates the fields of one message in `buf[start, end)`. Throws on malformed input. */
export function* wireFields(buf: Uint8Array, start = 0, end = buf.length): Generator<WireField> {
  let p = start;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (p >= end) throw new Error('truncated protobuf varint');
      const c = buf[p++];
      result |= BigInt(c & 0x7f) << shift;
      if ((c & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 70n) throw new Error('malformed protobuf varint');
    }
  };
  while (p < end) {
    const rawStart = p;
    const key = Number(varint());
    const field = key >>> 3;
    const wire = key & 7;
    if (wire === 0) {
      const value = varint();
      yield { field, wire, value, start: p, end: p, rawStart, rawEnd: p };
    } else if (wire === 2) {
      const len = Number(varint());
      const s = p;
      p += len;
      if (p > end) throw new Error('truncated protobuf field');
      yield { field, wire, value: 0n, start: s, end: p, rawStart, rawEnd: p };
    } else if (wire === 5 || wire === 1) {
      const s = p;
      p += wire === 5 ? 4 : 8;
      if (p > end) throw new Error('truncated protobuf field');
      yield { field, wire, value: 0n, start: s, end: p, rawStart, rawEnd: p };
    } else {
      throw new Error(`unsupported protobuf wire type ${wire}`);
    }
  }
}

function encodeVarint(n: number): Uint8Array {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Uint8Array.from(out);
}

/** Encodes a length-delimited field (sub-message, string or bytes). */
export function lengthField(field: number, payload: Uint8Array | string): Uint8Array {
  const body = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
  return concatBytes([encodeVarint((field << 3) | 2), encodeVarint(body.length), body]);
}

/** Encodes a varint field. */
export function varintField(field: number, value: number): Uint8Array {
  return concatBytes([encodeVarint(field << 3), encodeVarint(value)]);
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function wireString(buf: Uint8Array, f: WireField): string {
  return Buffer.from(buf.buffer, buf.byteOffset + f.start, f.end - f.start).toString('utf8');
}

// ONNX field numbers.
const MODEL_GRAPH = 7;
const MODEL_OPSET_IMPORT = 8;
const OPSET_DOMAIN = 1;
const GRAPH_NODE = 1;
const GRAPH_OUTPUT = 12;
const NODE_INPUT = 1;
const NODE_OUTPUT = 2;
const NODE_NAME = 3;
const NODE_OP_TYPE = 4;
const NODE_ATTRIBUTE = 5;
const NODE_DOMAIN = 7;
const ATTR_NAME = 1;
const ATTR_I = 3;
const ATTR_S = 4;

/** A graph node's identity and its scalar/string attributes (tensors and subgraphs are skipped). */
export interface OnnxNodeInfo {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  /** String attributes (decoded as UTF-8). */
  strings: Record<string, string>;
  /** Integer attributes. */
  ints: Record<string, bigint>;
}

function readNode(buf: Uint8Array, f: WireField): OnnxNodeInfo {
  const node: OnnxNodeInfo = { name: '', opType: '', domain: '', inputs: [], outputs: [], strings: {}, ints: {} };
  for (const nf of wireFields(buf, f.start, f.end)) {
    if (nf.field === NODE_INPUT) node.inputs.push(wireString(buf, nf));
    else if (nf.field === NODE_OUTPUT) node.outputs.push(wireString(buf, nf));
    else if (nf.field === NODE_NAME) node.name = wireString(buf, nf);
    else if (nf.field === NODE_OP_TYPE) node.opType = wireString(buf, nf);
    else if (nf.field === NODE_DOMAIN) node.domain = wireString(buf, nf);
    else if (nf.field === NODE_ATTRIBUTE) {
      let name = '';
      let s: string | undefined;
      let i: bigint | undefined;
      for (const af of wireFields(buf, nf.start, nf.end)) {
        if (af.field === ATTR_NAME) name = wireString(buf, af);
        else if (af.field === ATTR_S) s = wireString(buf, af);
        else if (af.field === ATTR_I) i = af.value;
      }
      if (s !== undefined) node.strings[name] = s;
      if (i !== undefined) node.ints[name] = i;
    }
  }
  return node;
}

/** Lists the top-level graph's nodes (attributes holding subgraphs are not descended into). */
export function listNodes(model: Uint8Array): OnnxNodeInfo[] {
  const nodes: OnnxNodeInfo[] = [];
  for (const top of wireFields(model)) {
    if (top.field !== MODEL_GRAPH) continue;
    for (const g of wireFields(model, top.start, top.end)) if (g.field === GRAPH_NODE) nodes.push(readNode(model, g));
  }
  return nodes;
}

/** ONNX TensorProto.DataType values we need. */
export const OnnxElemType = { FLOAT: 1, INT32: 6, INT64: 7, STRING: 8 } as const;

/**
 * Returns a copy of `model` whose top-level graph drops `removeNodes` (by index, as `listNodes`
 * numbers them: node names are optional in ONNX) and whose
 * outputs are exactly `outputs` (name + element type, shape left to inference). Opset imports of
 * `dropDomains` are removed too, so a runtime without that custom-op library does not refuse it.
 */
export function rewriteGraph(
  model: Uint8Array,
  edit: { removeNodes: ReadonlySet<number>; outputs: readonly { name: string; elemType: number }[]; dropDomains?: ReadonlySet<string> },
): Uint8Array {
  const parts: Uint8Array[] = [];
  let sawGraph = false;
  for (const top of wireFields(model)) {
    if (top.field === MODEL_GRAPH) {
      sawGraph = true;
      const graphParts: Uint8Array[] = [];
      let nodeIndex = 0;
      for (const g of wireFields(model, top.start, top.end)) {
        if (g.field === GRAPH_NODE && edit.removeNodes.has(nodeIndex++)) continue;
        if (g.field === GRAPH_OUTPUT) continue;
        graphParts.push(model.subarray(g.rawStart, g.rawEnd));
      }
      for (const out of edit.outputs) {
        // ValueInfoProto { name = 1; type = 2 } / TypeProto { tensor_type = 1 } / Tensor { elem_type = 1 }
        const tensorType = varintField(1, out.elemType);
        const typeProto = lengthField(1, tensorType);
        graphParts.push(lengthField(GRAPH_OUTPUT, concatBytes([lengthField(1, out.name), lengthField(2, typeProto)])));
      }
      parts.push(lengthField(MODEL_GRAPH, concatBytes(graphParts)));
      continue;
    }
    if (top.field === MODEL_OPSET_IMPORT && edit.dropDomains) {
      let domain = '';
      for (const of of wireFields(model, top.start, top.end)) if (of.field === OPSET_DOMAIN) domain = wireString(model, of);
      if (edit.dropDomains.has(domain)) continue;
    }
    parts.push(model.subarray(top.rawStart, top.rawEnd));
  }
  if (!sawGraph) throw new Error('not an ONNX model: no graph found');
  return concatBytes(parts);
}
