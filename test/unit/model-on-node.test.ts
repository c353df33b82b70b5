/**
 * Where a service reads its model (runtimes/docker/model-on-node.ts): the library's files on
 * `local`, the --model-path-on-node path on any other node; the contract's check of that path.
 */
import { describe, expect, it } from 'vitest';
import { checkModelOnNode, type ModelOnNodeInput } from '../../src/core/runtimes/docker/model-on-node.js';
import { ServiceCreateParams } from '../../src/shared/contract/services.js';
import { AimaError } from '../../src/shared/errors.js';

const outcome = (input: ModelOnNodeInput): string => {
  try {
    checkModelOnNode(input);
    return 'ok';
  } catch (err) {
    const e = err as AimaError;
    return `${e.code}: ${e.message} | ${e.fix}`;
  }
};

describe('checkModelOnNode', () => {
  const table: [string, ModelOnNodeInput, string | RegExp][] = [
    ['local with the library\'s model', { nodes: ['local'], model: 'llama', modelPathOnNode: null }, 'ok'],
    ['local without a model', { nodes: ['local'], model: null, modelPathOnNode: null }, 'ok'],
    ['another node without a model', { nodes: ['b'], model: null, modelPathOnNode: null }, 'ok'],
    ['another node with the path there', { nodes: ['b'], model: 'llama', modelPathOnNode: '/srv/models/llama.gguf' }, 'ok'],
    ['a span with the path', { nodes: ['local', 'b'], model: 'llama', modelPathOnNode: '/srv/models/llama' }, 'ok'],
    [
      'another node with a model but no path',
      { nodes: ['b'], model: 'llama', modelPathOnNode: null },
      'bad-request: Node "b" cannot read this machine\'s model files (model "llama" is in this machine\'s library), and AIMA does not copy weights between machines. | Give --model-path-on-node PATH: where the model\'s files already are on node "b" (a file or a folder, as the engine loads the model; for a service across nodes, the same path on every node).',
    ],
    ['a span whose second node is remote, without a path', { nodes: ['local', 'b'], model: 'llama', modelPathOnNode: null }, /^bad-request: Node "b" cannot read this machine's model files/],
    [
      'a path on local',
      { nodes: ['local'], model: 'llama', modelPathOnNode: '/srv/models/llama.gguf' },
      'bad-request: --model-path-on-node is for a service on another node: on "local" the service reads the library\'s files of model "llama". | Leave out --model-path-on-node, or give --node NAME for another node.',
    ],
    ['a path without a model', { nodes: ['b'], model: null, modelPathOnNode: '/srv/models/llama.gguf' }, /^bad-request: --model-path-on-node says where the files of the service's model are on the node, but no --model was given\. \| Add --model NAME/],
  ];
  for (const [what, input, want] of table) {
    it(what, () => {
      if (typeof want === 'string') expect(outcome(input)).toBe(want);
      else expect(outcome(input)).toMatch(want);
    });
  }
});

describe('the contract\'s modelPathOnNode', () => {
  const base = { name: 'far', engine: 'llama-cpp', model: 'llama', node: 'b' };
  const issues = (modelPathOnNode: string) => {
    const r = ServiceCreateParams.safeParse({ ...base, modelPathOnNode });
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };

  it('takes an absolute path', () => {
    expect(issues('/srv/models/llama-3-8b')).toEqual([]);
    expect(issues('/srv/models/my model.gguf')).toEqual([]);
  });

  it('refuses a relative path, an empty one, a line break and an overlong one, naming the field', () => {
    const absolute = 'modelPathOnNode: modelPathOnNode must be an absolute path on the node, such as "/srv/models/llama-3-8b"';
    expect(issues('models/llama.gguf')).toEqual([absolute]);
    expect(issues('~/models/llama.gguf')).toEqual([absolute]);
    expect(issues('')).toEqual([absolute]);
    expect(issues('/srv/a\nb')).toEqual([absolute]);
    expect(issues(`/${'a'.repeat(4096)}`)).toEqual(['modelPathOnNode: modelPathOnNode is at most 4096 characters']);
  });
});
