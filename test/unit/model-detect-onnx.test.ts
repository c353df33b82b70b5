/**
 * ONNX and sherpa-onnx detection: the real Whisper Olive export and Silero VAD from shared/,
 * synthetic ModelProtos for the kind rules, and sherpa-onnx folders laid out with placeholder
 * files (detection goes by names; the models themselves cannot be obtained here).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { assertComplete, detectModel, ModelImportError } from '../../src/core/models/detect/index.js';
import { requirePart, sharedModel } from '../support/system.js';
import { ONNX_FLOAT, ONNX_INT64, onnxModel, tempRoot, withCpuMs } from '../support/model-fixtures.js';

const WHISPER = sharedModel('whisper-tiny-en-olive/whisper_cpu_int8_0_model.onnx');
const SILERO = sharedModel('silero-vad/silero_vad.onnx');
const tmp = tempRoot('onnx');
afterAll(() => tmp.cleanup());

async function importError(p: string): Promise<ModelImportError> {
  const err = await detectModel(p).then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ModelImportError);
  return err as ModelImportError;
}

describe('real ONNX files', () => {
  test('Whisper tiny.en Olive export: asr, all-in-one variant, audio_pcm input — read in well under a second', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(WHISPER));
    const { value: d, cpuMs } = await withCpuMs(() => detectModel(WHISPER));
    // 75 MB file: only the graph's skeleton is read, weights and the beam-search subgraphs are skipped.
    expect(cpuMs).toBeLessThan(1000);
    expect(d).toMatchObject({ format: 'onnx', kind: 'asr', mainFile: WHISPER });
    const m = d.metadata;
    if (m.format !== 'onnx') throw new Error('expected onnx');
    expect(m.variant).toBe('whisper-olive-all-in-one');
    expect(m.inputs[0]).toEqual({ name: 'audio_pcm', elemType: 'float32', shape: [1, 'sample_len'] });
    expect(m.inputs.map((i) => i.name)).toEqual(['audio_pcm', 'max_length', 'min_length', 'num_beams', 'num_return_sequences', 'length_penalty', 'repetition_penalty']);
    expect(m.inputs[1]).toMatchObject({ elemType: 'int32' });
    expect(m.outputs).toEqual([{ name: 'str', elemType: 'string', shape: ['N', 'text'] }]);
    expect(m.opsets).toMatchObject({ 'com.microsoft': 1, 'ai.onnx.contrib': 1 });
    expect(m.opCounts['com.microsoft::BeamSearch']).toBe(1);
    expect(m.opCounts['ai.onnx.contrib::BpeDecoder']).toBe(1);
  });

  test('the shared folders themselves are the single ONNX inside, not sherpa-onnx layouts', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(WHISPER) && existsSync(SILERO));
    const w = await detectModel(path.dirname(WHISPER));
    expect(w).toMatchObject({ format: 'onnx', kind: 'asr', isDirectory: true, mainFile: WHISPER });
    const v = await detectModel(path.dirname(SILERO));
    expect(v).toMatchObject({ format: 'onnx', kind: 'vad', isDirectory: true, mainFile: SILERO });
  });

  test('Silero VAD: vad, input/state/sr', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(SILERO));
    const d = await detectModel(SILERO);
    expect(d).toMatchObject({ format: 'onnx', kind: 'vad' });
    if (d.metadata.format !== 'onnx') throw new Error('expected onnx');
    expect(d.metadata.variant).toBe('silero-vad');
    expect(d.metadata.inputs.map((i) => `${i.name}:${i.elemType}`)).toEqual(['input:float32', 'state:float32', 'sr:int64']);
    expect(d.metadata.outputs.map((o) => o.name)).toEqual(['output', 'stateN']);
  });
});

describe('synthetic ONNX', () => {
  test('kind from inputs/outputs; initializers listed as inputs (IR < 4) are dropped', async () => {
    const emb = tmp.file('emb.onnx', onnxModel({
      inputs: [['input_ids', ONNX_INT64, ['batch', 'seq']], ['attention_mask', ONNX_INT64, ['batch', 'seq']], ['weight', ONNX_FLOAT, [4]]],
      outputs: [['last_hidden_state', ONNX_FLOAT, ['batch', 'seq', 384]]],
      ops: [['MatMul'], ['Gelu', 'com.microsoft']],
      initializers: ['weight'],
    }));
    const d = await detectModel(emb);
    expect(d.kind).toBe('embedding');
    if (d.metadata.format !== 'onnx') throw new Error('expected onnx');
    expect(d.metadata.inputs.map((i) => i.name)).toEqual(['input_ids', 'attention_mask']);
    expect(d.metadata).toMatchObject({ initializerCount: 1, nodeCount: 2, opCounts: { MatMul: 1, 'com.microsoft::Gelu': 1 }, irVersion: 8, producerName: 'aima-test' });

    const piper = tmp.file('en_US-amy-low.onnx', onnxModel({
      inputs: [['input', ONNX_INT64, [1, 'phonemes']], ['input_lengths', ONNX_INT64, [1]], ['scales', ONNX_FLOAT, [3]]],
      outputs: [['output', ONNX_FLOAT, [1, 1, 'time']]],
    }));
    expect((await detectModel(piper)).kind).toBe('tts');

    const tagged = tmp.file('tagged.onnx', onnxModel({ inputs: [['x', ONNX_FLOAT, [1]]], outputs: [['y', ONNX_FLOAT, [1]]], props: { model_type: 'sense_voice_ctc' } }));
    const t = await detectModel(tagged);
    expect(t.kind).toBe('asr');
    if (t.metadata.format !== 'onnx') throw new Error('expected onnx');
    expect(t.metadata.metadataProps).toEqual({ model_type: 'sense_voice_ctc' });
  });

  test('an ONNX model that says nothing about its purpose is unrecognised, naming its inputs', async () => {
    const err = await importError(tmp.file('mystery.onnx', onnxModel({ inputs: [['x', ONNX_FLOAT, [1]]], outputs: [['y', ONNX_FLOAT, [1]]] })));
    expect(err.code).toBe('unrecognised');
    expect(err.message).toMatch(/inputs: x; outputs: y.*sherpa-onnx model pick its whole folder/);
  });

  test('junk with an .onnx name is onnx-invalid', async () => {
    expect((await importError(tmp.file('empty.onnx', ''))).code).toBe('onnx-invalid');
    const junk = await importError(tmp.file('junk.onnx', Buffer.from('this is not protobuf at all, just text')));
    expect(junk.code).toBe('onnx-invalid');
    expect(junk.message).toContain('Pick the .onnx file itself, or download it again.');
    // A valid prefix whose graph length runs past the end of the file.
    const cut = onnxModel({ inputs: [['x', ONNX_FLOAT, [1]]], outputs: [] });
    expect((await importError(tmp.file('cut.onnx', cut.subarray(0, cut.length - 8)))).code).toBe('onnx-invalid');
  });
});

/** Writes `files` (empty placeholders; names ending in / are folders with one placeholder) under `dir`. */
function sherpaFolder(dir: string, files: string[]): string {
  for (const f of files) tmp.file(f.endsWith('/') ? `${dir}/${f}phontab` : `${dir}/${f}`, '');
  return path.join(tmp.dir, dir);
}

describe('sherpa-onnx folders', () => {
  test.each([
    ['sherpa-onnx-sense-voice-zh-en-ja-ko-yue-2024-07-17', ['model.onnx', 'model.int8.onnx', 'tokens.txt'], 'sense-voice', 'asr', { model: 'model.onnx', modelInt8: 'model.int8.onnx', tokens: 'tokens.txt' }],
    ['sherpa-onnx-whisper-tiny.en', ['tiny.en-encoder.onnx', 'tiny.en-decoder.onnx', 'tiny.en-encoder.int8.onnx', 'tiny.en-decoder.int8.onnx', 'tiny.en-tokens.txt'], 'whisper', 'asr',
      { encoder: 'tiny.en-encoder.onnx', encoderInt8: 'tiny.en-encoder.int8.onnx', decoder: 'tiny.en-decoder.onnx', decoderInt8: 'tiny.en-decoder.int8.onnx', tokens: 'tiny.en-tokens.txt' }],
    ['sherpa-onnx-paraformer-zh-2023-09-14', ['model.int8.onnx', 'tokens.txt'], 'paraformer', 'asr', { model: 'model.int8.onnx', tokens: 'tokens.txt' }],
    ['sherpa-onnx-zipformer-en-2023-06-26', ['encoder-epoch-99-avg-1.onnx', 'decoder-epoch-99-avg-1.onnx', 'joiner-epoch-99-avg-1.onnx', 'tokens.txt'], 'transducer', 'asr',
      { encoder: 'encoder-epoch-99-avg-1.onnx', decoder: 'decoder-epoch-99-avg-1.onnx', joiner: 'joiner-epoch-99-avg-1.onnx', tokens: 'tokens.txt' }],
    ['vits-piper-en_US-amy-low', ['en_US-amy-low.onnx', 'tokens.txt', 'espeak-ng-data/'], 'vits', 'tts', { model: 'en_US-amy-low.onnx', tokens: 'tokens.txt', data: 'espeak-ng-data/' }],
    ['kokoro-en-v0_19', ['model.onnx', 'voices.bin', 'tokens.txt', 'espeak-ng-data/'], 'kokoro', 'tts', { model: 'model.onnx', voices: 'voices.bin', tokens: 'tokens.txt', data: 'espeak-ng-data/' }],
    ['matcha-icefall-en_US-ljspeech', ['model-steps-3.onnx', 'vocos-22khz-univ.onnx', 'tokens.txt', 'espeak-ng-data/'], 'matcha', 'tts',
      { acousticModel: 'model-steps-3.onnx', vocoder: 'vocos-22khz-univ.onnx', tokens: 'tokens.txt', data: 'espeak-ng-data/' }],
  ] as const)('%s → %s', async (dir, files, family, kind, found) => {
    const d = await detectModel(sherpaFolder(dir, [...files]));
    expect(d).toMatchObject({ format: 'sherpa-onnx', kind, missing: [] });
    if (d.metadata.format !== 'sherpa-onnx') throw new Error('expected sherpa-onnx');
    expect(d.metadata.family).toBe(family);
    expect(d.metadata.found).toEqual(found);
    // Placeholders are flagged so the UI can say the download looks unfinished.
    expect(d.warnings.some((w) => w.includes('is empty (0 bytes)'))).toBe(true);
    expect(assertComplete(d)).toBe(d);
  });

  test('a missing tokens.txt is named in missing and by assertComplete', async () => {
    const d = await detectModel(sherpaFolder('sherpa-onnx-sense-voice-no-tokens', ['model.int8.onnx']));
    if (d.metadata.format !== 'sherpa-onnx') throw new Error('expected sherpa-onnx');
    expect(d.metadata.family).toBe('sense-voice');
    expect(d.missing).toEqual(['tokens.txt']);
    const err = (() => { try { assertComplete(d); } catch (e) { return e; } })();
    expect(err).toBeInstanceOf(ModelImportError);
    expect((err as ModelImportError).code).toBe('model-incomplete');
    expect((err as ModelImportError).message).toMatch(/tokens\.txt is missing\. Put the missing file\(s\) into/);
  });

  test('Kokoro without voices.bin name, Matcha without its vocoder: the gaps are listed', async () => {
    const k = await detectModel(sherpaFolder('kokoro-multi-lang-v1_0', ['model.onnx', 'tokens.txt']));
    expect(k.missing).toEqual(['voices.bin', 'espeak-ng-data/']);
    const m = await detectModel(sherpaFolder('matcha-icefall-zh-baker', ['model-steps-3.onnx', 'tokens.txt', 'lexicon.txt']));
    expect(m.missing).toEqual([expect.stringContaining('vocoder')]);
  });

  test('SenseVoice vs Paraformer without a telling folder name: decided by the model\'s metadata', async () => {
    const sv = onnxModel({ inputs: [['x', ONNX_FLOAT, [1]]], outputs: [['logits', ONNX_FLOAT, [1]]], props: { with_itn: '14', lfr_window_size: '7' } });
    tmp.file('asr-a/model.int8.onnx', sv);
    tmp.file('asr-a/tokens.txt', 'a 0\n');
    const a = await detectModel(path.join(tmp.dir, 'asr-a'));
    if (a.metadata.format !== 'sherpa-onnx') throw new Error('expected sherpa-onnx');
    expect(a.metadata.family).toBe('sense-voice');
    expect(a.metadata.modelMetadataProps).toEqual({ with_itn: '14', lfr_window_size: '7' });

    const pf = onnxModel({ inputs: [['speech', ONNX_FLOAT, [1]]], outputs: [['logits', ONNX_FLOAT, [1]]], props: { lfr_window_size: '7' } });
    tmp.file('asr-b/model.onnx', pf);
    tmp.file('asr-b/tokens.txt', 'a 0\n');
    const b = await detectModel(path.join(tmp.dir, 'asr-b'));
    if (b.metadata.format !== 'sherpa-onnx') throw new Error('expected sherpa-onnx');
    expect(b.metadata.family).toBe('paraformer');
  });

  test('a folder with just Silero VAD is that ONNX file', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(SILERO));
    const dir = path.join(tmp.dir, 'vadfolder');
    tmp.file('vadfolder/LICENSE', 'MIT');
    const { copyFileSync } = await import('node:fs');
    copyFileSync(SILERO, path.join(dir, 'silero_vad.onnx'));
    const d = await detectModel(dir);
    expect(d).toMatchObject({ format: 'onnx', kind: 'vad', isDirectory: true, files: ['LICENSE', 'silero_vad.onnx'] });
  });
});
