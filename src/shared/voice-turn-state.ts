/**
 * The voice conversation's turn state machine, pure (no Node, no timers): the session in
 * src/core/voice/ feeds it events and acts on the state it lands in; the Voice page shows it.
 *
 * ```
 *             speechStart              speechEnd               transcript
 *  listening ─────────────► hearing ─────────────► transcribing ─────────► thinking
 *     ▲  ▲                    │ speechDiscarded       │ emptyTranscript      │ firstAudio
 *     │  └────────────────────┘◄──────────────────────┘                      ▼
 *     │                                   replyDone / error              speaking
 *     └──────────────────────────────────────────────────────────────────────┘ replyDone
 *
 *  transcribing | thinking | speaking ──speechStart (barge-in)──► interrupted ──cancelled──► hearing
 *  any state ──reset──► listening;  transcribing | thinking | speaking ──error──► listening
 * ```
 *
 * `replyDone` means every audio chunk of the reply was sent and (when the client reports playback)
 * played. An event a state does not handle leaves it unchanged (`changed: false`).
 */
import { assertNever } from './assert-never.js';

export const voiceTurnStates = ['listening', 'hearing', 'transcribing', 'thinking', 'speaking', 'interrupted'] as const;
export type VoiceTurnState = (typeof voiceTurnStates)[number];

export const voiceTurnEvents = [
  'speechStart',
  'speechEnd',
  'speechDiscarded',
  'transcript',
  'emptyTranscript',
  'firstAudio',
  'replyDone',
  'cancelled',
  'error',
  'reset',
] as const;
export type VoiceTurnEvent = (typeof voiceTurnEvents)[number];

/** True in the states where a turn's work (ASR, LLM, TTS) is in flight and a new utterance barges in. */
export function isBusy(state: VoiceTurnState): boolean {
  return state === 'transcribing' || state === 'thinking' || state === 'speaking';
}

/** The next state, or the same one when the event does not apply. */
export function nextVoiceTurnState(state: VoiceTurnState, event: VoiceTurnEvent): VoiceTurnState {
  if (event === 'reset') return 'listening';
  switch (state) {
    case 'listening':
      return event === 'speechStart' ? 'hearing' : state;
    case 'hearing':
      if (event === 'speechEnd') return 'transcribing';
      if (event === 'speechDiscarded') return 'listening';
      return state;
    case 'transcribing':
      if (event === 'transcript') return 'thinking';
      if (event === 'emptyTranscript' || event === 'error') return 'listening';
      if (event === 'speechStart') return 'interrupted';
      return state;
    case 'thinking':
      if (event === 'firstAudio') return 'speaking';
      if (event === 'replyDone' || event === 'error') return 'listening';
      if (event === 'speechStart') return 'interrupted';
      return state;
    case 'speaking':
      if (event === 'replyDone' || event === 'error') return 'listening';
      if (event === 'speechStart') return 'interrupted';
      return state;
    case 'interrupted':
      return event === 'cancelled' ? 'hearing' : state;
    default:
      return assertNever(state, 'voice turn state');
  }
}
