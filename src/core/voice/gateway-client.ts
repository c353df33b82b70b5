/**
 * The voice chain's way to its models: plain HTTP to the core's own `/v1` gateway (loopback, the
 * install token as bearer), so every step goes through the gateway's routing, queues and start on
 * demand exactly as any other client's request. Each call takes an AbortSignal; aborting closes
 * the connection, which the gateway propagates upstream (the LLM stops generating).
 *
 * node:http with a keep-alive agent rather than fetch: the client runs on the core's event loop,
 * the same thread that proxies these very requests, so its cost is on the voice-to-voice path
 * twice. fetch's web streams cost ~100 µs per SSE event and a millisecond or more per request here.
 */
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { writeWav } from '../../lib/audio/wav.js';
import { upstreamBase, type UpstreamBase } from '../gateway/proxy.js';
import type { ChatChunk, ChatToolCall, ChatToolCallDelta } from '../gateway/translate/chat.js';

export interface GatewayTarget {
  /** The core's base URL (known once it listens). */
  url: () => string;
  token: () => string | null;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** The core's address, parsed once (the gateway's own cache of upstream bases). */
function base(t: GatewayTarget): UpstreamBase {
  const u = t.url();
  if (!u) throw new Error('The core is not listening yet: the voice chain needs its gateway URL.');
  return upstreamBase(u);
}

/**
 * POSTs `body` to the gateway and resolves with the response once its headers arrived (the body is
 * left to the caller). A keep-alive socket the server closed at the same moment fails before any
 * answer: that one is retried once on a fresh connection, as Node's docs advise.
 */
function post(t: GatewayTarget, path: string, body: Buffer | string, contentType: string, signal: AbortSignal): Promise<http.IncomingMessage> {
  const u = base(t);
  const token = t.token();
  const headers: Record<string, string | number> = { 'content-type': contentType, 'content-length': Buffer.byteLength(body) };
  if (token) headers.authorization = `Bearer ${token}`;
  return new Promise((resolve, reject) => {
    const attempt = (mayRetry: boolean) => {
      const req = http.request({ hostname: u.hostname, port: u.port, path: u.pathPrefix + path, method: 'POST', headers, agent, signal });
      req.on('response', resolve);
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (mayRetry && req.reusedSocket && err.code === 'ECONNRESET' && !signal.aborted) attempt(false);
        else reject(err);
      });
      req.end(body);
    };
    attempt(true);
  });
}

async function readAll(res: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function failure(res: http.IncomingMessage, what: string): Promise<Error> {
  let detail = '';
  try {
    const body = JSON.parse((await readAll(res)).toString('utf8')) as { error?: { message?: string } };
    detail = body.error?.message ?? '';
  } catch {
    /* not JSON */
  }
  return new Error(`${what} failed: HTTP ${res.statusCode}${detail ? `: ${detail}` : ''}`);
}

const ok = (res: http.IncomingMessage) => (res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300;

/**
 * The upload as one buffer, text fields first (the gateway reads `model` without walking the
 * audio). Encoding a FormData costs milliseconds per turn on the voice-to-voice path; this is one
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
  const res = await post(t, '/v1/audio/transcriptions', upload.body, upload.contentType, signal);
  if (!ok(res)) throw await failure(res, `Speech recognition with "${model}"`);
  const body = JSON.parse((await readAll(res)).toString('utf8')) as { text?: string };
  return (body.text ?? '').trim();
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
  /** Assistant messages: the function calls made. */
  tool_calls?: ChatToolCall[];
  /** Tool messages: the call whose result this is. */
  tool_call_id?: string;
}

/**
 * Streams the reply: its text deltas, and the pieces of function calls when `fields` offers tools
 * (POST /v1/chat/completions, stream: true).
 */
export async function* chatStream(
  t: GatewayTarget,
  req: { model: string; messages: ChatMessage[]; maxTokens: number; temperature?: number; seed?: number; fields?: Record<string, unknown>; onEnd?: (end: ChatStreamEnd) => void },
  signal: AbortSignal,
): AsyncGenerator<string | ChatToolCallDelta> {
  const body = JSON.stringify({ ...req.fields, model: req.model, messages: req.messages, max_tokens: req.maxTokens, temperature: req.temperature, seed: req.seed, stream: true, stream_options: { include_usage: true } });
  const res = await post(t, '/v1/chat/completions', body, 'application/json', signal);
  if (!ok(res)) throw await failure(res, `The reply from "${req.model}"`);
  res.setEncoding('utf8');
  let buf = '';
  const end: ChatStreamEnd = { inputTokens: null, outputTokens: null, finishReason: null };
  for await (const chunk of res as AsyncIterable<string>) {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (!line.startsWith('data:')) continue;
      const data = line.slice(5).trim();
      if (data === '[DONE]') {
        req.onEnd?.(end);
        return;
      }
      const ev = JSON.parse(data) as ChatChunk & { error?: { message?: string } };
      if (ev.error) throw new Error(`The reply from "${req.model}" failed: ${ev.error.message ?? 'error'}`);
      if (ev.usage) Object.assign(end, { inputTokens: ev.usage.prompt_tokens ?? null, outputTokens: ev.usage.completion_tokens ?? null });
      end.finishReason = ev.choices?.[0]?.finish_reason ?? end.finishReason;
      const delta = ev.choices?.[0]?.delta;
      if (delta?.content) yield delta.content;
      for (const call of delta?.tool_calls ?? []) yield call;
    }
  }
  req.onEnd?.(end);
}

/** How a streamed reply ended: its token counts (null when the engine reports none) and finish reason. */
export interface ChatStreamEnd {
  inputTokens: number | null;
  outputTokens: number | null;
  finishReason: string | null;
}

export interface PcmChunk {
  sampleRate: number;
  /** 16-bit mono. */
  pcm: Int16Array;
}

/** Streams synthesised speech as 16-bit PCM chunks (POST /v1/audio/speech, response_format pcm). */
export async function* speechStream(t: GatewayTarget, req: { model: string; input: string; voice: string | null }, signal: AbortSignal): AsyncGenerator<PcmChunk> {
  const body = JSON.stringify({ model: req.model, input: req.input, voice: req.voice ?? 'alloy', response_format: 'pcm' });
  let res = await post(t, '/v1/audio/speech', body, 'application/json', signal);
  // A keep-alive connection the upstream closed at the same moment shows as 502 before any audio:
  // synthesis is idempotent, so try once more.
  if (res.statusCode === 502 && !signal.aborted) {
    res.resume();
    res = await post(t, '/v1/audio/speech', body, 'application/json', signal);
  }
  if (!ok(res)) throw await failure(res, `Speech synthesis with "${req.model}"`);
  const sampleRate = Number(res.headers['x-sample-rate'] ?? 24_000);
  let odd: Uint8Array | null = null;
  for await (const raw of res as AsyncIterable<Uint8Array>) {
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
