/** The voice turn state machine (src/shared/voice-turn-state.ts): every state × every event. */
import { describe, expect, it } from 'vitest';
import { isBusy, nextVoiceTurnState, voiceTurnEvents, voiceTurnStates, type VoiceTurnEvent, type VoiceTurnState } from '../../src/shared/voice-turn-state.js';

/** Expected next state for each (state, event); events not listed leave the state unchanged. */
const TABLE: Record<VoiceTurnState, Partial<Record<VoiceTurnEvent, VoiceTurnState>>> = {
  listening: { speechStart: 'hearing', reset: 'listening' },
  hearing: { speechEnd: 'transcribing', speechDiscarded: 'listening', reset: 'listening' },
  transcribing: { transcript: 'thinking', emptyTranscript: 'listening', error: 'listening', speechStart: 'interrupted', reset: 'listening' },
  thinking: { firstAudio: 'speaking', replyDone: 'listening', error: 'listening', speechStart: 'interrupted', reset: 'listening' },
  speaking: { replyDone: 'listening', error: 'listening', speechStart: 'interrupted', reset: 'listening' },
  interrupted: { cancelled: 'hearing', reset: 'listening' },
};

describe('voice turn state machine', () => {
  for (const state of voiceTurnStates) {
    for (const event of voiceTurnEvents) {
      const expected = TABLE[state][event] ?? state;
      it(`${state} + ${event} → ${expected}`, () => {
        expect(nextVoiceTurnState(state, event)).toBe(expected);
      });
    }
  }

  it('a barge-in is possible exactly where work is in flight', () => {
    expect(voiceTurnStates.filter(isBusy)).toEqual(['transcribing', 'thinking', 'speaking']);
    for (const s of voiceTurnStates) expect(nextVoiceTurnState(s, 'speechStart') === 'interrupted').toBe(isBusy(s) || s === 'interrupted');
  });

  it('a whole turn with a barge-in walks the documented path', () => {
    const path: VoiceTurnEvent[] = ['speechStart', 'speechEnd', 'transcript', 'firstAudio', 'speechStart', 'cancelled', 'speechEnd', 'transcript', 'replyDone'];
    const seen: VoiceTurnState[] = [];
    let s: VoiceTurnState = 'listening';
    for (const e of path) seen.push((s = nextVoiceTurnState(s, e)));
    expect(seen).toEqual(['hearing', 'transcribing', 'thinking', 'speaking', 'interrupted', 'hearing', 'transcribing', 'thinking', 'listening']);
  });
});
