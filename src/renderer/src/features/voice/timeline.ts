/**
 * A turn's timeline (core clock, ms; fields in docs/voice.md) as bars for the page: one per stage,
 * placed relative to the start of the user's speech, plus the voice-to-voice span (end of speech →
 * first audio out) that the page highlights. Pure.
 */
import type { VoiceTimeline, VoiceTimelinePoint as Point } from '../../../../shared/contract/voice.js';

export interface TimelineBar {
  key: string;
  label: string;
  /** ms after the origin (the start of speech). */
  from: number;
  to: number;
}

export interface TimelineLayout {
  bars: TimelineBar[];
  /** The last bar's end: the scale's full width, ms. */
  total: number;
  voiceToVoice: { from: number; to: number; ms: number } | null;
}

const STAGES: readonly { key: string; label: string; from: Point; to: Point }[] = [
  { key: 'speech', label: 'you speak', from: 'speechStart', to: 'speechEnd' },
  { key: 'silence', label: 'silence window', from: 'speechEnd', to: 'endOfTurn' },
  // A kept speculation began its ASR at the early mark, inside the silence window.
  { key: 'speculation', label: 'speculative start', from: 'speculationStart', to: 'endOfTurn' },
  { key: 'asr', label: 'ASR', from: 'endOfTurn', to: 'asrDone' },
  { key: 'llm', label: 'LLM first token', from: 'asrDone', to: 'llmFirstToken' },
  { key: 'sentence', label: 'first sentence', from: 'llmFirstToken', to: 'firstSentence' },
  { key: 'tts', label: 'TTS first audio', from: 'firstSentence', to: 'firstAudio' },
  { key: 'out', label: 'to the speaker', from: 'firstAudio', to: 'playbackStart' },
  { key: 'reply', label: 'reply plays', from: 'playbackStart', to: 'turnEnd' },
];

export function timelineLayout(tl: Partial<VoiceTimeline>): TimelineLayout {
  const at = (p: Point): number | null => (typeof tl[p] === 'number' ? tl[p] : null);
  const points = STAGES.flatMap((s) => [at(s.from), at(s.to)]).filter((v): v is number => v !== null);
  if (points.length === 0) return { bars: [], total: 0, voiceToVoice: null };
  const origin = at('speechStart') ?? Math.min(...points);
  const bars: TimelineBar[] = [];
  const kept = tl.speculation === 'kept';
  for (const s of STAGES) {
    if (s.key === 'speculation' && !kept) continue;
    const a = at(s.key === 'asr' && kept ? 'speculationStart' : s.from);
    const b = at(s.to);
    if (a === null || b === null) continue;
    bars.push({ key: s.key, label: s.label, from: a - origin, to: Math.max(a, b) - origin });
  }
  const end = at('speechEnd');
  const first = at('firstAudio');
  const voiceToVoice = end !== null && first !== null ? { from: end - origin, to: first - origin, ms: tl.voiceToVoiceMs ?? first - end } : null;
  const total = Math.max(0, ...bars.map((b) => b.to), voiceToVoice?.to ?? 0);
  return { bars, total, voiceToVoice };
}
