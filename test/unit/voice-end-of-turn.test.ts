/**
 * The end-of-turn decisions with speculation (src/core/voice/end-of-turn.ts) and the speculative
 * turn's output gate (src/core/voice/speculation.ts), as tables.
 */
import { describe, expect, it } from 'vitest';
import { adaptiveWindow, turnEndAction, type TurnEndInput, type WindowRule } from '../../src/core/voice/end-of-turn.js';
import { HeldOutput } from '../../src/core/voice/speculation.js';

const bounds = { baseMs: 540, minMs: 300, maxMs: 1200 };

describe('adaptiveWindow', () => {
  const table: [string | null, WindowRule, number][] = [
    [null, 'base', 540],
    ['', 'base', 540],
    ['   ', 'base', 540],
    ['What is the weather like today?', 'complete', 300],
    ['Turn on the kitchen lights please.', 'complete', 300],
    ['Play some music!', 'complete', 300],
    ['你好吗？', 'complete', 300],
    ['"Stop."', 'complete', 300],
    ['turn on the lights', 'base', 540],
    // Whisper ends most clips with a period: a hanging last word still means "more to come".
    ['Set a timer for.', 'hesitation', 1200],
    ['Set a timer for', 'hesitation', 1200],
    ['I want pizza and', 'hesitation', 1200],
    ['I want pizza, and...', 'hesitation', 1200],
    ['Um.', 'hesitation', 1200],
    ['So the thing is, uh', 'hesitation', 1200],
    ['Call my mother on her', 'hesitation', 1200],
    ['I think that...', 'hesitation', 1200],
    ['Well, let me think…', 'hesitation', 1200],
    ['I was going to say -', 'hesitation', 1200],
    ['Buy apples, pears,', 'hesitation', 1200],
    ['What about the', 'hesitation', 1200],
    ['Do you like it', 'base', 540],
  ];
  it.each(table)('%j → %s (%d ms)', (text, rule, ms) => {
    expect(adaptiveWindow(text, bounds)).toEqual({ windowMs: ms, rule });
  });

  it('while the speculation\'s ASR runs, waits for its transcript up to the longest window', () => {
    expect(adaptiveWindow(null, bounds, true)).toEqual({ windowMs: 1200, rule: 'awaiting' });
    expect(adaptiveWindow(null, { baseMs: 1500, minMs: 300, maxMs: 1200 }, true)).toEqual({ windowMs: 1500, rule: 'awaiting' });
  });

  it('never lengthens a complete sentence nor shortens a hesitation past the base window', () => {
    expect(adaptiveWindow('Hello there.', { baseMs: 250, minMs: 300, maxMs: 1200 })).toEqual({ windowMs: 250, rule: 'complete' });
    expect(adaptiveWindow('and', { baseMs: 1500, minMs: 300, maxMs: 1200 })).toEqual({ windowMs: 1500, rule: 'hesitation' });
  });
});

describe('turnEndAction', () => {
  const base: TurnEndInput = { pending: true, speaking: false, silenceMs: 0, earlyMarkMs: 200, windowMs: 540, speculating: false };
  const table: [string, Partial<TurnEndInput>, ReturnType<typeof turnEndAction>][] = [
    ['nothing heard', { pending: false, silenceMs: 5000 }, 'none'],
    ['silence shorter than the early mark', { silenceMs: 150 }, 'none'],
    ['the early mark', { silenceMs: 200 }, 'speculate'],
    ['past the early mark, speculating', { silenceMs: 400, speculating: true }, 'none'],
    ['past the early mark, a speculation was discarded', { silenceMs: 400 }, 'speculate'],
    ['the window', { silenceMs: 540, speculating: true }, 'commit'],
    ['the window, no speculation ran', { silenceMs: 600 }, 'commit'],
    ['a window shortened below the silence so far', { silenceMs: 450, windowMs: 300, speculating: true }, 'commit'],
    ['speech again while speculating', { speaking: true, silenceMs: 0, speculating: true }, 'discard'],
    ['speech again, nothing to discard', { speaking: true }, 'none'],
    ['a speculation left over once nothing is pending', { pending: false, speculating: true }, 'discard'],
  ];
  it.each(table)('%s → %s', (_name, patch, action) => {
    expect(turnEndAction({ ...base, ...patch })).toBe(action);
  });
});

describe('HeldOutput', () => {
  it('holds steps until released, then runs them in order, and later ones at once', async () => {
    const seen: string[] = [];
    const g = new HeldOutput(true, () => {});
    g.run(() => seen.push('a'));
    g.run(() => seen.push('b'));
    expect(seen).toEqual([]);
    expect(g.outcome).toBe('held');
    g.release();
    g.run(() => seen.push('c'));
    expect(seen).toEqual(['a', 'b', 'c']);
    await expect(g.decided).resolves.toBe('kept');
  });

  it('drops everything once discarded, and a release after it changes nothing', async () => {
    const seen: string[] = [];
    const g = new HeldOutput(true, () => {});
    g.run(() => seen.push('a'));
    g.discard();
    g.run(() => seen.push('b'));
    g.release();
    expect(seen).toEqual([]);
    expect(g.outcome).toBe('discarded');
    await expect(g.decided).resolves.toBe('discarded');
  });

  it('an open gate runs at once; a step that throws on release is reported and the rest still run', async () => {
    const open = new HeldOutput(false, () => {});
    let ran = false;
    open.run(() => (ran = true));
    expect(ran).toBe(true);
    await expect(open.decided).resolves.toBe('kept');
    const errors: unknown[] = [];
    const seen: string[] = [];
    const g = new HeldOutput(true, (e) => errors.push(e));
    g.run(() => {
      throw new Error('listener');
    });
    g.run(() => seen.push('after'));
    g.release();
    expect(seen).toEqual(['after']);
    expect(errors).toHaveLength(1);
  });
});
