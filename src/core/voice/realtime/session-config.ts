/**
 * A Realtime session's settings: what `session.update` may change (GA or beta shape), applied as a
 * pure function (table-tested), and how the session is shown back in `session.created/updated`.
 */
import { BetaSession, GaSession, REALTIME_SAMPLE_RATE, type MaxOutputTokens } from '../../../shared/contract/realtime.js';
import { toolProblem, type ToolSettings } from './tools.js';

export interface ServerVad {
  threshold: number;
  prefixPaddingMs: number;
  silenceMs: number;
  /** A reply follows each VAD-ended utterance (else the client sends response.create). */
  createResponse: boolean;
  /** Speech during a reply cancels it (barge-in). */
  interruptResponse: boolean;
}

export interface RealtimeConfig extends ToolSettings {
  id: string;
  model: string;
  instructions: string;
  voice: string | null;
  /** Replies are spoken (`audio`, with their transcript) or text only. */
  audioOut: boolean;
  /** Transcription events for the user's speech (it is transcribed either way: the LLM reads text). */
  transcription: boolean;
  /** null: manual turns (commit + response.create). */
  turnDetection: ServerVad | null;
  /** Every reply's token cap below the chain's `maxTokens` ("inf": the chain's alone). */
  maxOutputTokens: MaxOutputTokens;
}

export type ConfigResult = { ok: true; config: RealtimeConfig; vadChanged: boolean } | { ok: false; code: string; message: string; param: string };

const unsupportedFormat = (param: string, got: unknown): ConfigResult => ({
  ok: false,
  code: 'unsupported_audio_format',
  message: `Audio format ${JSON.stringify(got)} is not supported: AIMA's Realtime sessions take and send 16-bit mono PCM at ${REALTIME_SAMPLE_RATE} Hz only ({"type":"audio/pcm","rate":${REALTIME_SAMPLE_RATE}}; beta: "pcm16").`,
  param,
});

function invalid(issue: { path: PropertyKey[]; message: string; code: string }, prefix: string): ConfigResult {
  const param = [prefix, ...issue.path.map(String)].join('.');
  if (/format/.test(param)) return unsupportedFormat(param, issue.message);
  return { ok: false, code: 'invalid_value', message: `${param}: ${issue.message}.`, param };
}

/** What AIMA's engine cannot do yet, refused by name rather than silently ignored. */
function unsupportedVad(v: { interrupt_response?: boolean } | null | undefined, param: string): ConfigResult | null {
  if (v?.interrupt_response === false) {
    return { ok: false, code: 'unsupported_value', message: `${param}.interrupt_response: false is not supported: speech during a reply always cancels it (barge-in). Leave it out or send true.`, param: `${param}.interrupt_response` };
  }
  return null;
}

function mergeVad(cur: ServerVad | null, next: { threshold?: number; prefix_padding_ms?: number; silence_duration_ms?: number; create_response?: boolean; interrupt_response?: boolean } | null): ServerVad | null {
  if (next === null) return null;
  const base = cur ?? DEFAULT_VAD;
  return {
    threshold: next.threshold ?? base.threshold,
    prefixPaddingMs: next.prefix_padding_ms ?? base.prefixPaddingMs,
    silenceMs: next.silence_duration_ms ?? base.silenceMs,
    createResponse: next.create_response ?? base.createResponse,
    interruptResponse: next.interrupt_response ?? base.interruptResponse,
  };
}

export const DEFAULT_VAD: ServerVad = { threshold: 0.5, prefixPaddingMs: 300, silenceMs: 500, createResponse: true, interruptResponse: true };

const sameVad = (a: ServerVad | null, b: ServerVad | null) =>
  a === b || (a !== null && b !== null && a.threshold === b.threshold && a.prefixPaddingMs === b.prefixPaddingMs && a.silenceMs === b.silenceMs);

/** Applies a `session.update`'s `session` (GA shape, or beta for beta clients); nothing changes on a refusal. */
export function applySessionUpdate(cur: RealtimeConfig, session: unknown, beta: boolean): ConfigResult {
  const next: RealtimeConfig = { ...cur };
  if (beta) {
    const r = BetaSession.safeParse(session);
    if (!r.success) return invalid(r.error.issues[0]!, 'session');
    const s = r.data;
    if (s.modalities) next.audioOut = s.modalities.includes('audio');
    if (s.instructions !== undefined) next.instructions = s.instructions;
    if (s.voice !== undefined) next.voice = s.voice;
    if (s.input_audio_transcription !== undefined) next.transcription = s.input_audio_transcription !== null;
    const refused = unsupportedVad(s.turn_detection, 'session.turn_detection');
    if (refused) return refused;
    if (s.turn_detection !== undefined) next.turnDetection = mergeVad(cur.turnDetection, s.turn_detection);
    next.tools = s.tools ?? next.tools;
    next.toolChoice = s.tool_choice ?? next.toolChoice;
    next.maxOutputTokens = s.max_response_output_tokens ?? next.maxOutputTokens;
  } else {
    const r = GaSession.safeParse(session);
    if (!r.success) return invalid(r.error.issues[0]!, 'session');
    const s = r.data;
    if (s.output_modalities) {
      if (s.output_modalities.length > 1) return { ok: false, code: 'invalid_value', message: 'session.output_modalities: one of ["audio"] (spoken, with its transcript) or ["text"].', param: 'session.output_modalities' };
      next.audioOut = s.output_modalities[0] === 'audio';
    }
    if (s.instructions !== undefined) next.instructions = s.instructions;
    const input = s.audio?.input;
    if (input?.transcription !== undefined) next.transcription = input.transcription !== null;
    const refused = unsupportedVad(input?.turn_detection, 'session.audio.input.turn_detection');
    if (refused) return refused;
    if (input?.turn_detection !== undefined) next.turnDetection = mergeVad(cur.turnDetection, input.turn_detection);
    if (s.audio?.output?.voice !== undefined) next.voice = s.audio.output.voice;
    next.tools = s.tools ?? next.tools;
    next.toolChoice = s.tool_choice ?? next.toolChoice;
    next.maxOutputTokens = s.max_output_tokens ?? next.maxOutputTokens;
  }
  const tools = toolProblem(next, 'session');
  if (tools) return { ok: false, ...tools };
  return { ok: true, config: next, vadChanged: !sameVad(cur.turnDetection, next.turnDetection) };
}

const vadOut = (v: ServerVad | null) =>
  v && {
    type: 'server_vad',
    threshold: v.threshold,
    prefix_padding_ms: v.prefixPaddingMs,
    silence_duration_ms: v.silenceMs,
    create_response: v.createResponse,
    interrupt_response: v.interruptResponse,
    idle_timeout_ms: null,
  };

/** A token cap as the voice session takes it (none for "inf"). */
export const tokenCap = (m: MaxOutputTokens | undefined): number | undefined => (m === undefined || m === 'inf' ? undefined : m);

/** The session as `session.created` / `session.updated` show it. */
export function sessionObject(c: RealtimeConfig, beta: boolean): Record<string, unknown> {
  const transcription = c.transcription ? { model: 'aima-asr' } : null;
  if (beta) {
    return {
      id: c.id,
      object: 'realtime.session',
      model: c.model,
      modalities: c.audioOut ? ['audio', 'text'] : ['text'],
      instructions: c.instructions,
      voice: c.voice,
      input_audio_format: 'pcm16',
      output_audio_format: 'pcm16',
      input_audio_transcription: transcription,
      turn_detection: vadOut(c.turnDetection),
      tools: c.tools,
      tool_choice: c.toolChoice,
      temperature: 0.8,
      max_response_output_tokens: c.maxOutputTokens,
    };
  }
  const format = { type: 'audio/pcm', rate: REALTIME_SAMPLE_RATE };
  return {
    type: 'realtime',
    object: 'realtime.session',
    id: c.id,
    model: c.model,
    output_modalities: [c.audioOut ? 'audio' : 'text'],
    instructions: c.instructions,
    audio: {
      input: { format, transcription, noise_reduction: null, turn_detection: vadOut(c.turnDetection) },
      output: { format, voice: c.voice, speed: 1 },
    },
    tools: c.tools,
    tool_choice: c.toolChoice,
    max_output_tokens: c.maxOutputTokens,
    tracing: null,
    prompt: null,
    include: null,
    truncation: 'auto',
    expires_at: 0,
  };
}
