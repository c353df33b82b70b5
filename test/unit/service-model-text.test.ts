/** The MODEL column of `aima service list`: where a service's model comes from when it is not the library's files. */
import { describe, expect, it } from 'vitest';
import { modelText } from '../../src/cli/commands/service/format.js';

describe('modelText', () => {
  const none = { model: null, modelPathOnNode: null, hfModel: null, hfRevision: null };
  it('the library model, its path on the node, a Hub id with and without a revision, nothing', () => {
    expect(modelText({ ...none, model: 'qwen' })).toBe('qwen');
    expect(modelText({ ...none, model: 'qwen', modelPathOnNode: '/srv/models/qwen' })).toBe('qwen from /srv/models/qwen');
    expect(modelText({ ...none, hfModel: 'Qwen/Qwen2.5-0.5B-Instruct' })).toBe('hf:Qwen/Qwen2.5-0.5B-Instruct');
    expect(modelText({ ...none, hfModel: 'Qwen/Qwen2.5-0.5B-Instruct', hfRevision: 'refs/pr/3' })).toBe('hf:Qwen/Qwen2.5-0.5B-Instruct@refs/pr/3');
    expect(modelText(none)).toBe('-');
  });
});
