/** The scale plan of a service's replicas as a table: adds fill the lowest free index, removals take the highest first. */
import { describe, expect, it } from 'vitest';
import { planScale, replicaIndex, replicaName } from '../../src/core/services/replicas.js';

describe('planScale', () => {
  it.each<[string, string[], number, { add: string[]; remove: string[] }]>([
    ['1 -> 3', [], 3, { add: ['chat-2', 'chat-3'], remove: [] }],
    ['3 -> 3', ['chat-2', 'chat-3'], 3, { add: [], remove: [] }],
    ['3 -> 1: highest first', ['chat-2', 'chat-3'], 1, { add: [], remove: ['chat-3', 'chat-2'] }],
    ['4 -> 2', ['chat-3', 'chat-2', 'chat-4'], 2, { add: [], remove: ['chat-4', 'chat-3'] }],
    ['a gap is filled first', ['chat-3'], 4, { add: ['chat-2', 'chat-4'], remove: [] }],
    ['10 sorts after 9', ['chat-9', 'chat-10', 'chat-2', 'chat-3', 'chat-4', 'chat-5', 'chat-6', 'chat-7', 'chat-8'], 9, { add: [], remove: ['chat-10'] }],
  ])('%s', (_n, replicas, target, plan) => {
    expect(planScale('chat', replicas, target)).toEqual(plan);
  });

  it('names and indexes', () => {
    expect(replicaName('chat', 2)).toBe('chat-2');
    expect(replicaIndex('chat', 'chat-12')).toBe(12);
    expect(replicaIndex('chat', 'chat-1')).toBeNull();
    expect(replicaIndex('chat', 'chatter-2')).toBeNull();
    expect(replicaIndex('chat', 'chat-x')).toBeNull();
  });
});
