/**
 * The `/api/voice` protocol's schemas (src/shared/contract/voice-socket.ts): every message kind of
 * both directions survives JSON and the schema unchanged, and a message that does not fit names
 * the field that is wrong.
 */
import { describe, expect, it } from 'vitest';
import {
  audioFrameBytes,
  describeVoiceIssues,
  isVoiceRelayClose,
  micFrameIssue,
  parseVoiceMessage,
  VoiceClientMessage,
  VoiceCoreMessage,
  VoiceStartMessage,
  type VoiceClientMessageParsed,
  type VoiceCoreMessage as CoreMessage,
} from '../../src/shared/contract/voice-socket.js';
import type { VoiceTimeline } from '../../src/shared/contract/voice.js';

const timeline: VoiceTimeline = {
  speechStart: 100,
  speechEnd: 900,
  silenceWindowMs: 500,
  windowRule: 'complete',
  speculation: 'kept',
  speculationStart: 1100,
  speculationsDiscarded: 1,
  endOfTurn: 1400,
  asrDone: 1600,
  llmFirstToken: 1650,
  firstSentence: 1700,
  firstAudio: 1800,
  playbackStart: 1820,
  llmDone: 2000,
  turnEnd: 3500,
  voiceToVoiceMs: 900,
};
const chain = { asr: 'whisper', llm: 'qwen', tts: 'kokoro', voice: null, systemPrompt: 'Be brief.', silenceMs: 500, maxTokens: 160 };

/** One of each client message, as the core reads it (defaults filled in). */
const clientMessages: VoiceClientMessageParsed[] = [
  { type: 'start', format: 's16le', sampleRate: 16000, playback: false, echo: true },
  {
    type: 'start',
    conversationId: 'c1',
    persist: false,
    format: 'f32le',
    sampleRate: 16000,
    playback: true,
    chain: { voice: 'af_heart', maxTokens: 60 },
    llm: { temperature: 0, seed: 1 },
    echo: false,
  },
  { type: 'sync', coreTime: 12.5, clientTime: 99.25 },
  { type: 'playback', turnId: 't1', event: 'start', clientTime: 1000 },
  { type: 'playback', turnId: 't1', event: 'end', clientTime: 2000 },
  { type: 'end' },
  { type: 'cancel' },
];

const coreMessages: CoreMessage[] = [
  { type: 'sync', coreTime: 10 },
  { type: 'ready', conversationId: 'c1', chain, clockOffsetMs: -3.5, rttMs: 0.8, coreTime: 20 },
  { type: 'ready', conversationId: null, chain: { ...chain, voice: 'af_heart' }, clockOffsetMs: 0, rttMs: 1, coreTime: 20 },
  { type: 'state', state: 'transcribing', turnId: 't1', at: 30 },
  { type: 'state', state: 'listening', turnId: null, at: 31 },
  { type: 'transcript', turnId: 't1', text: 'hello' },
  { type: 'reply', turnId: 't1', delta: 'Hi' },
  { type: 'sentence', turnId: 't1', index: 0, text: 'Hi there.', at: 40 },
  { type: 'audio', turnId: 't1', seq: 0, sampleRate: 24000, format: 's16le', samples: 480 },
  { type: 'audio.end', turnId: 't1' },
  { type: 'audio.stop', turnId: 't1' },
  { type: 'barge-in', turnId: 't1', detectedAt: 50, stoppedAt: 62, stopMs: 12 },
  { type: 'speculation.discarded', startedAt: 40, discardedAt: 45, audioMs: 900 },
  { type: 'turn', turnId: 't1', transcript: 'hello', reply: 'Hi there.', interrupted: false, error: null, timeline, audioSeconds: 1.2, storedTurnId: 'u1' },
  { type: 'turn', turnId: 't2', transcript: '', reply: '', interrupted: true, error: 'LLM unavailable', timeline: { ...timeline, firstAudio: null, voiceToVoiceMs: null }, audioSeconds: 0, storedTurnId: null },
  { type: 'idle' },
  { type: 'error', message: 'The turn could not be stored.' },
  { type: 'error', message: 'Ignored a "playback" message: turnId: Invalid input', issues: [{ path: ['turnId'], message: 'Invalid input' }] },
];

describe('voice socket contract', () => {
  it('covers every message kind of both directions', () => {
    expect(new Set(clientMessages.map((m) => m.type))).toEqual(new Set(VoiceClientMessage.options.map((o) => o.shape.type.value)));
    expect(new Set(coreMessages.map((m) => m.type))).toEqual(new Set(VoiceCoreMessage.options.map((o) => o.shape.type.value)));
  });

  it.each(clientMessages.map((m) => [`${m.type} ${JSON.stringify(m).slice(0, 60)}`, m] as const))('client → core round trip: %s', (_name, m) => {
    expect(parseVoiceMessage(VoiceClientMessage, JSON.stringify(m))).toEqual({ ok: true, message: m });
  });

  it.each(coreMessages.map((m) => [`${m.type} ${JSON.stringify(m).slice(0, 60)}`, m] as const))('core → client round trip: %s', (_name, m) => {
    expect(parseVoiceMessage(VoiceCoreMessage, JSON.stringify(m))).toEqual({ ok: true, message: m });
  });

  it('fills in the start defaults: 16 kHz s16le, no playback reports, echo guard on', () => {
    expect(VoiceStartMessage.parse({ type: 'start' })).toEqual({ type: 'start', format: 's16le', sampleRate: 16000, playback: false, echo: true });
  });

  it('a wrong-typed field is named by its path, with what is wrong', () => {
    const r = parseVoiceMessage(VoiceClientMessage, JSON.stringify({ type: 'playback', turnId: 42, event: 'start', clientTime: 1 }));
    expect(r).toEqual({ ok: false, type: 'playback', issues: [{ path: ['turnId'], message: 'Invalid input: expected string, received number' }] });
    if (!r.ok) expect(describeVoiceIssues(r.issues)).toBe('turnId: Invalid input: expected string, received number');
  });

  it('names nested fields, missing fields, unknown types, unknown start options and non-JSON', () => {
    const issues = (schema: typeof VoiceClientMessage | typeof VoiceCoreMessage, m: unknown) => {
      const r = parseVoiceMessage(schema, typeof m === 'string' ? m : JSON.stringify(m));
      return r.ok ? null : describeVoiceIssues(r.issues);
    };
    expect(issues(VoiceClientMessage, { type: 'start', chain: { maxTokens: 0 } })).toMatch(/^chain\.maxTokens: Too small/);
    expect(issues(VoiceClientMessage, { type: 'start', format: 'mp3' })).toMatch(/^format: Invalid option/);
    expect(issues(VoiceClientMessage, { type: 'start', sampleRate: 48000 })).toMatch(/^sampleRate: /);
    expect(issues(VoiceClientMessage, { type: 'start', playbak: true })).toMatch(/playbak/);
    expect(issues(VoiceClientMessage, { type: 'sync', coreTime: 1 })).toBe('clientTime: Invalid input: expected number, received undefined');
    expect(issues(VoiceClientMessage, { type: 'playback', turnId: 't', event: 'paused', clientTime: 1 })).toMatch(/^event: Invalid option/);
    expect(issues(VoiceClientMessage, { type: 'pause' })).toMatch(/^type: Invalid discriminator value/);
    expect(issues(VoiceClientMessage, { turnId: 't' })).toMatch(/^type: /);
    expect(issues(VoiceClientMessage, '[1, 2]')).toBe('(message): Invalid input: expected object, received array');
    expect(issues(VoiceClientMessage, '{"type": "end"')).toBe('(message): Text frames are JSON objects.');
    expect(issues(VoiceCoreMessage, { type: 'state', state: 'dreaming', turnId: null, at: 1 })).toMatch(/^state: Invalid option/);
    expect(issues(VoiceCoreMessage, { type: 'turn', turnId: 't', transcript: '', reply: '', interrupted: false, error: null, timeline: { ...timeline, asrDone: 'soon' }, audioSeconds: 0, storedTurnId: null })).toMatch(
      /^timeline\.asrDone: Invalid input: expected number, received string/,
    );
    expect(issues(VoiceCoreMessage, { type: 'audio', turnId: 't', seq: 0, sampleRate: 24000, format: 'f32le', samples: 1 })).toMatch(/^format: /);
  });

  it('describes the binary frames: microphone frames hold whole samples, audio frames follow their header', () => {
    expect(micFrameIssue('s16le', 640)).toBeNull();
    expect(micFrameIssue('f32le', 1280)).toBeNull();
    expect(micFrameIssue('s16le', 0)).toBeNull();
    expect(micFrameIssue('s16le', 641)?.message).toBe('A binary frame of 641 bytes is not a whole number of s16le samples (2 bytes each).');
    expect(micFrameIssue('f32le', 642)?.message).toMatch(/642 bytes .* f32le samples \(4 bytes each\)/);
    expect(audioFrameBytes({ samples: 480 })).toBe(960);
  });

  it('tells the relay’s close from protocol frames', () => {
    expect(isVoiceRelayClose({ relay: 'close' })).toBe(true);
    expect(isVoiceRelayClose({ relay: 'close', code: 1008, reason: 'bad start' })).toBe(true);
    expect(isVoiceRelayClose('{"relay":"close"}')).toBe(false);
    expect(isVoiceRelayClose(new ArrayBuffer(4))).toBe(false);
    expect(isVoiceRelayClose({ relay: 'open' })).toBe(false);
    expect(isVoiceRelayClose({ relay: 'close', code: 'x' })).toBe(false);
  });
});
