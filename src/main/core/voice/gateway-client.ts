/**
 * The voice chain's way to its models: plain HTTP to the core's own `/v1` gateway (loopback, the
 * install token as bearer), so every step goes through the gateway's routing, queues and start on
 * demand exactly as any other client's request. Each call takes an AbortSignal; aborting closes
 * the connection, which the gateway propagates upstream (the LLM stops generating).
 */
import { randomUUID } from 'node:crypto';
import { writeWav } from '../../../workers/common/audio/wav.js';

export interface GatewayTarget {
  /** The core's base URL (known once it listens). */
  url: () => string;
  token: () => string | null;
}

function headers(t: GatewayTarget, json: boolean): Record<string, string> {
  const h: Record<string, string> = {};
  const token = t.token();
  if (token) h.authorization = `Bearer ${token}`;
  if (json) h['content-type'] = 'application/json';
  return h;
}

async function failure(res: Response, what: string): Promise<Error> {
  let detail = '';
  try {
    const body = (await res.json()) as { error?: { message?: string } };
    detail = body.error?.message ?? '';
  } catch {
    /* not JSON */
  }
  return new Error(`${what} failed: HTTP ${res.status}${detail ? `: ${detail}` : ''}`);
}

function base(t: GatewayTarget): string {
  const u = t.url();
  if (!u) throw new Error('The core is not listening yet: the voice chain needs its gateway URL.');
  return u;
}

/**
 * The upload as one buffer, text fields first (the gateway reads `model` without walking the
 * audio). Encoding a FormData costs ~2.6 ms per turn here, on the voice-to-voice path; this is a
 * copy. The boundary is random, so no audio can contain it by chance.
 */
function transcriptionUpload(model: string, wav: Buffer): { body: Buffer; contentType: string } {
  const b = `aima-${randomUUID()}`;
  const field = (name: string, value: string) => `--${b}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  const head = `${field('model', model)}${field('response_format', 'json')}--${b}\r\nContent-Disposition: form-data; name="file"; filename="speech.wav"\r\nContent-Type: audio/wav\r\n\r\n`;
  return { body: Buffer.concat([Buffer.from(head), wav, Buffer.from(`\r\n--${b}--\r\n`)]), contentType: `multipart/form-data; boundary=${b}` };
}

/** Transcribes 16 kHz mono audio with `model` (POST /v1/audio/transcriptions). */
export async function transcribe(t: GatewayTarget, model: string, samples: Float32Array, sampleRate: number, signal: AbortSignal): Promise<string> {
  const upload = transcriptionUpload(model, writeWav(samples, sampleRate));
  const res = await fetch(`${base(t)}/v1/audio/transcriptions`, { method: 'POST', body: upload.body, headers: { ...headers(t, false), 'content-type': upload.contentType }, signal });
  if (!res.ok) throw await failure(res, `Speech recognition with "${model}"`);
  const body = (await res.json()) as { text?: string };
  return (body.text ?? '').trim();
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** Streams the reply's text deltas (POST /v1/chat/completions, stream: true). */
export async function* chatStream(
  t: GatewayTarget,
  req: { model: string; messages: ChatMessage[]; maxTokens: number; temperature?: number; seed?: number },
  signal: AbortSignal,
): AsyncGenerator<string> {
  const res = await fetch(`${base(t)}/v1/chat/completions`, {
    method: 'POST',
    headers: headers(t, true),
    body: JSON.stringify({ model: req.model, messages: req.messages, max_tokens: req.maxTokens, temperature: req.temperature, seed: req.seed, stream: true }),
    signal,
  });
  if (!res.ok || !res.body) throw await failure(res, `The reply from "${req.model}"`);
  const decoder = new TextDecoder();
  let buf = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buf += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (!line.startsWith('data:')) continue;
      const data = line.slice(5).trim();
      if (data === '[DONE]') return;
      const ev = JSON.parse(data) as { choices?: { delta?: { content?: string } }[]; error?: { message?: string } };
      if (ev.error) throw new Error(`The reply from "${req.model}" failed: ${ev.error.message ?? 'error'}`);
      const delta = ev.choices?.[0]?.delta?.content;
      if (delta) yield delta;
    }
  }
}

export interface PcmChunk {
  sampleRate: number;
  /** 16-bit mono. */
  pcm: Int16Array;
}

/** Streams synthesised speech as 16-bit PCM chunks (POST /v1/audio/speech, response_format pcm). */
export async function* speechStream(t: GatewayTarget, req: { model: string; input: string; voice: string | null }, signal: AbortSignal): AsyncGenerator<PcmChunk> {
  const send = () =>
    fetch(`${base(t)}/v1/audio/speech`, {
      method: 'POST',
      headers: headers(t, true),
      body: JSON.stringify({ model: req.model, input: req.input, voice: req.voice ?? 'alloy', response_format: 'pcm' }),
      signal,
    });
  let res = await send();
  // A keep-alive connection the upstream closed at the same moment shows as 502 before any audio:
  // synthesis is idempotent, so try once more.
  if (res.status === 502 && !signal.aborted) {
    await res.body?.cancel();
    res = await send();
  }
  if (!res.ok || !res.body) throw await failure(res, `Speech synthesis with "${req.model}"`);
  const sampleRate = Number(res.headers.get('x-sample-rate') ?? 24_000);
  let odd: Uint8Array | null = null;
  for await (const raw of res.body as unknown as AsyncIterable<Uint8Array>) {
    let bytes = raw;
    if (odd) {
      const joined = new Uint8Array(odd.length + raw.length);
      joined.set(odd);
      joined.set(raw, odd.length);
      bytes = joined;
      odd = null;
    }
    const even = bytes.length & ~1;
    if (even < bytes.length) odd = bytes.slice(even);
    if (even === 0) continue;
    const copy = new Uint8Array(bytes.subarray(0, even));
    yield { sampleRate, pcm: new Int16Array(copy.buffer, 0, even / 2) };
  }
}
