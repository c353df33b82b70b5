/**
 * When a user's turn ends, with speculation on: pure decisions the session takes at every frame.
 *
 * - {@link adaptiveWindow}: the silence window for an utterance, from the speculative transcript.
 *   A complete sentence or question ends sooner; a hesitation ("um") or a sentence left hanging
 *   on a conjunction, preposition or article waits longer. Whisper ends nearly every clip with a
 *   period, so a hanging last word wins over the punctuation. While the speculation's ASR still
 *   runs, the turn waits for its transcript (up to the longest window): a kept speculation cannot
 *   answer before its transcript anyway, so the wait costs no latency, and it keeps a pause that
 *   outlasts the base window from ending a sentence left hanging.
 * - {@link turnEndAction}: from the silence so far, speculate (the early mark), commit (the
 *   window), or discard a speculation (speech again).
 */

/** The window bounds (settings) and the base window (the chain's, or a Realtime client's). */
export interface WindowBounds {
  baseMs: number;
  /** The window after a complete sentence or question (never longer than the base). */
  minMs: number;
  /** The window after a hesitation (never shorter than the base). */
  maxMs: number;
}

export type WindowRule = 'complete' | 'hesitation' | 'base' | 'awaiting';

const HESITATIONS = new Set(['um', 'uh', 'umm', 'uhm', 'er', 'erm', 'hmm', 'mm', 'ah', 'eh', 'like', 'well']);
/** Words a finished sentence does not end on. */
const CONTINUATIONS = new Set([
  'and', 'or', 'but', 'so', 'because', 'cause', 'then', 'if', 'than', 'that', 'which', 'who', 'when', 'while', 'although', 'though', 'unless', 'until',
  'for', 'to', 'of', 'in', 'on', 'at', 'by', 'with', 'from', 'about', 'into', 'onto', 'over', 'under', 'after', 'before', 'between', 'like',
  'the', 'a', 'an', 'my', 'your', 'his', 'her', 'our', 'their', 'its', 'this', 'these', 'those', 'some', 'any', 'is', 'are', 'was', 'were', 'am',
]);
const TRAILING_OFF = /(\.\.\.|…|-|—|,)\s*$/;
const SENTENCE_END = /[.!?。！？]["'”’)\]]*\s*$/;

/**
 * The window an utterance gets, and the rule that chose it. `transcript`: the speculation's, null
 * without one; `asrRunning`: a speculation runs and its transcript is not known yet.
 */
export function adaptiveWindow(transcript: string | null, b: WindowBounds, asrRunning = false): { windowMs: number; rule: WindowRule } {
  if (asrRunning) return { windowMs: Math.max(b.baseMs, b.maxMs), rule: 'awaiting' };
  const text = transcript?.trim() ?? '';
  const words = text.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? [];
  const last = words.at(-1);
  if (last === undefined) return { windowMs: b.baseMs, rule: 'base' };
  if (HESITATIONS.has(last) || CONTINUATIONS.has(last) || TRAILING_OFF.test(text)) return { windowMs: Math.max(b.baseMs, b.maxMs), rule: 'hesitation' };
  if (SENTENCE_END.test(text)) return { windowMs: Math.min(b.baseMs, b.minMs), rule: 'complete' };
  return { windowMs: b.baseMs, rule: 'base' };
}

export interface TurnEndInput {
  /** Speech was heard and not yet committed as a turn. */
  pending: boolean;
  /** Either detector hears speech now. */
  speaking: boolean;
  /** Silence since the last speech window, ms. */
  silenceMs: number;
  earlyMarkMs: number;
  windowMs: number;
  /** A speculation runs on the pending audio. */
  speculating: boolean;
}

export type TurnEndAction = 'none' | 'speculate' | 'commit' | 'discard';

/** What the session does after a frame. */
export function turnEndAction(s: TurnEndInput): TurnEndAction {
  if (!s.pending || s.speaking) return s.speculating ? 'discard' : 'none';
  if (s.silenceMs >= s.windowMs) return 'commit';
  if (s.silenceMs >= s.earlyMarkMs && !s.speculating) return 'speculate';
  return 'none';
}
