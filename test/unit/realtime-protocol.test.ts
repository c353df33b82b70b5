/**
 * The Realtime adapter's pure parts: reading client events, applying session.update (GA and beta),
 * admission before the upgrade, the subprotocol answer, audio decoding and truncation.
 */
import { describe, expect, it } from 'vitest';
import { parseRealtimeEvent } from '../../src/shared/contract/realtime.js';
import { applySessionUpdate, DEFAULT_VAD, sessionObject, type RealtimeConfig } from '../../src/core/voice/realtime/session-config.js';
import { admitRealtime, chooseSubprotocol, refusalResponse, wantsBeta, type AdmissionFacts } from '../../src/core/voice/realtime/admission.js';
import { decodePcm16Base64, truncateText } from '../../src/core/voice/realtime/socket.js';

const base: RealtimeConfig = { id: 'sess_1', model: 'default', instructions: '', voice: null, audioOut: true, transcription: false, turnDetection: DEFAULT_VAD, tools: [], toolChoice: 'auto', maxOutputTokens: 'inf' };
const lights = { type: 'function' as const, name: 'lights', parameters: { type: 'object', properties: { on: { type: 'boolean' } } } };

describe('parseRealtimeEvent', () => {
  it.each([
    ['{"type":', 'invalid_json', null],
    ['[1]', 'invalid_event', null],
    ['{"event_id":"e1"}', 'invalid_event', 'type'],
    ['{"type":"response.explode"}', 'unknown_event_type', 'type'],
    ['{"type":"input_audio_buffer.append"}', 'invalid_value', 'audio'],
    ['{"type":"conversation.item.truncate","item_id":"x","content_index":0,"audio_end_ms":-1}', 'invalid_value', 'audio_end_ms'],
  ])('%s → %s', (text, code, param) => {
    const r = parseRealtimeEvent(text);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.code).toBe(code);
      expect(r.param).toBe(param);
    }
  });
  it('keeps the client event_id on a refusal and reads a valid event', () => {
    const bad = parseRealtimeEvent('{"type":"nope","event_id":"evt_7"}');
    expect(!bad.ok && bad.eventId).toBe('evt_7');
    const ok = parseRealtimeEvent('{"type":"input_audio_buffer.commit","event_id":"evt_8"}');
    expect(ok).toEqual({ ok: true, event: { type: 'input_audio_buffer.commit', event_id: 'evt_8' } });
  });
});

describe('applySessionUpdate', () => {
  it.each<[string, unknown, boolean, Partial<RealtimeConfig> | { code: string; param: string }]>([
    ['GA instructions and voice', { type: 'realtime', instructions: 'Be brief.', audio: { output: { voice: 'slt' } } }, false, { instructions: 'Be brief.', voice: 'slt' }],
    ['GA text only', { output_modalities: ['text'] }, false, { audioOut: false }],
    ['GA manual turns', { audio: { input: { turn_detection: null } } }, false, { turnDetection: null }],
    ['GA VAD settings', { audio: { input: { turn_detection: { type: 'server_vad', threshold: 0.6, silence_duration_ms: 700 } } } }, false, { turnDetection: { ...DEFAULT_VAD, threshold: 0.6, silenceMs: 700 } }],
    ['GA transcription on', { audio: { input: { transcription: { model: 'whisper-1' } } } }, false, { transcription: true }],
    ['beta shape', { modalities: ['text'], voice: 'kal', input_audio_transcription: { model: 'x' }, turn_detection: null }, true, { audioOut: false, voice: 'kal', transcription: true, turnDetection: null }],
    ['GA threshold out of range', { audio: { input: { turn_detection: { type: 'server_vad', threshold: 1.5 } } } }, false, { code: 'invalid_value', param: 'session.audio.input.turn_detection.threshold' }],
    ['GA silence too short', { audio: { input: { turn_detection: { type: 'server_vad', silence_duration_ms: 10 } } } }, false, { code: 'invalid_value', param: 'session.audio.input.turn_detection.silence_duration_ms' }],
    ['GA pcmu', { audio: { input: { format: { type: 'audio/pcmu' } } } }, false, { code: 'unsupported_audio_format', param: 'session.audio.input.format.type' }],
    ['GA 16 kHz pcm', { audio: { output: { format: { type: 'audio/pcm', rate: 16000 } } } }, false, { code: 'unsupported_audio_format', param: 'session.audio.output.format.rate' }],
    ['beta g711', { input_audio_format: 'g711_ulaw' }, true, { code: 'unsupported_audio_format', param: 'session.input_audio_format' }],
    ['GA token cap', { max_output_tokens: 40 }, false, { maxOutputTokens: 40 }],
    ['GA token cap lifted', { max_output_tokens: 'inf' }, false, { maxOutputTokens: 'inf' }],
    ['beta token cap', { max_response_output_tokens: 12 }, true, { maxOutputTokens: 12 }],
    ['GA token cap of 0', { max_output_tokens: 0 }, false, { code: 'invalid_value', param: 'session.max_output_tokens' }],
    ['beta token cap not a number', { max_response_output_tokens: 'lots' }, true, { code: 'invalid_value', param: 'session.max_response_output_tokens' }],
    ['GA tools and a named choice', { tools: [lights], tool_choice: { type: 'function', name: 'lights' } }, false, { tools: [lights], toolChoice: { type: 'function', name: 'lights' } }],
    ['beta tools', { tools: [lights], tool_choice: 'required' }, true, { tools: [lights], toolChoice: 'required' }],
    ['an MCP tool', { tools: [{ type: 'mcp', server_label: 'x' }] }, false, { code: 'invalid_value', param: 'session.tools.0.type' }],
    ['a choice naming no tool', { tools: [lights], tool_choice: { type: 'function', name: 'oven' } }, false, { code: 'invalid_value', param: 'session.tool_choice.name' }],
    ['required without tools', { tool_choice: 'required' }, false, { code: 'invalid_value', param: 'session.tool_choice' }],
    ['a name twice', { tools: [lights, lights] }, false, { code: 'invalid_value', param: 'session.tools[1].name' }],
    ['a bad choice', { tools: [lights], tool_choice: 'always' }, false, { code: 'invalid_value', param: 'session.tool_choice' }],
    ['both modalities', { output_modalities: ['audio', 'text'] }, false, { code: 'invalid_value', param: 'session.output_modalities' }],
    ['no barge-in', { audio: { input: { turn_detection: { type: 'server_vad', interrupt_response: false } } } }, false, { code: 'unsupported_value', param: 'session.audio.input.turn_detection.interrupt_response' }],
  ])('%s', (_name, session, beta, want) => {
    const r = applySessionUpdate(base, session, beta);
    if ('code' in want) {
      expect(r).toMatchObject({ ok: false, ...want });
    } else {
      expect(r.ok).toBe(true);
      if (r.ok) expect(r.config).toEqual({ ...base, ...want });
    }
  });
  it('shows the session in the GA and beta shapes', () => {
    expect(sessionObject(base, false)).toMatchObject({ type: 'realtime', output_modalities: ['audio'], audio: { input: { format: { type: 'audio/pcm', rate: 24000 } } } });
    expect(sessionObject({ ...base, audioOut: false }, true)).toMatchObject({ modalities: ['text'], input_audio_format: 'pcm16', turn_detection: { type: 'server_vad' } });
  });
});

describe('admitRealtime', () => {
  const ok: AdmissionFacts = { originAllowed: true, origin: undefined, authorized: true, model: 'default', sessions: 0, maxSessions: 4, chainProblem: null };
  it.each<[string, Partial<AdmissionFacts>, number | null, string | null]>([
    ['all fine', {}, null, null],
    ['foreign origin', { originAllowed: false, origin: 'http://evil.test' }, 403, 'cors_origin_denied'],
    ['no key', { authorized: false }, 401, 'invalid_api_key'],
    ['no model', { model: null }, 400, 'missing_model'],
    ['cap reached', { sessions: 4 }, 429, 'too_many_sessions'],
    ['cap 0', { maxSessions: 0 }, 429, 'too_many_sessions'],
    ['no chain', { chainProblem: 'No TTS model is set for voice.' }, 400, 'voice_chain_incomplete'],
    ['origin before auth', { originAllowed: false, authorized: false }, 403, 'cors_origin_denied'],
  ])('%s', (_n, facts, status, code) => {
    const a = admitRealtime({ ...ok, ...facts });
    if (status === null) expect(a.ok).toBe(true);
    else {
      expect(a).toMatchObject({ ok: false, status, code });
      if (!a.ok) expect(refusalResponse(a)).toMatch(new RegExp(`^HTTP/1.1 ${status} .*\\r\\n\\r\\n\\{"error"`, 's'));
    }
  });
  it('answers with the realtime subprotocol, never the key', () => {
    expect(chooseSubprotocol(new Set(['openai-insecure-api-key.sk', 'realtime']))).toBe('realtime');
    expect(chooseSubprotocol(new Set(['openai-insecure-api-key.sk', 'openai-beta.realtime-v1']))).toBe('openai-beta.realtime-v1');
    expect(chooseSubprotocol(new Set(['openai-insecure-api-key.sk']))).toBe(false);
  });
  it('recognises beta clients by header or subprotocol', () => {
    expect(wantsBeta('realtime=v1', undefined)).toBe(true);
    expect(wantsBeta(undefined, 'realtime, openai-beta.realtime-v1')).toBe(true);
    expect(wantsBeta(undefined, 'realtime')).toBe(false);
  });
});

describe('audio and truncation', () => {
  it('decodes base64 PCM16 and refuses bad base64 or odd byte counts', () => {
    const pcm = Buffer.alloc(4);
    pcm.writeInt16LE(16384, 0);
    pcm.writeInt16LE(-32768, 2);
    expect([...decodePcm16Base64(pcm.toString('base64'))!]).toEqual([0.5, -1]);
    expect(decodePcm16Base64('not*base64')).toBeNull();
    expect(decodePcm16Base64(Buffer.alloc(3).toString('base64'))).toBeNull();
  });
  it.each([
    ['one two three four', 1, 'one two three four'],
    ['one two three four', 0, ''],
    ['one two three four', 0.5, 'one two'],
    ['one two three four', 0.6, 'one two'],
  ])('truncateText(%s, %s)', (text, f, want) => expect(truncateText(text, f)).toBe(want));
});
