/**
 * The OpenAI Realtime protocol over the voice turn engine: one `/v1/realtime` connection is one
 * {@link VoiceSession}. This file translates both ways and keeps the Realtime conversation's items
 * (ids, the history messages behind them); the engine does the VAD, ASR, LLM, TTS and barge-in,
 * exactly as for the Voice page's socket.
 *
 * Audio arrives as 24 kHz PCM16 in base64 and is resampled (streaming) to the VAD's 16 kHz; the
 * reply's audio is resampled from the TTS rate to 24 kHz per response. With server VAD the audio
 * goes straight into the engine's VAD; with manual turns it is buffered until `commit`.
 *
 * Realtime clients report no playback, so the echo guard is off: clients cancel their own echo
 * (as with OpenAI's service).
 */
import { randomBytes } from 'node:crypto';
import type { RawData, WebSocket } from 'ws';
import { BETA_SERVER_NAMES, parseRealtimeEvent, REALTIME_MAX_EVENT_BYTES, REALTIME_SAMPLE_RATE, type RealtimeClientEvent } from '../../../shared/contract/realtime.js';
import type { VoiceChain, VoiceTimeline } from '../../../shared/contract/voice.js';
import { assertNever } from '../../../shared/assert-never.js';
import { resample, StreamResampler } from '../../../lib/audio/resample.js';
import { floatToPcm16, pcm16ToFloat } from '../../../lib/audio/wav.js';
import type { ChatMessage, ChatStreamEnd, GatewayTarget } from '../gateway-client.js';
import { VoiceSession, type SpeculationOptions, type TurnInput } from '../session.js';
import { VAD_SAMPLE_RATE } from '../vad.js';
import { applySessionUpdate, DEFAULT_VAD, sessionObject, tokenCap, type RealtimeConfig } from './session-config.js';
import { chatToolFields, functionCallJson, functionOutputJson, toolProblem, withCalls, type FunctionCall } from './tools.js';

export interface RealtimeSocketDeps {
  vadModelPath: string;
  gateway: GatewayTarget;
  /** Speculative turns; the client's `silence_duration_ms` is the base window they adapt. */
  speculation: SpeculationOptions | false;
  chain: VoiceChain;
  /** The model name the client asked for (shown in the session object). */
  model: string;
  /** Beta event names and session shape (`OpenAI-Beta: realtime=v1`). */
  beta: boolean;
  /** A session without client events for this long is closed. */
  idleMs: number;
  /** Stores a finished turn (the Voice page's conversation list); returns nothing. */
  save?: (t: { user: string; assistant: string; interrupted: boolean; timeline: VoiceTimeline }) => void;
  /** LLM sampling (tests fix it for repeatable replies). */
  llm?: { temperature?: number; seed?: number };
  clock?: () => number;
}

interface Item {
  id: string;
  type: 'message' | 'function_call' | 'function_call_output';
  /** Messages only. */
  role: 'user' | 'assistant' | 'system' | null;
  /** The message in the engine's history (null until remembered, or never: an empty transcript); a call's is the assistant message holding it. */
  message: ChatMessage | null;
  json: Record<string, unknown>;
  /** Assistant items: audio sent, ms at 24 kHz. */
  audioMs: number;
  /** Function calls: the call (its arguments grow while the LLM streams them). */
  call?: FunctionCall;
}

/** What a turn of the engine stands for here. */
interface TurnCtx {
  userItemId: string | null;
  audioOut: boolean;
  /** The client's token cap for this reply (max_output_tokens), if it set one. */
  maxTokens?: number;
  turnId?: string;
  response?: {
    id: string;
    /** The response's items in output order: its message (made at its first text) and function calls. */
    output: Item[];
    message: Item | null;
    /** Its function calls by their index in the LLM's stream. */
    calls: Map<number, Item>;
    text: string;
    resampler: StreamResampler | null;
    samples: number;
    cancelled: boolean;
  };
}

/** Longest reply audio per `response.output_audio.delta`, ms. */
const DELTA_MS = 100;

const newId = (prefix: string) => `${prefix}_${randomBytes(10).toString('hex')}`;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Decodes an append's base64 PCM16 into floats; null for invalid base64 or an odd byte count. */
export function decodePcm16Base64(audio: string): Float32Array | null {
  if (audio.length % 4 !== 0 || !BASE64.test(audio)) return null;
  const bytes = Buffer.from(audio, 'base64');
  if (bytes.length % 2 !== 0) return null;
  const f = new Float32Array(bytes.length / 2);
  for (let i = 0; i < f.length; i++) f[i] = bytes.readInt16LE(i * 2) / 32768;
  return f;
}

/** Serves one `/v1/realtime` connection. */
export function serveRealtimeSocket(ws: WebSocket, deps: RealtimeSocketDeps): void {
  const clock = deps.clock ?? (() => performance.now());
  const beta = deps.beta;
  let config: RealtimeConfig = {
    id: newId('sess'),
    model: deps.model,
    instructions: deps.chain.systemPrompt,
    voice: deps.chain.voice,
    audioOut: true,
    transcription: false,
    turnDetection: { ...DEFAULT_VAD, silenceMs: deps.chain.silenceMs },
    tools: [],
    toolChoice: 'auto',
    maxOutputTokens: 'inf',
  };
  const session = new VoiceSession({
    vadModelPath: deps.vadModelPath,
    gateway: deps.gateway,
    chain: deps.chain,
    playback: false,
    echo: false,
    llm: deps.llm,
    speculation: deps.speculation,
    clock,
    prefixPaddingMs: config.turnDetection!.prefixPaddingMs,
  });

  const send = (type: string, body: Record<string, unknown> = {}) => {
    const name = beta && type in BETA_SERVER_NAMES ? BETA_SERVER_NAMES[type] : type;
    if (name === null || name === undefined || ws.readyState !== ws.OPEN) return;
    ws.send(JSON.stringify({ event_id: newId('event'), type: name, ...body }));
  };
  const error = (code: string, message: string, param: string | null, eventId: string | null, type = 'invalid_request_error') =>
    send('error', { error: { type, code, message, param, event_id: eventId } });

  /** The conversation, oldest first. */
  const items: Item[] = [];
  const itemById = (id: string) => items.find((i) => i.id === id);
  const callItem = (callId: string) => items.find((i) => i.call?.callId === callId);
  const lastItemId = () => items.at(-1)?.id ?? null;
  const addItem = (item: Item) => {
    const previous = lastItemId();
    items.push(item);
    send('conversation.item.added', { previous_item_id: previous, item: item.json });
  };
  const userAudioItem = (id: string): Item => ({
    id,
    type: 'message',
    role: 'user',
    message: null,
    audioMs: 0,
    json: { id, object: 'realtime.item', type: 'message', status: 'completed', role: 'user', content: [{ type: 'input_audio', transcript: null }] },
  });
  /** Adds an item the client created, already complete. */
  const addDone = (item: Item) => {
    addItem(item);
    send('conversation.item.done', { item: item.json });
  };

  /** Turns handed to the engine, in order: the engine starts them in the same order. */
  const pending: TurnCtx[] = [];
  const turns = new Map<string, TurnCtx>();
  let speechItemId: string | null = null;
  /** Manual turns' audio since the last commit or clear (16 kHz). */
  let buffer: Float32Array[] = [];
  let buffered = 0;
  let inputResampler = new StreamResampler(REALTIME_SAMPLE_RATE, VAD_SAMPLE_RATE);
  let active: TurnCtx | null = null;

  const startTurn = (ctx: TurnCtx, input: TurnInput) => {
    pending.push(ctx);
    void session.startManualTurn(input).catch(() => undefined);
  };

  session.on('speech', (e) => {
    if (!config.turnDetection) return;
    if (e.event === 'start') {
      speechItemId = newId('item');
      send('input_audio_buffer.speech_started', { audio_start_ms: Math.round(e.audioMs), item_id: speechItemId });
      return;
    }
    const id = speechItemId ?? newId('item');
    speechItemId = null;
    send('input_audio_buffer.speech_stopped', { audio_end_ms: Math.round(e.endMs), item_id: id });
    const previous = lastItemId();
    send('input_audio_buffer.committed', { previous_item_id: previous, item_id: id });
    addItem(userAudioItem(id));
    send('conversation.item.done', { item: itemById(id)!.json });
    pending.push({ userItemId: id, audioOut: config.audioOut, maxTokens: tokenCap(config.maxOutputTokens) });
  });
  session.on('turnStart', (e) => {
    const ctx = pending.shift();
    if (!ctx) return;
    ctx.turnId = e.turnId;
    turns.set(e.turnId, ctx);
  });
  session.on('transcript', (e) => {
    const ctx = turns.get(e.turnId);
    if (!ctx?.userItemId) return;
    const item = itemById(ctx.userItemId);
    if (item) (item.json.content as { transcript: string | null }[])[0]!.transcript = e.text;
    if (!config.transcription) return;
    send('conversation.item.input_audio_transcription.delta', { item_id: ctx.userItemId, content_index: 0, delta: e.text });
    send('conversation.item.input_audio_transcription.completed', { item_id: ctx.userItemId, content_index: 0, transcript: e.text, usage: { type: 'duration', seconds: 0 } });
  });
  session.on('responseStart', (e) => {
    const ctx = turns.get(e.turnId);
    if (!ctx) return;
    ctx.response = { id: newId('resp'), output: [], message: null, calls: new Map(), text: '', resampler: null, samples: 0, cancelled: false };
    active = ctx;
    send('response.created', { response: responseObject(ctx, 'in_progress') });
  });
  /** Adds an output item to the response (`output_item.added`, `conversation.item.added`). */
  const addOutput = (ctx: TurnCtx, item: Item) => {
    const r = ctx.response!;
    r.output.push(item);
    send('response.output_item.added', { response_id: r.id, output_index: r.output.length - 1, item: item.json });
    addItem(item);
  };
  /** The response's message, made when it is first needed (a function-call response has none). */
  const messageOf = (ctx: TurnCtx): Item => {
    const r = ctx.response!;
    if (r.message) return r.message;
    const id = newId('item');
    r.message = { id, type: 'message', role: 'assistant', message: null, audioMs: 0, json: { id, object: 'realtime.item', type: 'message', status: 'in_progress', role: 'assistant', content: [] } };
    addOutput(ctx, r.message);
    const part = ctx.audioOut ? { type: beta ? 'audio' : 'output_audio', transcript: '' } : { type: beta ? 'text' : 'output_text', text: '' };
    send('response.content_part.added', { ...where(ctx), part });
    return r.message;
  };
  const where = (ctx: TurnCtx) => {
    const r = ctx.response!;
    return { response_id: r.id, item_id: r.message!.id, output_index: r.output.indexOf(r.message!), content_index: 0 };
  };
  session.on('reply', (e) => {
    const ctx = turns.get(e.turnId);
    if (!ctx?.response) return;
    messageOf(ctx);
    ctx.response.text += e.delta;
    send(ctx.audioOut ? 'response.output_audio_transcript.delta' : 'response.output_text.delta', { ...where(ctx), delta: e.delta });
  });
  session.on('toolCall', ({ turnId, delta }) => {
    const r = turns.get(turnId)?.response;
    if (!r) return;
    const index = delta.index ?? 0;
    let item = r.calls.get(index);
    if (!item) {
      const id = newId('item');
      const call = { callId: delta.id ?? newId('call'), name: delta.function?.name ?? '', arguments: '' };
      item = { id, type: 'function_call', role: null, message: null, audioMs: 0, call, json: functionCallJson(id, call, 'in_progress') };
      r.calls.set(index, item);
      addOutput(turns.get(turnId)!, item);
    }
    const fragment = delta.function?.arguments;
    if (!fragment) return;
    item.call!.arguments += fragment;
    send('response.function_call_arguments.delta', { response_id: r.id, item_id: item.id, output_index: r.output.indexOf(item), call_id: item.call!.callId, delta: fragment });
  });
  const sendAudio = (ctx: TurnCtx, f: Float32Array) => {
    if (f.length === 0) return;
    ctx.response!.samples += f.length;
    send('response.output_audio.delta', { ...where(ctx), delta: floatToPcm16(f).toString('base64') });
  };
  session.on('audio', (e) => {
    const ctx = turns.get(e.turnId);
    if (!ctx?.response) return;
    const r = ctx.response;
    messageOf(ctx);
    r.resampler ??= new StreamResampler(e.sampleRate, REALTIME_SAMPLE_RATE);
    // A TTS chunk can hold a whole sentence: in deltas of DELTA_MS, the first is on the wire before
    // the rest is resampled and encoded.
    const step = Math.round((e.sampleRate * DELTA_MS) / 1000);
    for (let o = 0; o < e.pcm.length; o += step) sendAudio(ctx, r.resampler.push(pcm16ToFloat(e.pcm.subarray(o, o + step))));
  });
  session.on('remembered', (e) => {
    const ctx = turns.get(e.turnId);
    if (!ctx) return;
    if (ctx.userItemId && e.user) itemById(ctx.userItemId)!.message = e.user;
    if (ctx.response?.message && e.assistant) ctx.response.message.message = e.assistant;
  });
  session.on('turn', (t) => {
    const ctx = turns.get(t.turnId);
    turns.delete(t.turnId);
    if (active === ctx) active = null;
    if (deps.save && (t.transcript || t.reply)) {
      try {
        deps.save({ user: t.transcript, assistant: t.reply, interrupted: t.interrupted, timeline: t.timeline });
      } catch (err) {
        error('not_stored', `The turn could not be stored: ${(err as Error).message}. The session goes on.`, null, null, 'server_error');
      }
    }
    if (!ctx) return;
    if (!ctx.response) {
      if (t.error && ctx.userItemId) {
        send('conversation.item.input_audio_transcription.failed', { item_id: ctx.userItemId, content_index: 0, error: { type: 'transcription_error', code: 'asr_failed', message: t.error, param: null } });
      }
      return;
    }
    const r = ctx.response;
    if (ctx.audioOut && r.resampler && !t.interrupted) sendAudio(ctx, r.resampler.flush());
    // `incomplete` when the client's own cap cut the reply; one cut by the chain's `maxTokens` (the
    // owner's setting, which the client cannot lift) counts as completed, as on the Voice page.
    const capped = t.llm?.finishReason === 'length' && ctx.maxTokens !== undefined && ctx.maxTokens < deps.chain.maxTokens;
    const status = t.interrupted || r.cancelled ? 'cancelled' : t.error ? 'failed' : capped ? 'incomplete' : 'completed';
    // Finished calls join the history right after the turn's own messages; the client answers them with function_call_output items.
    if (r.calls.size > 0 && status === 'completed') {
      const calls = [...r.calls.values()];
      const m = withCalls(r.message?.message ?? null, calls.map((c) => c.call!));
      if (m !== r.message?.message) session.appendHistory(m);
      for (const c of calls) c.message = m;
    }
    const itemStatus = status === 'completed' ? 'completed' : 'incomplete';
    // A reply with neither text nor calls still shows its (empty) message.
    if (r.output.length === 0) messageOf(ctx);
    for (const item of r.output) {
      const call = item.call;
      if (!call) finishMessage(ctx, itemStatus);
      else {
        item.json = functionCallJson(item.id, call, itemStatus);
        send('response.function_call_arguments.done', { response_id: r.id, item_id: item.id, output_index: r.output.indexOf(item), call_id: call.callId, name: call.name, arguments: call.arguments });
      }
      send('response.output_item.done', { response_id: r.id, output_index: r.output.indexOf(item), item: item.json });
      send('conversation.item.done', { item: item.json });
    }
    send('response.done', { response: responseObject(ctx, status, t.error, t.llm) });
  });
  /** The message's closing events (before its `output_item.done`). */
  function finishMessage(ctx: TurnCtx, status: 'completed' | 'incomplete') {
    const r = ctx.response!;
    const m = r.message!;
    m.audioMs = (r.samples / REALTIME_SAMPLE_RATE) * 1000;
    m.json.status = status;
    m.json.content = [ctx.audioOut ? { type: beta ? 'audio' : 'output_audio', transcript: r.text } : { type: beta ? 'text' : 'output_text', text: r.text }];
    if (ctx.audioOut) {
      send('response.output_audio.done', where(ctx));
      send('response.output_audio_transcript.done', { ...where(ctx), transcript: r.text });
    } else send('response.output_text.done', { ...where(ctx), text: r.text });
    send('response.content_part.done', { ...where(ctx), part: (m.json.content as unknown[])[0] });
  }
  session.on('internalError', (e) => error('internal_error', `Voice session error: ${e.message}`, null, null, 'server_error'));

  function responseObject(ctx: TurnCtx, status: string, failure: string | null = null, llm: ChatStreamEnd | null = null) {
    const r = ctx.response!;
    const details =
      status === 'cancelled'
        ? { type: 'cancelled', reason: r.cancelled ? 'client_cancelled' : 'turn_detected' }
        : status === 'failed'
          ? { type: 'failed', error: { type: 'server_error', code: 'chain_failed', message: failure } }
          : status === 'incomplete'
            ? { type: 'incomplete', reason: 'max_output_tokens' }
            : null;
    // The LLM's own counts (text tokens; the audio is synthesised from the text, so no audio tokens).
    const input = llm?.inputTokens ?? 0;
    const output = llm?.outputTokens ?? 0;
    return {
      id: r.id,
      object: 'realtime.response',
      status,
      status_details: details,
      output: status === 'in_progress' ? [] : r.output.map((i) => i.json),
      conversation_id: config.id,
      output_modalities: [ctx.audioOut ? 'audio' : 'text'],
      ...(beta ? { modalities: ctx.audioOut ? ['audio', 'text'] : ['text'] } : {}),
      audio: { output: { format: { type: 'audio/pcm', rate: REALTIME_SAMPLE_RATE }, voice: config.voice } },
      max_output_tokens: ctx.maxTokens ?? 'inf',
      usage:
        status === 'in_progress'
          ? null
          : { total_tokens: input + output, input_tokens: input, output_tokens: output, input_token_details: { text_tokens: input, audio_tokens: 0, cached_tokens: 0 }, output_token_details: { text_tokens: output, audio_tokens: 0 } },
      metadata: null,
    };
  }

  const appendAudio = (f: Float32Array) => {
    const pcm = inputResampler.push(f);
    if (config.turnDetection) session.feed(pcm, clock());
    else {
      buffer.push(pcm);
      buffered += pcm.length;
    }
  };
  const takeBuffer = () => {
    const tail = inputResampler.flush();
    inputResampler = new StreamResampler(REALTIME_SAMPLE_RATE, VAD_SAMPLE_RATE);
    const out = new Float32Array(buffered + tail.length);
    let o = 0;
    for (const b of [...buffer, tail]) {
      out.set(b, o);
      o += b.length;
    }
    buffer = [];
    buffered = 0;
    return out;
  };

  const handle = (e: RealtimeClientEvent) => {
    const eventId = e.event_id ?? null;
    switch (e.type) {
      case 'session.update': {
        const r = applySessionUpdate(config, e.session, beta);
        if (!r.ok) return error(r.code, r.message, r.param, eventId);
        const v = r.config.turnDetection;
        if (r.vadChanged && v && !session.configureVad({ threshold: v.threshold, silenceMs: v.silenceMs, prefixPaddingMs: v.prefixPaddingMs })) {
          return error('vad_locked', 'session.audio.input.turn_detection: the VAD threshold, prefix padding and silence duration can only change before the first audio. Open a new session to change them.', 'session.audio.input.turn_detection', eventId);
        }
        config = r.config;
        session.configure({ systemPrompt: config.instructions, voice: config.voice, audioOut: config.audioOut, autoRespond: config.turnDetection?.createResponse ?? false, llmFields: chatToolFields(config), maxTokens: tokenCap(config.maxOutputTokens) });
        return send('session.updated', { session: sessionObject(config, beta) });
      }
      case 'input_audio_buffer.append': {
        const f = decodePcm16Base64(e.audio);
        if (!f) return error('invalid_audio', 'input_audio_buffer.append: "audio" is not valid base64 of 16-bit PCM (an even number of bytes). Send base64-encoded 24 kHz mono PCM16.', 'audio', eventId);
        return appendAudio(f);
      }
      case 'input_audio_buffer.commit': {
        if (config.turnDetection) {
          // Server VAD: the speech open now ends here.
          if (!session.inSpeech) return error('input_audio_buffer_commit_empty', 'input_audio_buffer.commit: with server VAD the buffer is committed when speech ends; no speech is open now.', null, eventId);
          session.endOfInput();
          return;
        }
        const audio = takeBuffer();
        if (audio.length < VAD_SAMPLE_RATE / 10) return error('input_audio_buffer_commit_empty', `input_audio_buffer.commit: the buffer holds ${Math.round((audio.length / VAD_SAMPLE_RATE) * 1000)} ms of audio; at least 100 ms are needed.`, null, eventId);
        const id = newId('item');
        send('input_audio_buffer.committed', { previous_item_id: lastItemId(), item_id: id });
        addItem(userAudioItem(id));
        send('conversation.item.done', { item: itemById(id)!.json });
        return startTurn({ userItemId: id, audioOut: config.audioOut }, { audio, respond: false, audioOut: config.audioOut });
      }
      case 'input_audio_buffer.clear':
        takeBuffer();
        return send('input_audio_buffer.cleared');
      case 'conversation.item.create': {
        const item = e.item;
        if (item.id && itemById(item.id)) return error('item_exists', `conversation.item.create: an item with id "${item.id}" exists already.`, 'item.id', eventId);
        const id = item.id ?? newId('item');
        if (item.type === 'function_call') {
          if (callItem(item.call_id)) return error('item_exists', `conversation.item.create: a function call with call_id "${item.call_id}" exists already.`, 'item.call_id', eventId);
          const call = { callId: item.call_id, name: item.name, arguments: item.arguments };
          const message = withCalls(null, [call]);
          session.appendHistory(message);
          return addDone({ id, type: 'function_call', role: null, message, audioMs: 0, call, json: functionCallJson(id, call, 'completed') });
        }
        if (item.type === 'function_call_output') {
          if (!callItem(item.call_id)?.message) {
            return error('item_not_found', `conversation.item.create: no finished function call has call_id "${item.call_id}"; an output answers a call of this conversation.`, 'item.call_id', eventId);
          }
          if (items.some((i) => i.type === 'function_call_output' && i.json.call_id === item.call_id)) {
            return error('item_exists', `conversation.item.create: the function call "${item.call_id}" has its output already.`, 'item.call_id', eventId);
          }
          const message: ChatMessage = { role: 'tool', tool_call_id: item.call_id, content: item.output };
          session.appendHistory(message);
          return addDone({ id, type: 'function_call_output', role: null, message, audioMs: 0, json: functionOutputJson(id, item.call_id, item.output) });
        }
        const audio = item.content.find((c) => c.type === 'input_audio');
        if (audio) {
          if (item.role !== 'user') return error('invalid_value', 'conversation.item.create: input_audio content is for user messages.', 'item.content', eventId);
          const f = decodePcm16Base64(audio.audio);
          if (!f) return error('invalid_audio', 'conversation.item.create: input_audio "audio" is not valid base64 of 16-bit PCM.', 'item.content.audio', eventId);
          addDone(userAudioItem(id));
          const audio16k = resample(f, REALTIME_SAMPLE_RATE, VAD_SAMPLE_RATE);
          return startTurn({ userItemId: id, audioOut: config.audioOut }, { audio: audio16k, respond: false, audioOut: config.audioOut });
        }
        const text = item.content.map((c) => ('text' in c ? c.text : '')).join('');
        const message: ChatMessage = { role: item.role, content: text };
        session.appendHistory(message);
        const type = item.role === 'assistant' ? (beta ? 'text' : 'output_text') : 'input_text';
        const json = { id, object: 'realtime.item', type: 'message', status: 'completed', role: item.role, content: [{ type, text }] };
        return addDone({ id, type: 'message', role: item.role, message, audioMs: 0, json });
      }
      case 'conversation.item.delete': {
        const item = itemById(e.item_id);
        if (!item) return error('item_not_found', `conversation.item.delete: no item with id "${e.item_id}".`, 'item_id', eventId);
        const m = item.message;
        // A call leaves its assistant message; the message goes when nothing is left of it.
        if (m && item.call) m.tool_calls = m.tool_calls?.filter((c) => c.id !== item.call!.callId);
        if (m && (!item.call || (!m.tool_calls?.length && !m.content))) session.removeHistory(m);
        items.splice(items.indexOf(item), 1);
        return send('conversation.item.deleted', { item_id: item.id });
      }
      case 'conversation.item.retrieve': {
        const item = itemById(e.item_id);
        if (!item) return error('item_not_found', `conversation.item.retrieve: no item with id "${e.item_id}".`, 'item_id', eventId);
        return send('conversation.item.retrieved', { item: item.json });
      }
      case 'conversation.item.truncate': {
        const item = itemById(e.item_id);
        if (!item || item.role !== 'assistant') return error('item_not_found', `conversation.item.truncate: no assistant item with id "${e.item_id}".`, 'item_id', eventId);
        if (e.content_index !== 0) return error('invalid_value', 'conversation.item.truncate: content_index must be 0 (AIMA’s assistant items have one content part).', 'content_index', eventId);
        if (e.audio_end_ms > Math.ceil(item.audioMs)) {
          return error('invalid_value', `conversation.item.truncate: audio_end_ms ${e.audio_end_ms} is past the item's ${Math.round(item.audioMs)} ms of audio.`, 'audio_end_ms', eventId);
        }
        const content = (item.json.content as { transcript?: string }[])[0];
        const full = content?.transcript ?? item.message?.content ?? '';
        const kept = truncateText(full, item.audioMs > 0 ? e.audio_end_ms / item.audioMs : 0);
        if (content) content.transcript = kept;
        if (item.message) item.message.content = kept;
        return send('conversation.item.truncated', { item_id: item.id, content_index: 0, audio_end_ms: e.audio_end_ms });
      }
      case 'response.create': {
        const p = e.response ?? {};
        const modalities = p.output_modalities ?? p.modalities;
        const audioOut = modalities ? modalities.includes('audio') : config.audioOut;
        const tools = { tools: p.tools ?? config.tools, toolChoice: p.tool_choice ?? config.toolChoice };
        const problem = toolProblem(tools, 'response');
        if (problem) return error(problem.code, problem.message, problem.param, eventId);
        const maxTokens = tokenCap(p.max_output_tokens ?? p.max_response_output_tokens ?? config.maxOutputTokens);
        return startTurn({ userItemId: null, audioOut, maxTokens }, { audio: null, respond: true, audioOut, instructions: p.instructions, llmFields: chatToolFields(tools), maxTokens });
      }
      case 'response.cancel': {
        if (!active?.response) return error('response_cancel_not_active', 'response.cancel: no response is in progress.', null, eventId);
        active.response.cancelled = true;
        void session.cancel().catch(() => undefined);
        return;
      }
      default:
        return assertNever(e, 'realtime client event');
    }
  };

  let idleTimer: NodeJS.Timeout | null = null;
  const touch = () => {
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = setTimeout(function idle() {
      // A reply still in the making is no idle session.
      if (session.busy) idleTimer = setTimeout(idle, deps.idleMs);
      else ws.close(1000, `Idle for ${Math.round(deps.idleMs / 1000)} s: no audio and no events. Reconnect to go on.`);
    }, deps.idleMs);
  };
  touch();

  ws.on('message', (data: RawData, isBinary: boolean) => {
    touch();
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    if (buf.byteLength > REALTIME_MAX_EVENT_BYTES) {
      error('event_too_large', `The event is ${buf.byteLength} bytes, over the limit of ${REALTIME_MAX_EVENT_BYTES}. Send audio in smaller appends (e.g. 20-100 ms each).`, null, null);
      ws.close(1009, `Event over ${REALTIME_MAX_EVENT_BYTES} bytes`);
      return;
    }
    if (isBinary) return error('binary_not_supported', 'Binary messages are not part of the Realtime protocol: send JSON events (audio as base64 in input_audio_buffer.append).', null, null);
    const parsed = parseRealtimeEvent(buf.toString('utf8'));
    if (!parsed.ok) return error(parsed.code, parsed.message, parsed.param, parsed.eventId);
    try {
      handle(parsed.event);
    } catch (err) {
      error('internal_error', `${parsed.event.type} failed: ${(err as Error).message}`, null, parsed.event.event_id ?? null, 'server_error');
    }
  });
  ws.on('close', () => {
    if (idleTimer) clearTimeout(idleTimer);
    void session.close().catch(() => undefined);
  });
  ws.on('error', () => ws.terminate());

  send('session.created', { session: sessionObject(config, beta) });
}

/** The part of `text` spoken in the first `fraction` of its audio, cut at a word boundary. */
export function truncateText(text: string, fraction: number): string {
  if (fraction >= 1) return text;
  if (fraction <= 0) return '';
  const cut = Math.round(text.length * fraction);
  const space = text.lastIndexOf(' ', cut);
  return text.slice(0, space > 0 ? space : cut).trimEnd();
}
