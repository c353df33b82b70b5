/**
 * Hugging Face folders and safetensors: a Llama-3-8B config with small real-format shards, the
 * shard index, a bare .safetensors file, and broken inputs (config not JSON, lying headers).
 */
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { detectModel, ModelImportError, readSafetensorsHeader, suggestModelName } from '../../src/core/models/detect/index.js';
import { LLAMA3_8B_CONFIG, safetensorsBytes, tempRoot, withHeader } from '../support/model-fixtures.js';

const tmp = tempRoot('hf');
afterAll(() => tmp.cleanup());

async function importError(p: string): Promise<ModelImportError> {
  const err = await detectModel(p).then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ModelImportError);
  return err as ModelImportError;
}

/** A Llama-3-shaped folder: published config, two shards with tiny tensors, the index. */
function llamaFolder(name: string, opts: { dropShard2?: boolean } = {}): string {
  tmp.file(`${name}/config.json`, JSON.stringify(LLAMA3_8B_CONFIG, null, 2));
  tmp.file(`${name}/generation_config.json`, '{"bos_token_id":128000}');
  tmp.file(`${name}/model-00001-of-00002.safetensors`, safetensorsBytes({
    'model.embed_tokens.weight': { dtype: 'BF16', shape: [16, 8] },
    'model.layers.0.self_attn.q_proj.weight': { dtype: 'BF16', shape: [8, 8] },
  }, { format: 'pt' }));
  if (!opts.dropShard2) {
    tmp.file(`${name}/model-00002-of-00002.safetensors`, safetensorsBytes({
      'lm_head.weight': { dtype: 'BF16', shape: [16, 8] },
      'model.norm.weight': { dtype: 'F32', shape: [8] },
    }));
  }
  tmp.file(`${name}/model.safetensors.index.json`, JSON.stringify({
    metadata: { total_size: 16060522496 },
    weight_map: {
      'model.embed_tokens.weight': 'model-00001-of-00002.safetensors',
      'model.layers.0.self_attn.q_proj.weight': 'model-00001-of-00002.safetensors',
      'lm_head.weight': 'model-00002-of-00002.safetensors',
      'model.norm.weight': 'model-00002-of-00002.safetensors',
    },
  }));
  return path.join(tmp.dir, name);
}

describe('Hugging Face folder', () => {
  test('Meta-Llama-3-8B config + shards: config values, per-shard headers, dtype breakdown', async () => {
    const dir = llamaFolder('Meta-Llama-3-8B');
    const d = await detectModel(dir);
    expect(d).toMatchObject({ format: 'safetensors', kind: 'llm', isDirectory: true, realPath: dir, missing: [], mainFile: undefined });
    expect(d.files).toEqual(['config.json', 'generation_config.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json']);
    const m = d.metadata;
    if (m.format !== 'safetensors') throw new Error('expected safetensors');
    expect(m).toMatchObject({
      hasConfig: true, architectures: ['LlamaForCausalLM'], modelType: 'llama', torchDtype: 'bfloat16', hiddenSize: 4096,
      numHiddenLayers: 32, numAttentionHeads: 32, numKeyValueHeads: 8, maxPositionEmbeddings: 8192, vocabSize: 128256,
      tensorCount: 4, parameterCount: 128 + 64 + 128 + 8, tensorBytes: (128 + 64 + 128) * 2 + 32,
    });
    expect(m.shards.map((s) => [s.file, s.tensorCount, s.tensorBytes])).toEqual([
      ['model-00001-of-00002.safetensors', 2, 384],
      ['model-00002-of-00002.safetensors', 2, 288],
    ]);
    expect(m.shards[0]!.metadata).toEqual({ format: 'pt' });
    expect(m.bytesByDtype).toEqual({ BF16: { tensors: 3, elements: 320, bytes: 640 }, F32: { tensors: 1, elements: 8, bytes: 32 } });
    expect(d.sizeBytes).toBeGreaterThan(640);
    expect(suggestModelName(d)).toBe('meta-llama-3-8b');
  });

  test('a shard named in the index but absent is listed in missing', async () => {
    const d = await detectModel(llamaFolder('partial', { dropShard2: true }));
    expect(d.missing).toEqual(['model-00002-of-00002.safetensors']);
    if (d.metadata.format !== 'safetensors') throw new Error('expected safetensors');
    expect(d.metadata.shards).toHaveLength(1);
  });

  test('kind follows the architecture: Whisper is asr, sentence-transformers is embedding', async () => {
    tmp.file('whisper/config.json', JSON.stringify({ architectures: ['WhisperForConditionalGeneration'], model_type: 'whisper', d_model: 384 }));
    tmp.file('whisper/model.safetensors', safetensorsBytes({ w: { dtype: 'F32', shape: [2] } }));
    const w = await detectModel(path.join(tmp.dir, 'whisper'));
    expect(w.kind).toBe('asr');
    if (w.metadata.format !== 'safetensors') throw new Error('expected safetensors');
    expect(w.metadata.hiddenSize).toBe(384);

    tmp.file('minilm/config.json', JSON.stringify({ architectures: ['BertModel'], model_type: 'bert', hidden_size: 384 }));
    tmp.file('minilm/modules.json', '[]');
    tmp.file('minilm/model.safetensors', safetensorsBytes({ w: { dtype: 'F32', shape: [2] } }));
    expect((await detectModel(path.join(tmp.dir, 'minilm'))).kind).toBe('embedding');
  });

  test('a bare .safetensors file is read with a warning that config.json is absent', async () => {
    const file = tmp.file('bare/weights.safetensors', safetensorsBytes({ a: { dtype: 'F16', shape: [3, 4] } }));
    const d = await detectModel(file);
    expect(d).toMatchObject({ format: 'safetensors', isDirectory: false, files: ['weights.safetensors'] });
    expect(d.warnings.join(' ')).toContain('config.json');
    if (d.metadata.format !== 'safetensors') throw new Error('expected safetensors');
    expect(d.metadata).toMatchObject({ hasConfig: false, tensorCount: 1, parameterCount: 12, tensorBytes: 24 });
  });
});

describe('broken Hugging Face inputs', () => {
  test('config.json that is not JSON', async () => {
    const dir = llamaFolder('badconfig');
    tmp.file('badconfig/config.json', '{"architectures": ["LlamaForCausalLM"], hidden_size: 4096');
    const err = await importError(dir);
    expect(err.code).toBe('json-invalid');
    expect(err.message).toMatch(/"config\.json" is not valid JSON .*Restore config\.json/);
  });

  test('a safetensors header that lies about its length', async () => {
    const json = Buffer.from(JSON.stringify({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }));
    const longer = await importError(tmp.file('lie1/model.safetensors', withHeader(json, 4, json.length + 1000)));
    expect(longer.code).toBe('safetensors-header-invalid');
    expect(longer.message).toMatch(/declares a \d+-byte header but the file has only \d+ bytes.*download it again/);

    const huge = await importError(tmp.file('lie2/model.safetensors', withHeader(json, 4, 2 ** 53)));
    expect(huge.code).toBe('safetensors-header-invalid');

    // Shorter than the JSON: the header is cut mid-object, so it is not JSON.
    const shorter = await importError(tmp.file('lie3/model.safetensors', withHeader(json, 4, json.length - 5)));
    expect(shorter.code).toBe('safetensors-header-invalid');
    expect(shorter.message).toContain('not valid JSON');
  });

  test('the 100 MB header cap holds even when the file is big enough', async () => {
    // A source that claims 300 MB: only the length field is ever read, so nothing big is allocated.
    const len = new Uint8Array(8);
    new DataView(len.buffer).setUint32(0, 100_000_001, true);
    const src = { size: 300_000_000, read: async (offset: number, length: number) => (offset === 0 ? len.subarray(0, length) : new Uint8Array(0)) };
    const err = await readSafetensorsHeader(src, 'big.safetensors').then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ModelImportError);
    expect((err as ModelImportError).code).toBe('safetensors-header-invalid');
    expect((err as ModelImportError).message).toContain('the format allows at most 100000000');
  });

  test('tensor offsets outside the data, or sizes that disagree with the shape', async () => {
    const outside = Buffer.from(JSON.stringify({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }));
    const e1 = await importError(tmp.file('off1/x.safetensors', withHeader(outside, 8)));
    expect(e1.message).toMatch(/places tensor "a" at bytes 0–16, outside the 8 bytes/);
    const wrong = Buffer.from(JSON.stringify({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 8] } }));
    const e2 = await importError(tmp.file('off2/x.safetensors', withHeader(wrong, 8)));
    expect(e2.message).toMatch(/declares tensor "a" as F32 \[4\] \(16 bytes\) but gives it 8 bytes/);
    const negative = Buffer.from(JSON.stringify({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }));
    expect((await importError(tmp.file('off3/x.safetensors', withHeader(negative, 4)))).code).toBe('safetensors-header-invalid');
  });

  test('an index that names a shard outside the folder is refused', async () => {
    const dir = llamaFolder('escape');
    tmp.file('escape/model.safetensors.index.json', JSON.stringify({ weight_map: { a: '../other/model.safetensors' } }));
    const err = await importError(dir);
    expect(err.code).toBe('json-invalid');
    expect(err.message).toContain('not a plain .safetensors file name');
  });
});
