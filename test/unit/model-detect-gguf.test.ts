/**
 * GGUF detection: the real stories260K file read field by field, synthetic files covering every
 * metadata type and both supported versions, split shards, and corrupted copies of the real file
 * that must fail with the right ModelImportError code and a message that says what to do.
 */
import { existsSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { detectModel, MemoryByteSource, readGgufHeader, suggestModelName, ModelImportError } from '../../src/core/models/detect/index.js';
import { requirePart, sharedModel } from '../support/system.js';
import { GT, buildGguf, ggufKeyEnd, patchU64, tempRoot, withCpuMs } from '../support/model-fixtures.js';

const STORIES = sharedModel('stories260K/stories260K.gguf');
const tmp = tempRoot('gguf');
afterAll(() => tmp.cleanup());

/** Rejection of detectModel(file) as a ModelImportError (fails the test on anything else). */
async function importError(file: string): Promise<ModelImportError> {
  const err = await detectModel(file).then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ModelImportError);
  return err as ModelImportError;
}

describe('real GGUF (stories260K)', () => {
  test('reads architecture, sizes, tokenizer and tensors', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(STORIES));
    const d = await detectModel(STORIES);
    expect(d).toMatchObject({ format: 'gguf', kind: 'llm', isDirectory: false, realPath: STORIES, files: ['stories260K.gguf'], missing: [] });
    expect(d.sizeBytes).toBe(readFileSync(STORIES).length);
    const m = d.metadata;
    if (m.format !== 'gguf') throw new Error('expected gguf metadata');
    expect(m).toMatchObject({
      version: 3, architecture: 'llama', contextLength: 512, embeddingLength: 64, headCount: 8, headCountKv: 4,
      layerCount: 5, vocabSize: 512, fileType: 0, quantization: 'F32', tensorCount: 48, chatTemplate: { present: false, length: 0 },
    });
    expect(m.name).toContain('stories260K');
    // "260K" counts the transformer without the untied 512×64 output matrix; the tensors hold 292,800.
    expect(m.parameterCount).toBe(292_800);
    expect(m.parameterCount - 512 * 64).toBe(260_032);
    expect(m.bytesByType).toEqual({ F32: { tensors: 48, elements: 292_800, bytes: 292_800 * 4 } });
    expect(m.tensorDataOffset + m.tensorDataBytes).toBe(d.sizeBytes);
    expect(m.keys['tokenizer.ggml.tokens']).toEqual({ array: 'string', length: 512 });
    expect(m.keyLength).toBeUndefined();
    expect(suggestModelName(d)).toBe('stories260k-karpathy-tinyllamas-llama2.c');
  });

  test('follows a symlink to the file and reports the real path', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(STORIES));
    const link = path.join(tmp.dir, 'link.gguf');
    symlinkSync(STORIES, link);
    const d = await detectModel(link);
    expect(d.realPath).toBe(STORIES);
  });

  test('a folder holding one GGUF is detected as that GGUF', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(STORIES));
    tmp.file('onefolder/stories.gguf', readFileSync(STORIES));
    tmp.file('onefolder/README.md', '# stories');
    const d = await detectModel(path.join(tmp.dir, 'onefolder'));
    expect(d).toMatchObject({ format: 'gguf', isDirectory: true, files: ['README.md', 'stories.gguf'] });
    expect(d.mainFile).toBe(path.join(tmp.dir, 'onefolder', 'stories.gguf'));
  });

  test('split shards are summed; a missing shard is listed', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(STORIES));
    const bytes = readFileSync(STORIES);
    tmp.file('split/m-00001-of-00002.gguf', bytes);
    tmp.file('split/m-00002-of-00002.gguf', bytes);
    const d = await detectModel(path.join(tmp.dir, 'split/m-00001-of-00002.gguf'));
    if (d.metadata.format !== 'gguf') throw new Error('expected gguf');
    expect(d.metadata.split).toEqual({ count: 2, files: ['m-00001-of-00002.gguf', 'm-00002-of-00002.gguf'] });
    expect(d.metadata.parameterCount).toBe(2 * 292_800);
    expect(d.missing).toEqual([]);
    expect(suggestModelName(d)).toBe('stories260k-karpathy-tinyllamas-llama2.c');

    tmp.file('split1/m-00001-of-00003.gguf', bytes);
    const partial = await detectModel(path.join(tmp.dir, 'split1/m-00001-of-00003.gguf'));
    expect(partial.missing).toEqual(['m-00002-of-00003.gguf', 'm-00003-of-00003.gguf']);
  });
});

describe('synthetic GGUF', () => {
  const everyType = (version: number) =>
    buildGguf({
      version,
      kv: [
        ['general.architecture', { type: GT.STRING, value: 'qwen3' }],
        ['general.name', { type: GT.STRING, value: 'Qwen3 0.6B' }],
        ['general.file_type', { type: GT.U32, value: 15 }],
        ['general.alignment', { type: GT.U32, value: 64 }],
        ['qwen3.context_length', { type: GT.U64, value: 40960n }],
        ['qwen3.embedding_length', { type: GT.I32, value: 1024 }],
        ['qwen3.block_count', { type: GT.U16, value: 28 }],
        ['qwen3.attention.head_count', { type: GT.ARRAY, elemType: GT.I32, values: [16, 16, 8] }],
        ['qwen3.attention.head_count_kv', { type: GT.U8, value: 8 }],
        ['qwen3.attention.key_length', { type: GT.I16, value: 128 }],
        ['qwen3.attention.value_length', { type: GT.I8, value: 127 }],
        ['qwen3.rope.freq_base', { type: GT.F64, value: 1e6 }],
        ['qwen3.norm_eps', { type: GT.F32, value: 1e-6 }],
        ['some.i64', { type: GT.I64, value: -5n }],
        ['some.bool', { type: GT.BOOL, value: true }],
        ['tokenizer.ggml.tokens', { type: GT.ARRAY, elemType: GT.STRING, values: ['a', 'b', 'c', 'ünï'] }],
        ['nested', { type: GT.ARRAY, elemType: GT.ARRAY, values: [{ type: GT.ARRAY, elemType: GT.U8, values: [1, 2] }] }],
        ['tokenizer.chat_template', { type: GT.STRING, value: '{% for m in messages %}{{ m.content }}{% endfor %}' }],
      ],
      tensors: [
        { name: 'token_embd.weight', dims: [256, 4], type: 12, bytes: 4 * 144 }, // Q4_K: 256 per 144-byte block
        { name: 'output_norm.weight', dims: [1024], type: 0, bytes: 4096 },
        { name: 'blk.0.attn_q.weight', dims: [64, 2, 2, 2], type: 30, bytes: 512 * 2 }, // BF16, 4 dims
      ],
      alignment: 64,
    });

  test.each([2, 3])('version %i: every value type, per-layer arrays, tensor bytes by type', async (version) => {
    const h = await readGgufHeader(new MemoryByteSource(everyType(version)), 'synthetic.gguf');
    expect(h.version).toBe(version);
    expect(h.alignment).toBe(64);
    expect(h.kv.get('some.i64')).toBe(-5);
    expect(h.kv.get('some.bool')).toBe(true);
    expect(h.kv.get('qwen3.attention.value_length')).toBe(127);
    expect(h.parameterCount).toBe(1024 + 1024 + 512);
    expect(h.bytesByType).toEqual({
      Q4_K: { tensors: 1, elements: 1024, bytes: 576 },
      F32: { tensors: 1, elements: 1024, bytes: 4096 },
      BF16: { tensors: 1, elements: 512, bytes: 1024 },
    });
    expect(h.tensorDataOffset % 64).toBe(0);
  });

  test('metadata summary: quantization name, max of per-layer heads, chat template length', async () => {
    const file = tmp.file('synthetic.gguf', everyType(3));
    const d = await detectModel(file);
    if (d.metadata.format !== 'gguf') throw new Error('expected gguf');
    expect(d.metadata).toMatchObject({
      architecture: 'qwen3', quantization: 'Q4_K_M', contextLength: 40960, embeddingLength: 1024, layerCount: 28,
      headCount: 16, headCountKv: 8, keyLength: 128, valueLength: 127, vocabSize: 4,
      chatTemplate: { present: true, length: 50 },
    });
    expect(d.metadata.keys['nested']).toEqual({ array: 'array', length: 1 });
    expect(suggestModelName(d)).toBe('qwen3-0.6b');
  });

  test('a 256k-token vocabulary and 100k merges are counted, not kept, in well under a second', async () => {
    const tokens = Array.from({ length: 256_000 }, (_, i) => `tok${i}`);
    const merges = Array.from({ length: 100_000 }, (_, i) => `a${i} b${i}`);
    const bytes = buildGguf({
      kv: [
        ['general.architecture', { type: GT.STRING, value: 'gemma3' }],
        ['tokenizer.ggml.tokens', { type: GT.ARRAY, elemType: GT.STRING, values: tokens }],
        ['tokenizer.ggml.merges', { type: GT.ARRAY, elemType: GT.STRING, values: merges }],
        ['tokenizer.ggml.scores', { type: GT.ARRAY, elemType: GT.F32, values: tokens.map(() => 0) }],
      ],
    });
    const file = tmp.file('bigvocab.gguf', bytes);
    const { value: d, cpuMs } = await withCpuMs(() => detectModel(file));
    expect(cpuMs).toBeLessThan(1000);
    if (d.metadata.format !== 'gguf') throw new Error('expected gguf');
    expect(d.metadata.vocabSize).toBe(256_000);
    expect(d.metadata.keys['tokenizer.ggml.merges']).toEqual({ array: 'string', length: 100_000 });
  });

  test('a 100 KB chat template is measured, not kept; a 2 KB key is refused', async () => {
    const template = 'x'.repeat(100_000);
    const file = tmp.file('bigtemplate.gguf', buildGguf({ kv: [
      ['general.architecture', { type: GT.STRING, value: 'llama' }],
      ['tokenizer.chat_template', { type: GT.STRING, value: template }],
    ] }));
    const d = await detectModel(file);
    if (d.metadata.format !== 'gguf') throw new Error('expected gguf');
    expect(d.metadata.chatTemplate).toEqual({ present: true, length: 100_000 });
    expect(d.metadata.keys['tokenizer.chat_template']).toEqual({ string: 'omitted', length: 100_000 });

    const longKey = tmp.file('longkey.gguf', buildGguf({ kv: [['k'.repeat(2000), { type: GT.U8, value: 1 }]] }));
    const err = await detectModel(longKey).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ModelImportError);
    expect((err as ModelImportError).code).toBe('gguf-absurd-count');
  });

  test('an embedding architecture is kind embedding', async () => {
    const file = tmp.file('bert.gguf', buildGguf({ kv: [['general.architecture', { type: GT.STRING, value: 'bert' }]] }));
    expect((await detectModel(file)).kind).toBe('embedding');
  });

  test('version 1 and big-endian files are refused with the reason', async () => {
    const v1 = await importError(tmp.file('v1.gguf', buildGguf({ version: 1, kv: [] })));
    expect(v1.code).toBe('gguf-unsupported-version');
    expect(v1.message).toMatch(/version 1.*Re-convert/);
    const be = Buffer.from(buildGguf({ kv: [] }));
    be.writeUInt32BE(3, 4);
    const err = await importError(tmp.file('be.gguf', be));
    expect(err.code).toBe('gguf-unsupported-version');
    expect(err.message).toContain('big-endian');
  });

  test('a tensor with an unknown GGML type or a misaligned offset is rejected', async () => {
    const bad = buildGguf({ kv: [], tensors: [{ name: 't', dims: [32], type: 4, bytes: 32 }] }); // 4 = removed Q4_2
    expect((await importError(tmp.file('type4.gguf', bad))).code).toBe('gguf-invalid-tensor');
    const rows = buildGguf({ kv: [], tensors: [{ name: 't', dims: [33], type: 2, bytes: 18 }] }); // Q4_0 rows are multiples of 32
    expect((await importError(tmp.file('rows.gguf', rows))).code).toBe('gguf-invalid-tensor');
  });
});

describe('corrupt copies of the real GGUF', () => {
  const real = () => readFileSync(STORIES);

  test('wrong magic: names the bytes found and the fix', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(STORIES));
    const zip = real();
    zip.set([0x50, 0x4b, 0x03, 0x04], 0);
    const err = await importError(tmp.file('zip.gguf', zip));
    expect(err.code).toBe('gguf-bad-magic');
    expect(err.message).toContain("magic bytes 'PK\\x03\\x04', expected 'GGUF'");
    expect(err.message).toContain('ZIP archive');

    const html = await importError(tmp.file('page.gguf', '<!DOCTYPE html><html><body>Not found</body></html>'));
    expect(html.code).toBe('gguf-bad-magic');
    expect(html.message).toMatch(/web page.*Download the model again/);

    const lfs = await importError(tmp.file('lfs.gguf', 'version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 123\n'));
    expect(lfs.message).toMatch(/Git LFS pointer.*git lfs pull/);

    const plain = await importError(tmp.file('zeros.gguf', Buffer.alloc(100)));
    expect(plain.message).toMatch(/Pick the \.gguf file itself, or re-download it\./);
  });

  test('cut short at many offsets: truncated (or string past EOF), never anything else', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(STORIES));
    const bytes = real();
    const cuts = [0, 3, 4, 7, 8, 15, 20, 24, 30, 40, 100, 1000, 5000, 14_000, 14_272, 500_000, bytes.length - 1];
    for (const cut of cuts) {
      const err = await importError(tmp.file(`cut-${cut}.gguf`, bytes.subarray(0, cut)));
      expect(['gguf-truncated', 'gguf-string-past-eof'], `cut at ${cut}: ${err.message}`).toContain(err.code);
      expect(err.message).toMatch(/download it again/);
    }
    // Cut inside the header structure, the code is exactly "truncated".
    for (const cut of [8, 20, 14_000]) expect((await importError(tmp.file(`cut-${cut}.gguf`, bytes.subarray(0, cut)))).code).toBe('gguf-truncated');
    // Header intact, tensor data missing: the message names the tensor that does not fit.
    expect((await importError(tmp.file('cut-500000.gguf', bytes.subarray(0, 500_000)))).message).toMatch(/tensor ".*" ends at byte/);
  });

  test('absurd tensor and metadata counts are refused before anything is allocated', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(STORIES));
    for (const [offset, value] of [[8, 1n << 40n], [16, 1n << 40n], [8, 0xffff_ffff_ffff_ffffn], [16, 0xffff_ffff_ffff_ffffn]] as const) {
      const err = await importError(tmp.file(`count-${offset}-${value}.gguf`, patchU64(real(), offset, value)));
      expect(err.code).toBe('gguf-absurd-count');
      expect(err.message).toMatch(/declares \d+(\.\d+)?(e\+\d+)? (tensors|metadata entries); no real model/);
    }
    // Plausible but more than the file can hold: reported as cut short, not as absurd.
    const err = await importError(tmp.file('count-many.gguf', patchU64(real(), 16, 100_000n)));
    expect(err.code).toBe('gguf-truncated');
  });

  test('a string length past the end of the file', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(STORIES));
    const bytes = real();
    // The value of general.architecture: key end + u32 type, then its u64 length.
    const at = ggufKeyEnd(bytes, 'general.architecture') + 4;
    const err = await importError(tmp.file('strlen.gguf', patchU64(bytes, at, BigInt(bytes.length))));
    expect(err.code).toBe('gguf-string-past-eof');
    expect(err.message).toContain(`offset ${at}`);
    // A key length, the first string in the file.
    expect((await importError(tmp.file('keylen.gguf', patchU64(bytes, 24, 1n << 62n)))).code).toBe('gguf-string-past-eof');
  });

  test('a negative or huge array length', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(STORIES));
    const bytes = real();
    const at = ggufKeyEnd(bytes, 'tokenizer.ggml.tokens') + 8; // after value type and element type
    for (const value of [0xffff_ffff_ffff_ffffn /* -1 as i64 */, 1n << 50n]) {
      const err = await importError(tmp.file(`arr-${value}.gguf`, patchU64(bytes, at, value)));
      expect(err.code).toBe('gguf-absurd-count');
      expect(err.message).toContain('tokenizer.ggml.tokens');
    }
    const scores = ggufKeyEnd(bytes, 'tokenizer.ggml.scores') + 8;
    expect((await importError(tmp.file('arr-scores.gguf', patchU64(bytes, scores, 10_000_000n)))).code).toBe('gguf-truncated');
  });

  test('an unknown metadata value type', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(STORIES));
    const bytes = real();
    bytes.writeUInt32LE(13, ggufKeyEnd(bytes, 'general.architecture'));
    const err = await importError(tmp.file('vtype.gguf', bytes));
    expect(err.code).toBe('gguf-invalid-value-type');
    expect(err.message).toContain('general.architecture');
  });
});
