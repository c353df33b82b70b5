/**
 * `/v1/realtime` with the official `openai` SDK's Realtime WebSocket client against `aima serve`
 * and the real voice chain (Whisper ONNX, stories260K, flite): server-VAD turns streamed in real
 * time, manual turns, text-only replies, cancel, barge-in, bad input, limits and auth.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI, { toFile } from 'openai';
import WebSocket from 'ws';
import { writeWav } from '../../src/lib/audio/wav.js';
import { SentenceSegmenter } from '../../src/core/voice/segmenter.js';
import { requirePart } from '../support/system.js';
import { wordErrors, normaliseWords } from '../support/speech.js';
import { haveVoiceChain, spoken16k, startVoiceServe, workerHealth as workerHealthOf, workerUrl, type VoiceServe } from '../support/voice.js';
import { audioOf, audioSeconds, openRealtime, spoken24k, streamAudio, type RtEvent } from '../support/realtime.js';

let voice: VoiceServe | undefined;
const weatherTool = {
  type: 'function',
  name: 'get_weather',
  description: 'The weather in a city',
  parameters: { type: 'object', properties: { city: { type: 'string', enum: ['Paris', 'Rome', 'Oslo'] }, unit: { enum: ['c', 'f'] }, rain: { type: 'boolean' } }, required: ['city', 'unit', 'rain'], additionalProperties: false },
};
const timeTool = { type: 'function', name: 'get_time', parameters: { type: 'object', properties: { zone: { enum: ['utc', 'local'] } }, required: ['zone'] } };
const dir = mkdtempSync(path.join(os.tmpdir(), 'aima-realtime-'));

async function call<T>(name: string, params: unknown): Promise<T> {
  const res = await fetch(`${voice!.serve.url}/api/call/${name}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${voice!.serve.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(params),
  });
  const body = (await res.json()) as { result: T; error?: { message: string } };
  if (!res.ok) throw new Error(body.error?.message);
  return body.result;
}

beforeAll(async () => {
  if (!haveVoiceChain) return;
  // Function tools' documentation in the prompt is longer than stories260K's 512-token context.
  voice = await startVoiceServe('aima-realtime-', ['--llm-context', '2048']);
  // Short replies keep each turn to a few seconds of speech.
  await call('voice.config.set', { maxTokens: 24 });
}, 300_000);
afterAll(async () => {
  await voice?.serve.stop();
});

const url = () => voice!.serve.url;

interface TtsHealth {
  requests: number;
  active: number;
  cancelled: number;
}
interface AsrHealth {
  busy: boolean;
  transcribed: number;
}
const serviceUrl = (service: string) => workerUrl(voice!.serve, service);
const workerHealth = <T>(service: string) => workerHealthOf<T>(voice!.serve, service);
const sdk = () => new OpenAI({ apiKey: voice!.serve.token, baseURL: `${url()}/v1` });
const indexOf = (events: RtEvent[], type: string, from = 0) => events.findIndex((e, i) => i >= from && e.type === type);

/** Seconds of speech the chain's TTS makes of `text`, sentence by sentence as the session speaks it. */
async function ttsSeconds(text: string): Promise<number> {
  const seg = new SentenceSegmenter();
  const sentences = [...seg.push(text), ...seg.flush()];
  let seconds = 0;
  for (const s of sentences) {
    const res = await sdk().audio.speech.create({ model: voice!.chain.tts, input: s, voice: 'alloy', response_format: 'pcm' }).asResponse();
    const rate = Number(res.headers.get('x-sample-rate'));
    seconds += (await res.arrayBuffer()).byteLength / 2 / rate;
  }
  return seconds;
}

async function transcribe24k(pcm: Buffer): Promise<string> {
  const f = new Float32Array(pcm.length / 2);
  for (let i = 0; i < f.length; i++) f[i] = pcm.readInt16LE(i * 2) / 32768;
  const r = await sdk().audio.transcriptions.create({ model: voice!.chain.asr, file: await toFile(writeWav(f, 24_000), 'reply.wav') });
  return r.text;
}

describe('/v1/realtime with the OpenAI SDK', () => {
  it('server VAD: speech streamed in real time → transcript, a spoken reply at 24 kHz that transcribes back to its text, response.done', async (ctx) => {
    requirePart(ctx, 'shared-models', haveVoiceChain);
    const c = await openRealtime(url());
    await c.next('session.created');
    c.send({ type: 'session.update', session: { type: 'realtime', audio: { input: { transcription: { model: 'whisper' }, turn_detection: { type: 'server_vad', silence_duration_ms: 500 } } } } });
    await c.next('session.updated');
    await streamAudio(c, spoken24k('turn on the kitchen lights please', dir), true);
    const done = await c.next('response.done', undefined, 90_000);
    c.close();
    const response = done.response as { id: string; status: string; output: { content: { transcript: string }[] }[] };
    expect(response.status).toBe('completed');
    const order = [
      'input_audio_buffer.speech_started',
      'input_audio_buffer.speech_stopped',
      'input_audio_buffer.committed',
      'conversation.item.added',
      'conversation.item.input_audio_transcription.completed',
      'response.created',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_audio_transcript.delta',
      'response.output_audio.delta',
      'response.output_audio.done',
      'response.output_audio_transcript.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.done',
    ];
    const at = order.map((t) => indexOf(c.events, t));
    expect(at.every((i) => i >= 0), JSON.stringify(c.events.map((e) => e.type))).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    const transcription = c.events.find((e) => e.type === 'conversation.item.input_audio_transcription.completed')!;
    expect(String(transcription.transcript).toLowerCase()).toContain('kitchen lights');
    const reply = response.output[0]!.content[0]!.transcript;
    expect(normaliseWords(reply).length).toBeGreaterThan(0);
    // The audio is 24 kHz: its duration matches the TTS's own speech of the same sentences.
    const seconds = audioSeconds(c.events, response.id);
    const expected = await ttsSeconds(reply);
    expect(seconds / expected).toBeGreaterThan(0.92);
    expect(seconds / expected).toBeLessThan(1.08);
    // And it is the reply: the ASR hears its words back.
    const heard = await transcribe24k(audioOf(c.events, response.id));
    expect(wordErrors(reply, heard) / normaliseWords(reply).length, `said "${reply}", heard "${heard}"`).toBeLessThan(0.5);
    expect(c.errors).toEqual([]);
  }, 180_000);

  it('manual turns: commit + response.create; a text-only reply; response.cancel', async (ctx) => {
    requirePart(ctx, 'shared-models', haveVoiceChain);
    const c = await openRealtime(url());
    await c.next('session.created');
    c.send({ type: 'session.update', session: { type: 'realtime', audio: { input: { transcription: { model: 'whisper' }, turn_detection: null } } } });
    await c.next('session.updated');
    await streamAudio(c, spoken24k('what is the weather like today', dir, 300), false);
    c.send({ type: 'input_audio_buffer.commit' });
    const committed = await c.next('input_audio_buffer.committed');
    const tr = await c.next('conversation.item.input_audio_transcription.completed', (e) => e.item_id === committed.item_id, 60_000);
    expect(String(tr.transcript).toLowerCase()).toContain('weather');
    // Nothing answers until the client asks.
    expect(indexOf(c.events, 'response.created')).toBe(-1);
    c.send({ type: 'response.create' });
    const first = await c.next('response.done', undefined, 90_000);
    expect((first.response as { status: string }).status).toBe('completed');
    expect(audioSeconds(c.events, (first.response as { id: string }).id)).toBeGreaterThan(0.2);

    // Text only: a user text item, then a reply without audio.
    let from = c.events.length;
    c.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Once upon a time' }] } });
    await c.next('conversation.item.added', (e) => (e.item as { role: string }).role === 'user', 5000, from);
    c.send({ type: 'response.create', response: { output_modalities: ['text'] } });
    const textDone = await c.next('response.done', undefined, 90_000, from);
    const textResp = textDone.response as { id: string; status: string; output: { content: { type: string; text: string }[] }[] };
    expect(textResp.status).toBe('completed');
    expect(textResp.output[0]!.content[0]!.type).toBe('output_text');
    const deltas = c.events.filter((e, i) => i >= from && e.type === 'response.output_text.delta').map((e) => e.delta).join('');
    expect(deltas).toBe(textResp.output[0]!.content[0]!.text);
    expect(deltas.length).toBeGreaterThan(0);
    expect(audioSeconds(c.events, textResp.id)).toBe(0);
    // usage: the LLM's own token counts (the chain caps replies at 24 tokens here).
    const usage = (textDone.response as { usage: { input_tokens: number; output_tokens: number; total_tokens: number } }).usage;
    expect(usage.input_tokens).toBeGreaterThan(0);
    expect(usage.output_tokens).toBeGreaterThan(0);
    expect(usage.output_tokens).toBeLessThanOrEqual(24);
    expect(usage.total_tokens).toBe(usage.input_tokens + usage.output_tokens);

    // max_output_tokens caps this reply below the chain's cap; cut there, the response is incomplete.
    from = c.events.length;
    c.send({ type: 'response.create', response: { output_modalities: ['text'], max_output_tokens: 3 } });
    const capped = (await c.next('response.done', undefined, 90_000, from)).response as { status: string; status_details: unknown; max_output_tokens: unknown; usage: { output_tokens: number } };
    expect(capped.max_output_tokens).toBe(3);
    expect(capped.usage.output_tokens).toBeGreaterThan(0);
    expect(capped.usage.output_tokens).toBeLessThanOrEqual(3);
    if (capped.usage.output_tokens === 3) expect(capped).toMatchObject({ status: 'incomplete', status_details: { type: 'incomplete', reason: 'max_output_tokens' } });
    c.send({ type: 'response.create', response: { max_output_tokens: 0 }, event_id: 'evt_cap' });
    const capError = await c.next('error', (e) => (e.error as { event_id: string }).event_id === 'evt_cap', 5000, from);
    expect((capError.error as { param: string }).param).toBe('response.max_output_tokens');

    // Cancel: the response ends as cancelled, the session goes on.
    from = c.events.length;
    c.send({ type: 'response.create' });
    await c.next('response.output_audio_transcript.delta', undefined, 60_000, from);
    c.send({ type: 'response.cancel' });
    const cancelled = await c.next('response.done', undefined, 30_000, from);
    expect((cancelled.response as { status: string }).status).toBe('cancelled');
    c.send({ type: 'response.cancel', event_id: 'evt_nothing' });
    await c.next('error', (e) => (e.error as { event_id: string }).event_id === 'evt_nothing', 5000, from);
    c.close();
  }, 240_000);

  it('barge-in: a second utterance during the reply cancels it and becomes the next turn', async (ctx) => {
    requirePart(ctx, 'shared-models', haveVoiceChain);
    await call('voice.config.set', { maxTokens: 200 });
    // Realtime clients report no playback, so a reply is over once all its audio is sent; with
    // speculation the LLM runs ahead during the silence window and an idle machine can send the
    // whole reply before the second utterance's onset. Off here, so the reply is still going.
    await call('settings.update', { voiceSpeculation: false });
    let c: Awaited<ReturnType<typeof openRealtime>> | undefined;
    try {
      c = await openRealtime(url());
      await c.next('session.created');
      c.send({ type: 'session.update', session: { type: 'realtime', audio: { input: { transcription: { model: 'whisper' } } } } });
      await c.next('session.updated');
      await streamAudio(c, spoken24k('tell me a long story about a dragon', dir), true);
      await c.next('response.output_audio.delta', undefined, 90_000);
      const from = c.events.length;
      // The second utterance goes out at once (a client may send audio faster than real time): its
      // onset is then detected within milliseconds of the reply's first audio, while the reply is
      // surely still being generated, however fast the machine makes the rest of it.
      await streamAudio(c, spoken24k('set a timer for ten minutes', dir), false);
      const cut = await c.next('response.done', undefined, 60_000);
      const seen = c.events.slice(from).map((e) => e.type).filter((t, i, a) => t !== a[i - 1]);
      expect((cut.response as { status: string }).status, seen.join('\n')).toBe('cancelled');
      const started = indexOf(c.events, 'input_audio_buffer.speech_started', from);
      expect(started).toBeGreaterThan(0);
      const second = await c.next('conversation.item.input_audio_transcription.completed', (e) => String(e.transcript).toLowerCase().includes('timer'), 60_000, from);
      expect(second).toBeDefined();
      const next = await c.next('response.done', (e) => e !== cut, 90_000, from);
      expect((next.response as { status: string }).status).not.toBe('failed');
    } finally {
      // An open session would count against the session cap in the tests after this one.
      c?.close();
      await call('voice.config.set', { maxTokens: 24 });
      await call('settings.update', { voiceSpeculation: true });
    }
  }, 240_000);

  it('beta clients (OpenAI-Beta: realtime=v1) get the beta names and session shape; truncate sets what the assistant said', async (ctx) => {
    requirePart(ctx, 'shared-models', haveVoiceChain);
    const c = await openRealtime(url(), { headers: { 'OpenAI-Beta': 'realtime=v1' } });
    const created = await c.next('session.created');
    expect(created.session).toMatchObject({ modalities: ['audio', 'text'], input_audio_format: 'pcm16' });
    c.send({ type: 'session.update', session: { turn_detection: null, input_audio_transcription: { model: 'whisper-1' } } });
    const updated = await c.next('session.updated');
    expect(updated.session).toMatchObject({ turn_detection: null, input_audio_transcription: { model: 'aima-asr' } });
    c.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Once upon a time' }] } });
    await c.next('conversation.item.created');
    c.send({ type: 'response.create', response: { modalities: ['audio', 'text'] } });
    const done = await c.next('response.done', undefined, 90_000);
    const types = new Set(c.events.map((e) => e.type));
    for (const t of ['response.audio.delta', 'response.audio_transcript.delta', 'response.audio.done', 'response.audio_transcript.done']) expect(types.has(t), t).toBe(true);
    for (const t of ['response.output_audio.delta', 'conversation.item.added', 'conversation.item.done']) expect(types.has(t), t).toBe(false);
    const response = done.response as { id: string; output: { id: string; content: { type: string; transcript: string }[] }[] };
    expect(response.output[0]!.content[0]!.type).toBe('audio');
    const full = response.output[0]!.content[0]!.transcript;
    const ms = audioSeconds(c.events.map((e) => (e.type === 'response.audio.delta' ? { ...e, type: 'response.output_audio.delta' } : e)), response.id) * 1000;
    expect(ms).toBeGreaterThan(300);
    const itemId = response.output[0]!.id;
    c.send({ type: 'conversation.item.truncate', item_id: itemId, content_index: 0, audio_end_ms: Math.floor(ms / 2) });
    await c.next('conversation.item.truncated');
    c.send({ type: 'conversation.item.retrieve', item_id: itemId });
    const got = await c.next('conversation.item.retrieved');
    const kept = (got.item as { content: { transcript: string }[] }).content[0]!.transcript;
    expect(kept.length).toBeLessThan(full.length);
    expect(full.startsWith(kept)).toBe(true);
    c.send({ type: 'conversation.item.truncate', item_id: itemId, content_index: 0, audio_end_ms: Math.ceil(ms) + 1000, event_id: 'evt_past' });
    const err = await c.next('error', (e) => (e.error as { event_id: string }).event_id === 'evt_past', 5000);
    expect((err.error as { param: string }).param).toBe('audio_end_ms');
    // Deleted items leave the conversation.
    c.send({ type: 'conversation.item.delete', item_id: itemId });
    await c.next('conversation.item.deleted', (e) => e.item_id === itemId);
    c.close();
  }, 120_000);

  it('an idle session is closed after realtimeIdleSeconds with a reason', async (ctx) => {
    requirePart(ctx, 'shared-models', haveVoiceChain);
    await call('settings.update', { realtimeIdleSeconds: 10 });
    try {
      const c = await openRealtime(url());
      const t0 = performance.now();
      const closed = await c.closed;
      expect(performance.now() - t0).toBeGreaterThan(9000);
      expect(closed.code).toBe(1000);
      expect(closed.reason).toMatch(/Idle for 10 s/);
    } finally {
      await call('settings.update', { realtimeIdleSeconds: 300 });
    }
  }, 60_000);

  it('bad input: each an error event naming it, and the session keeps working', async (ctx) => {
    requirePart(ctx, 'shared-models', haveVoiceChain);
    const c = await openRealtime(url());
    await c.next('session.created');
    const raw = (text: string) => c.rt.socket.send(text);
    const expectError = async (code: string, param: string | null, send: () => void) => {
      const from = c.events.length;
      send();
      const e = await c.next('error', undefined, 5000, from);
      const err = e.error as { code: string; param: string | null; message: string; type: string };
      expect(err.code, err.message).toBe(code);
      if (param !== undefined) expect(err.param).toBe(param);
      expect(err.type).toBe('invalid_request_error');
      return err;
    };
    await expectError('invalid_json', null, () => raw('{"type": "session.update",'));
    await expectError('unknown_event_type', 'type', () => c.send({ type: 'input_audio_buffer.explode' }));
    await expectError('invalid_audio', 'audio', () => c.send({ type: 'input_audio_buffer.append', audio: 'not*base64!' }));
    const fmt = await expectError('unsupported_audio_format', 'session.audio.input.format.type', () =>
      c.send({ type: 'session.update', session: { type: 'realtime', audio: { input: { format: { type: 'audio/pcmu' } } } } }),
    );
    expect(fmt.message).toMatch(/24000/);
    const range = await expectError('invalid_value', 'session.audio.input.turn_detection.threshold', () =>
      c.send({ type: 'session.update', event_id: 'evt_range', session: { type: 'realtime', audio: { input: { turn_detection: { type: 'server_vad', threshold: 2 } } } } }),
    );
    expect(range.message).toMatch(/threshold/);
    const withId = c.events.filter((e) => e.type === 'error').at(-1)!.error as { event_id: string };
    expect(withId.event_id).toBe('evt_range');
    await expectError('input_audio_buffer_commit_empty', null, () => c.send({ type: 'input_audio_buffer.commit' }));
    await expectError('item_not_found', 'item_id', () => c.send({ type: 'conversation.item.delete', item_id: 'item_nope' }));
    await expectError('invalid_value', 'session.tools.0.type', () => c.send({ type: 'session.update', session: { type: 'realtime', tools: [{ type: 'mcp', server_label: 'home' }] } }));
    // Still working: a text reply.
    const from = c.events.length;
    c.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Once upon a time' }] } });
    c.send({ type: 'response.create', response: { output_modalities: ['text'] } });
    const done = await c.next('response.done', undefined, 60_000, from);
    expect((done.response as { status: string }).status).toBe('completed');
    // An event over the limit: an error event, then close 1009 with a reason; the core stays up.
    const from2 = c.events.length;
    c.send({ type: 'input_audio_buffer.append', audio: Buffer.alloc(3 * 1024 * 1024).toString('base64') });
    const big = await c.next('error', undefined, 10_000, from2);
    expect((big.error as { code: string }).code).toBe('event_too_large');
    const closed = await c.closed;
    expect(closed.code).toBe(1009);
    expect(closed.reason).toMatch(/bytes/);
    expect((await fetch(`${url()}/healthz`)).status).toBe(200);
  }, 120_000);

  it('function tools: a spoken request with a forced call → a function_call item and its argument events, no audio; its output continues the conversation', async (ctx) => {
    requirePart(ctx, 'shared-models', haveVoiceChain);
    // The call's JSON takes more tokens than a short spoken reply.
    await call('voice.config.set', { maxTokens: 200 });
    try {
      const c = await openRealtime(url());
      await c.next('session.created');
      c.send({ type: 'session.update', session: { type: 'realtime', tools: [weatherTool], tool_choice: { type: 'function', name: 'get_weather' } } });
      const updated = await c.next('session.updated');
      expect(updated.session).toMatchObject({ tools: [weatherTool], tool_choice: { type: 'function', name: 'get_weather' } });
      await streamAudio(c, spoken24k('what is the weather like in paris', dir), true);
      const done = await c.next('response.done', undefined, 90_000);
      const response = done.response as { id: string; status: string; output: { id: string; type: string; name: string; call_id: string; arguments: string; status: string }[] };
      expect(response.status).toBe('completed');
      expect(response.output).toHaveLength(1);
      const fc = response.output[0]!;
      expect(fc).toMatchObject({ type: 'function_call', name: 'get_weather', status: 'completed' });
      expect(fc.call_id).toMatch(/^call_/);
      // The arguments follow the tool's schema (the worker's call grammar).
      const args = JSON.parse(fc.arguments) as { city: string; unit: string; rain: boolean };
      expect(['Paris', 'Rome', 'Oslo']).toContain(args.city);
      expect(['c', 'f']).toContain(args.unit);
      expect(typeof args.rain).toBe('boolean');
      const from = indexOf(c.events, 'response.created');
      const mine = c.events.slice(from).filter((e) => e.response_id === response.id || e.type === 'conversation.item.added' || e.type === 'conversation.item.done' || e.type === 'response.done');
      const types = mine.map((e) => e.type);
      expect(types.filter((t) => t !== 'response.function_call_arguments.delta')).toEqual([
        'response.output_item.added',
        'conversation.item.added',
        'response.function_call_arguments.done',
        'response.output_item.done',
        'conversation.item.done',
        'response.done',
      ]);
      const deltas = mine.filter((e) => e.type === 'response.function_call_arguments.delta');
      expect(deltas.length).toBeGreaterThan(0);
      expect(deltas.map((e) => e.delta).join('')).toBe(fc.arguments);
      expect(deltas.every((e) => e.call_id === fc.call_id && e.item_id === fc.id)).toBe(true);
      const argsDone = mine.find((e) => e.type === 'response.function_call_arguments.done')!;
      expect(argsDone).toMatchObject({ call_id: fc.call_id, name: 'get_weather', arguments: fc.arguments });
      // No speech for a call.
      expect(audioSeconds(c.events, response.id)).toBe(0);

      // An output for a call that does not exist is refused by name.
      c.send({ type: 'conversation.item.create', event_id: 'evt_nocall', item: { type: 'function_call_output', call_id: 'call_nope', output: '{}' } });
      const refused = await c.next('error', (e) => (e.error as { event_id: string }).event_id === 'evt_nocall', 5000);
      expect(refused.error).toMatchObject({ code: 'item_not_found', param: 'item.call_id' });
      // The output goes into the history as the call's result; the next response (tools off for it) continues.
      const at = c.events.length;
      c.send({ type: 'conversation.item.create', item: { type: 'function_call_output', call_id: fc.call_id, output: '{"temperature_c": 21, "sky": "sunny"}' } });
      const added = await c.next('conversation.item.added', undefined, 5000, at);
      expect(added.previous_item_id).toBe(fc.id);
      expect(added.item).toMatchObject({ type: 'function_call_output', call_id: fc.call_id });
      c.send({ type: 'response.create', response: { output_modalities: ['text'], tool_choice: 'none' } });
      const next = await c.next('response.done', undefined, 90_000, at);
      const text = next.response as { status: string; output: { type: string; content: { text: string }[] }[] };
      expect(text.status, JSON.stringify(next.response)).toBe('completed');
      expect(text.output[0]).toMatchObject({ type: 'message' });
      expect(text.output[0]!.content[0]!.text.length).toBeGreaterThan(0);
      expect(c.errors.filter((e) => e.error?.event_id !== 'evt_nocall')).toEqual([]);
      c.close();
    } finally {
      await call('voice.config.set', { maxTokens: 24 });
    }
  }, 180_000);

  it('function tools for beta clients: per-response tools, "required", the beta item event names', async (ctx) => {
    requirePart(ctx, 'shared-models', haveVoiceChain);
    await call('voice.config.set', { maxTokens: 200 });
    try {
      const c = await openRealtime(url(), { headers: { 'OpenAI-Beta': 'realtime=v1' } });
      await c.next('session.created');
      c.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'What time is it?' }] } });
      c.send({ type: 'response.create', event_id: 'evt_badchoice', response: { tools: [timeTool], tool_choice: { type: 'function', name: 'get_weather' } } });
      const bad = await c.next('error', (e) => (e.error as { event_id: string }).event_id === 'evt_badchoice', 5000);
      expect(bad.error).toMatchObject({ code: 'invalid_value', param: 'response.tool_choice.name' });
      c.send({ type: 'response.create', response: { modalities: ['text'], tools: [timeTool], tool_choice: 'required' } });
      const done = await c.next('response.done', undefined, 90_000);
      const response = done.response as { status: string; output: { id: string; type: string; name: string; call_id: string; arguments: string }[] };
      expect(response.status).toBe('completed');
      expect(response.output[0]).toMatchObject({ type: 'function_call', name: 'get_time' });
      expect(['utc', 'local']).toContain((JSON.parse(response.output[0]!.arguments) as { zone: string }).zone);
      const created = await c.next('conversation.item.created', (e) => (e.item as { type: string }).type === 'function_call', 5000);
      expect((created.item as { id: string }).id).toBe(response.output[0]!.id);
      await c.next('response.function_call_arguments.done', undefined, 5000);
      expect(c.events.some((e) => e.type === 'conversation.item.added' || e.type === 'conversation.item.done')).toBe(false);
      // The call's output, then a call the client adds itself with its output: the LLM takes the
      // whole history (it refuses a call without its result), and the reply completes.
      const from = c.events.length;
      c.send({ type: 'conversation.item.create', item: { type: 'function_call_output', call_id: response.output[0]!.call_id, output: '{"time":"12:00"}' } });
      c.send({ type: 'conversation.item.create', item: { type: 'function_call', call_id: 'call_client1', name: 'get_time', arguments: '{"zone":"local"}' } });
      c.send({ type: 'conversation.item.create', item: { type: 'function_call_output', call_id: 'call_client1', output: '{"time":"13:00"}' } });
      c.send({ type: 'response.create', response: { modalities: ['text'] } });
      const next = await c.next('response.done', undefined, 90_000, from);
      expect((next.response as { status: string }).status, JSON.stringify(next.response)).toBe('completed');
      expect(c.events.slice(from).filter((e) => e.type === 'conversation.item.created').map((e) => (e.item as { type: string }).type)).toEqual(['function_call_output', 'function_call', 'function_call_output', 'message']);
      c.close();
    } finally {
      await call('voice.config.set', { maxTokens: 24 });
    }
  }, 120_000);

  it('a client that disconnects mid-response: the LLM request is aborted (499), the TTS request cut and no more sentences sent (counted on the TTS worker)', async (ctx) => {
    requirePart(ctx, 'shared-models', haveVoiceChain);
    await call('voice.config.set', { maxTokens: 400 });
    try {
      const tts = await serviceUrl('voice-tts');
      const health = async () => (await (await fetch(`${tts}/health`)).json()) as TtsHealth;
      const until = async (ok: (h: TtsHealth) => boolean) => {
        for (let i = 0; i < 400; i++) {
          const h = await health();
          if (ok(h)) return h;
          await new Promise((r) => setTimeout(r, 25));
        }
        throw new Error(`the TTS worker never got there: ${JSON.stringify(await health())}`);
      };
      const before = await until((h) => h.active === 0);
      // Another client holds the worker's one flite thread with a long sentence (straight to the
      // worker, not through the gateway), so the session's first sentence is in flight at the worker
      // for seconds, waiting its turn, when the client leaves.
      const long = Array.from({ length: 60 }, () => 'and the little dragon flew over the hills').join(' ');
      const blocker = fetch(`${tts}/v1/audio/speech`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: long, voice: 'slt', response_format: 'pcm' }) }).then((r) => r.arrayBuffer());
      await until((h) => h.active === 1);
      const c = await openRealtime(url());
      await c.next('session.created');
      c.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Tell me a long story about a dragon' }] } });
      c.send({ type: 'response.create' });
      await c.next('response.output_audio_transcript.delta', undefined, 60_000);
      await until((h) => h.active === 2);
      c.rt.socket.terminate();
      await c.closed;
      let chat: { status: number; completionTokens: number | null } | undefined;
      for (let i = 0; i < 50 && !chat; i++) {
        const log = await call<{ endpoint: string; status: number; completionTokens: number | null }[]>('gateway.requests', { limit: 20 });
        chat = log.find((r) => r.endpoint === '/v1/chat/completions' && r.status === 499);
        if (!chat) await new Promise((r) => setTimeout(r, 100));
      }
      expect(chat).toBeDefined();
      expect(chat!.completionTokens ?? 0).toBeLessThan(400);
      expect((await blocker).byteLength).toBeGreaterThan(16_000 * 2 * 10);
      const after = await until((h) => h.active === 0);
      // The worker saw two requests: the blocker (completed) and the session's first sentence, cut.
      expect(after.requests - before.requests, JSON.stringify({ before, after })).toBe(2);
      expect(after.cancelled - before.cancelled).toBe(1);
      // Nothing more arrives later.
      await new Promise((r) => setTimeout(r, 1000));
      expect((await health()).requests).toBe(after.requests);
    } finally {
      await call('voice.config.set', { maxTokens: 24 });
    }
  }, 120_000);

  it('a client that disconnects while its ASR request waits: the request is dropped, never transcribed (counted on the ASR worker)', async (ctx) => {
    requirePart(ctx, 'shared-models', haveVoiceChain);
    const asrModel = voice!.chain.asr;
    const before = await workerHealth<AsrHealth>('voice-asr');
    // Another client keeps the ASR busy with a long recording, so the session's request has to wait.
    const phrase = spoken16k('turn on the kitchen lights please and then tell me about the weather', dir);
    const long = new Float32Array(phrase.length * 5);
    for (let i = 0; i < 5; i++) long.set(phrase, i * phrase.length);
    const blocker = sdk().audio.transcriptions.create({ model: asrModel, file: await toFile(writeWav(long, 16_000), 'long.wav') });
    const queued = async (n: number) => {
      for (let i = 0; i < 300; i++) {
        const q = (await call<{ models: { model: string; inFlight: number; waiting: unknown[] }[] }>('gateway.queue', {})).models.find((m) => m.model === asrModel);
        if (q && q.inFlight + q.waiting.length >= n) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`the ASR never had ${n} requests`);
    };
    await queued(1);
    const c = await openRealtime(url());
    await c.next('session.created');
    c.send({ type: 'session.update', session: { type: 'realtime', audio: { input: { turn_detection: null } } } });
    await c.next('session.updated');
    await streamAudio(c, spoken24k('set a timer for ten minutes', dir, 300), false);
    c.send({ type: 'input_audio_buffer.commit' });
    await c.next('input_audio_buffer.committed');
    await queued(2);
    c.rt.socket.terminate();
    await c.closed;
    expect((await blocker).text.toLowerCase()).toContain('kitchen');
    await new Promise((r) => setTimeout(r, 1500));
    const after = await workerHealth<AsrHealth>('voice-asr');
    // Only the blocker was transcribed: the session's request left the gateway's queue unanswered.
    expect(after.transcribed - before.transcribed).toBe(1);
    expect(after.busy).toBe(false);
  }, 120_000);

  it('Realtime turns are stored as a "Realtime" conversation with their timelines', async (ctx) => {
    requirePart(ctx, 'shared-models', haveVoiceChain);
    const list = await call<{ id: string; title: string; turnCount: number }[]>('voice.conversations.list', {});
    const rt = list.filter((c) => c.title.startsWith('Realtime'));
    expect(rt.length).toBeGreaterThan(0);
    const conv = await call<{ turns: { user: string; timeline: { asrDone: number | null; llmFirstToken: number | null } }[] }>('voice.conversations.get', { id: rt.at(-1)!.id });
    const spoken = conv.turns.find((t) => t.timeline.asrDone !== null);
    expect(spoken, JSON.stringify(conv.turns)).toBeDefined();
  }, 30_000);

  it('refusals before the upgrade: no model (400), the session cap (429), and without a key once keys exist (401)', async (ctx) => {
    requirePart(ctx, 'shared-models', haveVoiceChain);
    const noModel = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`${url().replace(/^http/, 'ws')}/v1/realtime`);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => reject(new Error('opened without a model')));
      ws.on('error', () => undefined);
    });
    expect(noModel).toBe(400);
    await call('settings.update', { realtimeMaxSessions: 1 });
    const one = await openRealtime(url());
    try {
      const refused = await openRealtime(url()).catch((e: { status: number; body: string }) => e);
      expect(refused).toMatchObject({ status: 429 });
      expect((refused as { body: string }).body).toMatch(/realtimeMaxSessions/);
    } finally {
      one.close();
      await one.closed;
      await call('settings.update', { realtimeMaxSessions: 4 });
    }
    const key = await call<{ key: string; info: { id: string } }>('keys.create', { name: 'realtime-test' });
    try {
      const denied = await openRealtime(url(), { apiKey: 'wrong' }).catch((e: { status: number; body: string }) => e);
      expect(denied).toMatchObject({ status: 401 });
      expect((denied as { body: string }).body).toMatch(/invalid_api_key/);
      const ok = await openRealtime(url(), { apiKey: key.key });
      await ok.next('session.created');
      ok.close();
    } finally {
      await call('keys.revoke', { id: key.info.id });
    }
  }, 60_000);
});
