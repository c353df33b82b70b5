/** The replica choice as a table: room first, then fewest in flight, then least recently picked. */
import { describe, expect, it } from 'vitest';
import { pickReplica, type ReplicaLoad } from '../../src/core/gateway/replica-pick.js';

const r = (inFlight: number, limit: number, lastPicked: number, excluded = false): ReplicaLoad => ({ inFlight, limit, lastPicked, excluded });

describe('pickReplica', () => {
  it.each<[string, ReplicaLoad[], number]>([
    ['no replicas: wait', [], -1],
    ['one idle replica', [r(0, 1, 0)], 0],
    ['the one with fewer in flight', [r(2, 4, 1), r(1, 4, 9)], 1],
    ['fewer in flight wins over a less recent pick', [r(1, 4, 1), r(0, 4, 9)], 1],
    ['a tie goes to the least recently picked', [r(1, 4, 7), r(1, 4, 3)], 1],
    ['never picked counts as least recent', [r(0, 4, 5), r(0, 4, 0)], 1],
    ['a full replica is skipped even with a lower count', [r(1, 1, 0), r(3, 4, 9)], 1],
    ['all full: wait', [r(1, 1, 0), r(2, 2, 0)], -1],
    ['an excluded replica is skipped', [r(0, 4, 0, true), r(3, 4, 9)], 1],
    ['only excluded room: wait', [r(0, 4, 0, true), r(4, 4, 0)], -1],
    ['three replicas, the least loaded in the middle', [r(2, 8, 1), r(0, 8, 2), r(1, 8, 0)], 1],
  ])('%s', (_name, replicas, expected) => {
    expect(pickReplica(replicas)).toBe(expected);
  });

  it('is not a round-robin: a replica that keeps its requests gets none while another has fewer', () => {
    // Replica 0 is slow (its requests stay), replica 1 answers at once (its count drops to 0).
    const loads = [r(0, 8, 0), r(0, 8, 0)];
    const picks = [0, 0];
    let clock = 0;
    for (let i = 0; i < 10; i++) {
      const at = pickReplica(loads);
      picks[at]!++;
      loads[at]!.lastPicked = ++clock;
      if (at === 0) loads[0]!.inFlight++; // the slow one keeps it
    }
    expect(picks).toEqual([1, 9]);
  });
});
