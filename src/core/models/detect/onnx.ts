/**
 * Light ONNX ModelProto reader (onnx/onnx.proto3): graph inputs/outputs, opset imports,
 * metadata_props and a count of top-level ops — without reading weights or subgraphs — and the
 * rules that recognise the single-file models AIMA knows (Whisper Olive export, Silero VAD).
 */
import { ByteReader, type ByteSource } from './byte-source.js';
import { ModelImportError } from './errors.js';
import { ProtoWalker, WIRE, type Field } from './protobuf.js';
import type { ModelKind, OnnxMetadata, OnnxTensorInfo, OnnxVariant } from './types.js';

/** TensorProto.DataType → name. */
const ELEM_TYPES = [
  'undefined', 'float32', 'uint8', 'int8', 'uint16', 'int16', 'int32', 'int64', 'string', 'bool', 'float16',
  'float64', 'uint32', 'uint64', 'complex64', 'complex128', 'bfloat16', 'float8e4m3fn', 'float8e4m3fnuz',
  'float8e5m2', 'float8e5m2fnuz', 'uint4', 'int4', 'float4e2m1',
];

const MAX_IO = 10_000;

/** Reads what detection needs from an ONNX file. Throws `onnx-invalid` on malformed input. */
export async function readOnnx(src: ByteSource, label: string, signal?: AbortSignal): Promise<OnnxMetadata> {
  const shown = JSON.stringify(label);
  const bad = (detail: string) =>
    new ModelImportError('onnx-invalid', `${shown} is not a readable ONNX model (${detail}).`, 'Pick the .onnx file itself, or download it again.', { path: label });
  if (src.size === 0) throw bad('the file is empty');
  const r = new ByteReader(src, (wanted, at) => bad(`it ends at byte ${src.size} while ${wanted} more bytes were expected at ${at}`), signal);
  const w = new ProtoWalker(r, bad);

  const meta: OnnxMetadata = {
    format: 'onnx', variant: 'generic', irVersion: undefined, producerName: undefined, producerVersion: undefined,
    opsets: {}, inputs: [], outputs: [], opCounts: {}, nodeCount: 0, initializerCount: 0, metadataProps: {},
  };
  const initializers = new Set<string>();
  let sawGraph = false;
  for (let f = await w.next(src.size); f; f = await w.next(src.size)) {
    if (f.field === 1 && f.wire === WIRE.VARINT) meta.irVersion = f.value;
    else if (f.field === 2 && f.wire === WIRE.LEN) meta.producerName = await w.string(f, 1024);
    else if (f.field === 3 && f.wire === WIRE.LEN) meta.producerVersion = await w.string(f, 1024);
    else if (f.field === 7 && f.wire === WIRE.LEN) {
      sawGraph = true;
      await readGraph(w, r.pos + f.value, meta, initializers);
    } else if (f.field === 8 && f.wire === WIRE.LEN) {
      const [domain, version] = await readPair(w, r.pos + f.value, 'varint');
      meta.opsets[domain ?? ''] = Number(version ?? 0);
    } else if (f.field === 14 && f.wire === WIRE.LEN) {
      const [key, value] = await readPair(w, r.pos + f.value, 'string');
      if (key !== undefined && Object.keys(meta.metadataProps).length < MAX_IO) meta.metadataProps[key] = String(value ?? '');
    } else w.skip(f);
  }
  if (!sawGraph || meta.irVersion === undefined) throw bad(sawGraph ? 'it has no ir_version' : 'it has no graph');
  // Before IR 4, weights were also listed as graph inputs; they are not inputs a caller feeds.
  meta.inputs = meta.inputs.filter((i) => !initializers.has(i.name));
  meta.variant = onnxVariant(meta);
  return meta;
}

async function readGraph(w: ProtoWalker, end: number, meta: OnnxMetadata, initializers: Set<string>): Promise<void> {
  for (let f = await w.next(end); f; f = await w.next(end)) {
    if (f.wire !== WIRE.LEN) continue;
    const sub = w.r.pos + f.value;
    if (f.field === 1) {
      meta.nodeCount += 1;
      const op = await readNodeOp(w, sub);
      meta.opCounts[op] = (meta.opCounts[op] ?? 0) + 1;
    } else if (f.field === 5) {
      meta.initializerCount += 1;
      const name = await readInitializerName(w, sub);
      if (name !== undefined && initializers.size < 1_000_000) initializers.add(name);
    } else if ((f.field === 11 || f.field === 12) && meta.inputs.length + meta.outputs.length < MAX_IO) {
      (f.field === 11 ? meta.inputs : meta.outputs).push(await readValueInfo(w, sub));
    } else w.skip(f);
  }
}

/** NodeProto → "domain::op_type" (op_type alone for the default domain). Attributes are skipped. */
async function readNodeOp(w: ProtoWalker, end: number): Promise<string> {
  let op = '?';
  let domain = '';
  for (let f = await w.next(end); f; f = await w.next(end)) {
    if (f.field === 4 && f.wire === WIRE.LEN) op = (await w.string(f, 256)) ?? '?';
    else if (f.field === 7 && f.wire === WIRE.LEN) domain = (await w.string(f, 256)) ?? '';
    else w.skip(f);
  }
  return domain === '' || domain === 'ai.onnx' ? op : `${domain}::${op}`;
}

/** TensorProto.name (field 8); raw_data and the rest are skipped unread. */
async function readInitializerName(w: ProtoWalker, end: number): Promise<string | undefined> {
  let name: string | undefined;
  for (let f = await w.next(end); f; f = await w.next(end)) {
    if (f.field === 8 && f.wire === WIRE.LEN) name = await w.string(f, 4096);
    else w.skip(f);
  }
  return name;
}

async function readValueInfo(w: ProtoWalker, end: number): Promise<OnnxTensorInfo> {
  const info: OnnxTensorInfo = { name: '', elemType: 'unknown', shape: [] };
  for (let f = await w.next(end); f; f = await w.next(end)) {
    if (f.field === 1 && f.wire === WIRE.LEN) info.name = (await w.string(f, 4096)) ?? '';
    else if (f.field === 2 && f.wire === WIRE.LEN) await readType(w, w.r.pos + f.value, info);
    else w.skip(f);
  }
  return info;
}

/** TypeProto: tensor_type (1) → elem_type + shape; sequence (4), map (5), optional (9) named only. */
async function readType(w: ProtoWalker, end: number, info: OnnxTensorInfo): Promise<void> {
  for (let f = await w.next(end); f; f = await w.next(end)) {
    if (f.wire !== WIRE.LEN) continue;
    if (f.field === 1) {
      const tEnd = w.r.pos + f.value;
      for (let t = await w.next(tEnd); t; t = await w.next(tEnd)) {
        if (t.field === 1 && t.wire === WIRE.VARINT) info.elemType = ELEM_TYPES[t.value] ?? `type-${t.value}`;
        else if (t.field === 2 && t.wire === WIRE.LEN) info.shape = await readShape(w, w.r.pos + t.value);
        else w.skip(t);
      }
    } else {
      info.elemType = f.field === 4 ? 'sequence' : f.field === 5 ? 'map' : f.field === 9 ? 'optional' : 'unknown';
      w.skip(f);
    }
  }
}

async function readShape(w: ProtoWalker, end: number): Promise<Array<number | string | null>> {
  const dims: Array<number | string | null> = [];
  for (let f = await w.next(end); f; f = await w.next(end)) {
    if (f.field !== 1 || f.wire !== WIRE.LEN) {
      w.skip(f);
      continue;
    }
    let dim: number | string | null = null;
    const dEnd = w.r.pos + f.value;
    for (let d = await w.next(dEnd); d; d = await w.next(dEnd)) {
      if (d.field === 1 && d.wire === WIRE.VARINT) dim = d.value <= Number.MAX_SAFE_INTEGER ? d.value : null;
      else if (d.field === 2 && d.wire === WIRE.LEN) dim = (await w.string(d, 1024)) ?? null;
      else w.skip(d);
    }
    if (dims.length < 64) dims.push(dim);
  }
  return dims;
}

/** Fields 1 and 2 of a two-field message (OperatorSetIdProto, StringStringEntryProto). */
async function readPair(w: ProtoWalker, end: number, second: 'varint' | 'string'): Promise<[string | undefined, string | number | undefined]> {
  let a: string | undefined;
  let b: string | number | undefined;
  for (let f: Field | undefined = await w.next(end); f; f = await w.next(end)) {
    if (f.field === 1 && f.wire === WIRE.LEN) a = await w.string(f, 4096);
    else if (f.field === 2 && second === 'varint' && f.wire === WIRE.VARINT) b = f.value;
    else if (f.field === 2 && second === 'string' && f.wire === WIRE.LEN) b = await w.string(f, 1024 * 1024);
    else w.skip(f);
  }
  return [a, b];
}

/** Recognises known single-file layouts from their inputs, outputs and ops. */
export function onnxVariant(meta: Pick<OnnxMetadata, 'inputs' | 'outputs' | 'opCounts'>): OnnxVariant {
  const inputs = new Set(meta.inputs.map((i) => i.name));
  const ops = Object.keys(meta.opCounts);
  // Olive's Whisper export: raw PCM in, beam search and (usually) a BPE decoder inside one graph.
  if (inputs.has('audio_pcm') && ops.some((op) => /BeamSearch$|::BpeDecoder$/.test(op))) return 'whisper-olive-all-in-one';
  // Silero VAD: v5 takes (input, state, sr), v4 (input, sr, h, c).
  if (inputs.has('input') && inputs.has('sr') && (inputs.has('state') || (inputs.has('h') && inputs.has('c')))) return 'silero-vad';
  return 'generic';
}

/** Kind of a single ONNX model, or undefined when nothing says what it is for. */
export function onnxKind(meta: OnnxMetadata): { kind: ModelKind; reason: string } | undefined {
  if (meta.variant === 'whisper-olive-all-in-one') return { kind: 'asr', reason: 'Whisper exported by Olive as one graph (audio_pcm input, beam search inside).' };
  if (meta.variant === 'silero-vad') return { kind: 'vad', reason: 'Silero VAD inputs (input, sr and state).' };
  const modelType = (meta.metadataProps['model_type'] ?? '').toLowerCase();
  if (/vits|kokoro|matcha|piper|tts/.test(modelType)) return { kind: 'tts', reason: `ONNX metadata model_type "${modelType}" is a speech synthesiser.` };
  if (/sense_?voice|paraformer|whisper|zipformer|transducer|ctc|asr/.test(modelType)) return { kind: 'asr', reason: `ONNX metadata model_type "${modelType}" is a speech recogniser.` };
  const ins = new Set(meta.inputs.map((i) => i.name));
  const outs = new Set(meta.outputs.map((o) => o.name));
  if (ins.has('input_ids') && (outs.has('sentence_embedding') || outs.has('embeddings') || (outs.has('last_hidden_state') && !outs.has('logits')))) {
    return { kind: 'embedding', reason: 'ONNX takes input_ids and returns hidden states or embeddings.' };
  }
  if (ins.has('input_ids') && outs.has('logits')) return { kind: 'llm', reason: 'ONNX takes input_ids and returns logits.' };
  if (ins.has('input_features') || ins.has('audio_pcm') || ins.has('speech')) return { kind: 'asr', reason: 'ONNX takes audio features as input.' };
  if (ins.has('input') && ins.has('input_lengths') && ins.has('scales')) return { kind: 'tts', reason: 'ONNX inputs (input, input_lengths, scales) are those of a Piper/VITS voice.' };
  return undefined;
}
