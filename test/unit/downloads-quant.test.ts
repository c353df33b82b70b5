import { describe, expect, it } from 'vitest';
import { importTarget, selectFiles } from '../../src/core/downloads/manager.js';
import { globToRegExp, groupGgufFiles, quantOf, shardOf } from '../../src/core/downloads/quant.js';

describe('GGUF quantization names', () => {
  it.each([
    ['Qwen2.5-7B-Instruct-Q4_K_M.gguf', 'Q4_K_M'],
    ['Meta-Llama-3.1-8B-Instruct-IQ2_XXS.gguf', 'IQ2_XXS'],
    ['model.Q8_0.gguf', 'Q8_0'],
    ['phi-3-mini-4k-instruct-fp16.gguf', 'FP16'],
    ['gemma-2-2b-it-bf16.gguf', 'BF16'],
    ['llama-f16-Q5_K_S.gguf', 'Q5_K_S'],
    ['gpt-oss-20b-MXFP4.gguf', 'MXFP4'],
    ['Q6_K/model-Q6_K-00001-of-00003.gguf', 'Q6_K'],
    ['tinyllama-1.1b-chat-v1.0.Q4_0.gguf', 'Q4_0'],
    ['stories260K.gguf', 'unknown'],
  ])('%s is %s', (name, quant) => expect(quantOf(name)).toBe(quant));

  it('groups shards into one variant with the summed size, companions last, smallest first', () => {
    const groups = groupGgufFiles(
      [
        { path: 'm-Q8_0-00002-of-00002.gguf', size: 5 },
        { path: 'm-Q8_0-00001-of-00002.gguf', size: 10 },
        { path: 'm-Q4_K_M.gguf', size: 9 },
        { path: 'mmproj-m-f16.gguf', size: 1 },
        { path: 'README.md', size: 1 },
      ],
      (size) => ({ kind: size > 10 ? 'too-big' : 'fits', message: '' }),
    );
    expect(groups.map((g) => [g.quant, g.files, g.sizeBytes, g.companion, g.fit?.kind])).toEqual([
      ['Q4_K_M', ['m-Q4_K_M.gguf'], 9, false, 'fits'],
      ['Q8_0', ['m-Q8_0-00001-of-00002.gguf', 'm-Q8_0-00002-of-00002.gguf'], 15, false, 'too-big'],
      ['F16', ['mmproj-m-f16.gguf'], 1, true, undefined],
    ]);
    expect(shardOf('a/m-Q8_0-00002-of-00003.gguf')).toEqual({ series: 'a/m-Q8_0', index: 2, count: 3 });
  });

  it('globs match names anywhere, or paths when the pattern has a slash', () => {
    expect(globToRegExp('*Q4_K_M*.gguf').test('sub/x-Q4_K_M.gguf')).toBe(true);
    expect(globToRegExp('sub/*.onnx').test('sub/a.onnx')).toBe(true);
    expect(globToRegExp('sub/*.onnx').test('sub/deeper/a.onnx')).toBe(false);
    expect(globToRegExp('**/*.onnx').test('sub/deeper/a.onnx')).toBe(true);
  });

  it('selects files by path, quantization or glob, and explains ambiguity', () => {
    const listing = [
      { path: 'm-Q4_K_M.gguf', size: 9 },
      { path: 'm-Q8_0.gguf', size: 12 },
      { path: 'README.md', size: 1 },
    ];
    expect(selectFiles('o/r', listing, ['q8_0'], undefined).map((f) => f.path)).toEqual(['m-Q8_0.gguf']);
    expect(selectFiles('o/r', listing, undefined, '*.md').map((f) => f.path)).toEqual(['README.md']);
    expect(() => selectFiles('o/r', listing, undefined, undefined)).toThrow(/2 GGUF variants; pick one/);
    expect(() => selectFiles('o/r', listing, ['nope.bin'], undefined)).toThrow(/has no file "nope.bin"/);
    expect(selectFiles('o/r', [{ path: 'a.onnx', size: 1 }, { path: 'tokens.txt', size: 1 }], undefined, undefined)).toHaveLength(2);
    expect(importTarget('/hf/o/r', [{ path: 'a.onnx', size: 1 }, { path: 'tokens.txt', size: 1 }])).toBe('/hf/o/r');
    expect(importTarget('/hf/o/r', [{ path: 'README.md', size: 1 }, { path: 'm-Q8_0.gguf', size: 1 }])).toBe('/hf/o/r/m-Q8_0.gguf');
  });
});
