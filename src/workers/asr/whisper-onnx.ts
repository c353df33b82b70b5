/**
 * Whisper backend for the all-in-one ONNX export made by Microsoft Olive (log-mel + BeamSearch +
 * BpeDecoder in one graph). Stock onnxruntime-node has no onnxruntime-extensions, so the graph is
 * cut before its `BpeDecoder` node: the BeamSearch token ids become the output and are decoded here
 * with the vocabulary held in that node's attributes.
 */
import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { StartupError } from '../common/worker-server.js';
import { listNodes, OnnxElemType, rewriteGraph } from './onnx-proto.js';
import { WhisperTokenizer } from './whisper-tokenizer.js';

/** Whisper's window: the export pads/cuts its input to 30 s at 16 kHz. */
export const WHISPER_WINDOW_SAMPLES = 30 * 16_000;

export interface WhisperOnnxOptions {
  threads: number;
  /** Beam width; 1 is greedy and the fastest on CPU. */
  numBeams?: number;
  /** Whether idle intra-op threads spin waiting for work (onnxruntime's default) or sleep. */
  spinning?: boolean;
}

export class WhisperOnnx {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly tokenizer: WhisperTokenizer,
    private readonly outputName: string,
    private readonly numBeams: number,
    readonly englishOnly: boolean,
  ) {}

  /**
   * Loads the export at `modelPath`. Throws with a reason when the file is not such an export
   * (no BeamSearch node, no BpeDecoder vocabulary).
   */
  static async load(modelPath: string, opts: WhisperOnnxOptions): Promise<WhisperOnnx> {
    const bytes = new Uint8Array(await readFile(modelPath));
    const nodes = listNodes(bytes);
    const beam = nodes.find((n) => n.opType === 'BeamSearch' && n.domain === 'com.microsoft');
    const bpe = nodes.find((n) => n.opType === 'BpeDecoder');
    if (!beam) throw new StartupError(`${modelPath} has no com.microsoft BeamSearch node: not a Whisper all-in-one ONNX export.`);
    if (!bpe) throw new StartupError(`${modelPath} has no BpeDecoder node holding the vocabulary: cannot turn token ids into text.`);
    const { id_vocab, byte_decoder, added_tokens, all_special_ids } = bpe.strings;
    if (!id_vocab || !byte_decoder || !added_tokens || !all_special_ids) {
      throw new StartupError(`${modelPath}: the BpeDecoder node lacks id_vocab/byte_decoder/added_tokens/all_special_ids attributes.`);
    }
    const tokenizer = new WhisperTokenizer({ id_vocab, byte_decoder, added_tokens, all_special_ids });
    // Everything downstream of BeamSearch (a Cast and the BpeDecoder) goes; its ids are the output.
    const sequences = beam.outputs[0];
    const downstream = new Set<number>();
    const produced = new Set([sequences]);
    for (const [index, n] of nodes.entries()) {
      if (n.inputs.some((i) => produced.has(i))) {
        downstream.add(index);
        for (const o of n.outputs) produced.add(o);
      }
    }
    const cut = rewriteGraph(bytes, {
      removeNodes: downstream,
      outputs: [{ name: sequences, elemType: OnnxElemType.INT32 }],
      dropDomains: new Set(['ai.onnx.contrib']),
    });
    const session = await ort.InferenceSession.create(cut, {
      intraOpNumThreads: opts.threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      logSeverityLevel: 3,
      ...(opts.spinning === false ? { extra: { session: { intra_op: { allow_spinning: '0' } } } } : {}),
    });
    // Whisper's English-only checkpoints have 51864 tokens, the multilingual ones 51865.
    const englishOnly = tokenizer.size < 51_865;
    return new WhisperOnnx(session, tokenizer, sequences, opts.numBeams ?? 1, englishOnly);
  }

  /**
   * Transcribes up to 30 s of 16 kHz mono audio. Returns the text and the raw ids (for logging).
   */
  async transcribe(samples: Float32Array): Promise<{ text: string; tokens: number[] }> {
    if (samples.length > WHISPER_WINDOW_SAMPLES) {
      throw new Error(`Whisper takes at most ${WHISPER_WINDOW_SAMPLES} samples per call; got ${samples.length}.`);
    }
    const i32 = (v: number) => new ort.Tensor('int32', Int32Array.from([v]), [1]);
    const f32 = (v: number) => new ort.Tensor('float32', Float32Array.from([v]), [1]);
    const feeds: Record<string, ort.Tensor> = {
      audio_pcm: new ort.Tensor('float32', samples, [1, samples.length]),
      max_length: i32(224),
      min_length: i32(0),
      num_beams: i32(this.numBeams),
      num_return_sequences: i32(1),
      length_penalty: f32(1),
      repetition_penalty: f32(1),
    };
    const out = await this.session.run(feeds);
    const seq = out[this.outputName];
    const ids = Array.from(seq.data as Int32Array);
    return { text: this.tokenizer.decode(ids).trim(), tokens: ids };
  }
}
