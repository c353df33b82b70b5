/** Whether a group an earlier core left is adopted, or has failed and is removed (cluster/span-adoption.ts). */
import { describe, expect, it } from 'vitest';
import { judgeFoundGroup, type FoundMember } from '../../src/core/cluster/span-adoption.js';

const labels = (rank: number, extra: Record<string, string> = {}) => ({ 'aima.span': 'id-1', 'aima.rank': String(rank), 'aima.log': '/logs/big.log', 'aima.host': '127.0.0.1', 'aima.port': '8123', ...extra });
const member = (node: string, rank: number, running = true, extra: Record<string, string> = {}): FoundMember => ({ node, labels: labels(rank, extra), running });

describe('judgeFoundGroup', () => {
  const nodes = ['a', 'b', 'c'];
  it.each<[string, FoundMember[], ReturnType<typeof judgeFoundGroup>]>([
    ['every member running on its node', [member('a', 0), member('b', 1), member('c', 2)], { whole: true, host: '127.0.0.1', port: 8123, logFile: '/logs/big.log', engineExec: false, tls: false }],
    ['the head marked as running the engine (Ray)', [member('a', 0, true, { 'aima.span.exec': 'engine' }), member('b', 1), member('c', 2)], { whole: true, host: '127.0.0.1', port: 8123, logFile: '/logs/big.log', engineExec: true, tls: false }],
    ['the head serving TLS with the stored key (a TCP node)', [member('a', 0, true, { 'aima.span.exec': 'engine', 'aima.reach': 'tls' }), member('b', 1), member('c', 2)], { whole: true, host: '127.0.0.1', port: 8123, logFile: '/logs/big.log', engineExec: true, tls: true }],
    ['a worker gone', [member('a', 0), member('c', 2)], { whole: false, why: 'its member on b ended or went while no AIMA core watched', logFile: '/logs/big.log' }],
    ['the head ended, a worker gone', [member('a', 0, false), member('c', 2)], { whole: false, why: 'its members on a, b ended or went while no AIMA core watched', logFile: '/logs/big.log' }],
    ['a member with another rank than its node has in the span', [member('a', 0), member('b', 2), member('c', 1)], { whole: false, why: 'its members on b, c ended or went while no AIMA core watched', logFile: '/logs/big.log' }],
    ['two members on one node', [member('a', 0), member('b', 1), member('b', 1), member('c', 2)], { whole: false, why: 'a node has more than one member', logFile: '/logs/big.log' }],
    [
      'members without the labels adoption reads',
      nodes.map((n, rank) => ({ node: n, labels: { 'aima.span': 'id-1', 'aima.rank': String(rank) }, running: true })),
      { whole: false, why: 'it was started without the labels adoption reads', logFile: null },
    ],
  ])('%s', (_, found, verdict) => {
    expect(judgeFoundGroup(nodes, found)).toEqual(verdict);
  });
});
