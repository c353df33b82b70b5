/**
 * Realtime tests: the official `openai` SDK's `OpenAIRealtimeWS` against `aima serve`, every server
 * event recorded in order, and flite speech as 24 kHz PCM16 streamed in 20 ms appends.
 */
import net from 'node:net';
import OpenAI from 'openai';
import { OpenAIRealtimeWS } from 'openai/realtime/ws';
import { resample } from '../../src/lib/audio/resample.js';
import { spoken16k } from './voice.js';

export type RtEvent = { type: string; [k: string]: unknown };

export interface RtClient {
  rt: OpenAIRealtimeWS;
  events: RtEvent[];
  /** Errors the SDK reported (error events and socket errors). */
  errors: { message: string; error?: { code?: string; param?: string | null; event_id?: string | null } }[];
  send(e: object): void;
  /** Resolves with the first event of `type` (after `from`, an index into events) that `pred` accepts. */
  next(type: string, pred?: (e: RtEvent) => boolean, timeoutMs?: number, from?: number): Promise<RtEvent>;
  closed: Promise<{ code: number; reason: string }>;
  close(): void;
}

/**
 * Opens a session as the SDK does. The SDK always builds a wss:// URL; AIMA's port speaks plain
 * HTTP here, so the socket is opened with a plain TCP connection (ws's `createConnection`).
 */
export async function openRealtime(baseUrl: string, opts: { apiKey?: string; model?: string; headers?: Record<string, string> } = {}): Promise<RtClient> {
  const client = new OpenAI({ apiKey: opts.apiKey ?? 'no-key', baseURL: `${baseUrl}/v1` });
  const rt = new OpenAIRealtimeWS(
    {
      model: opts.model ?? 'default',
      options: { headers: opts.headers, createConnection: ((o: { host: string; port: number }) => net.connect({ host: o.host, port: Number(o.port) })) as never },
    },
    client,
  );
  const events: RtEvent[] = [];
  const errors: RtClient['errors'] = [];
  const waiters = new Set<() => void>();
  rt.on('event', (e) => {
    events.push(e as unknown as RtEvent);
    for (const w of waiters) w();
  });
  rt.on('error', (err) => {
    errors.push({ message: err.message, error: err.error as RtClient['errors'][number]['error'] });
    for (const w of waiters) w();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => rt.socket.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  await new Promise<void>((resolve, reject) => {
    rt.socket.once('open', () => resolve());
    rt.socket.once('error', reject);
    rt.socket.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d));
      res.on('end', () => reject(Object.assign(new Error(`HTTP ${res.statusCode}: ${body}`), { status: res.statusCode, body })));
    });
  });
  const next: RtClient['next'] = (type, pred = () => true, timeoutMs = 60_000, from = 0) =>
    new Promise((resolve, reject) => {
      const check = () => {
        const hit = events.slice(from).find((e) => e.type === type && pred(e));
        if (hit) {
          waiters.delete(check);
          clearTimeout(timer);
          resolve(hit);
        }
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`No ${type} in ${timeoutMs} ms; got: ${events.map((e) => e.type).join(', ')}; errors: ${JSON.stringify(errors)}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  return { rt, events, errors, send: (e) => rt.send(e as never), next, closed, close: () => rt.close() };
}

/** `text` spoken by flite as 24 kHz mono PCM16, with `silenceMs` of silence after it. */
export function spoken24k(text: string, dir: string, silenceMs = 1200): Buffer {
  const a = resample(spoken16k(text, dir), 16_000, 24_000);
  const total = a.length + Math.round((silenceMs / 1000) * 24_000);
  const pcm = Buffer.alloc(total * 2);
  for (let i = 0; i < a.length; i++) pcm.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(a[i]! * 32767))), i * 2);
  return pcm;
}

/** Sends PCM16 as input_audio_buffer.append events of 20 ms each; `realTime` paces them at 20 ms. */
export async function streamAudio(c: RtClient, pcm: Buffer, realTime: boolean, signal?: { stop: boolean }): Promise<void> {
  const step = 480 * 2;
  const t0 = performance.now();
  for (let o = 0, k = 0; o < pcm.length; o += step, k++) {
    if (signal?.stop) return;
    c.send({ type: 'input_audio_buffer.append', audio: pcm.subarray(o, Math.min(pcm.length, o + step)).toString('base64') });
    if (realTime) {
      const due = t0 + (k + 1) * 20 - performance.now();
      if (due > 0) await new Promise((r) => setTimeout(r, due));
    }
  }
}

/** Total duration of the response's output_audio.delta events, seconds at 24 kHz. */
export function audioSeconds(events: RtEvent[], responseId: string): number {
  let bytes = 0;
  for (const e of events) if (e.type === 'response.output_audio.delta' && e.response_id === responseId) bytes += Buffer.from(String(e.delta), 'base64').length;
  return bytes / 2 / 24_000;
}

/** The response's audio as one PCM16 buffer. */
export function audioOf(events: RtEvent[], responseId: string): Buffer {
  return Buffer.concat(events.filter((e) => e.type === 'response.output_audio.delta' && e.response_id === responseId).map((e) => Buffer.from(String(e.delta), 'base64')));
}
