/** The Voice page's playback scheduling (gapless queue, turn start/end, stop) without Web Audio. */
import { describe, expect, it } from 'vitest';
import { PlaybackScheduler } from '../../src/renderer/src/features/voice/playback-scheduler.js';

describe('PlaybackScheduler', () => {
  it('plays chunks back to back: each starts at max(now, end of the previous)', () => {
    const s = new PlaybackScheduler<string>();
    expect(s.enqueue('t1', 'a', 0.5, 10)).toEqual({ startAt: 10, startsTurn: true });
    // Arrived early: queued after the first.
    expect(s.enqueue('t1', 'b', 0.25, 10.1)).toEqual({ startAt: 10.5, startsTurn: false });
    // Arrived after the queue ran dry: starts now, no negative gap.
    expect(s.enqueue('t1', 'c', 0.5, 12)).toEqual({ startAt: 12, startsTurn: false });
    expect(s.playing).toBe(true);
  });

  it("ends a turn when its last chunk ended after the core's audio.end, in either order", () => {
    const s = new PlaybackScheduler<string>();
    s.enqueue('t1', 'a', 1, 0);
    s.enqueue('t1', 'b', 1, 0);
    expect(s.ended('t1', 'a')).toBe(false);
    expect(s.audioEnd('t1')).toBe(false); // b still plays
    expect(s.ended('t1', 'b')).toBe(true);
    expect(s.playing).toBe(false);

    s.enqueue('t2', 'c', 1, 5);
    expect(s.ended('t2', 'c')).toBe(false); // more may come
    expect(s.audioEnd('t2')).toBe(true); // everything already played
    // Nothing to report for a turn that never played, or twice.
    expect(s.audioEnd('t3')).toBe(false);
    expect(s.ended('t2', 'c')).toBe(false);
  });

  it('stop returns the turn’s sources, forgets it, and lets the next audio start at once', () => {
    const s = new PlaybackScheduler<string>();
    s.enqueue('t1', 'a', 2, 0);
    s.enqueue('t1', 'b', 2, 0);
    expect(s.stop(0.3, 't1').sort()).toEqual(['a', 'b']);
    expect(s.playing).toBe(false);
    // A stopped turn reports no end.
    expect(s.ended('t1', 'a')).toBe(false);
    expect(s.audioEnd('t1')).toBe(false);
    // The next turn does not wait for the 4 s that were dropped.
    expect(s.enqueue('t2', 'c', 1, 0.31)).toEqual({ startAt: 0.31, startsTurn: true });
  });

  it('stops only the named turn; without a name, everything', () => {
    const s = new PlaybackScheduler<string>();
    s.enqueue('t1', 'a', 1, 0);
    s.enqueue('t2', 'b', 1, 0);
    expect(s.stop(0.5, 't1')).toEqual(['a']);
    // t2's chunk still ends at 2 s: new audio queues after it.
    expect(s.enqueue('t2', 'c', 1, 0.6).startAt).toBe(2);
    expect(s.stop(0.7).sort()).toEqual(['b', 'c']);
    expect(s.playing).toBe(false);
  });
});
