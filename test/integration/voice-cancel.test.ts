/**
 * Cancelling a turn while the LLM is still generating (a barge-in or the Stop button in the middle
 * of the reply) must stop the LLM itself, not only the audio: the gateway sees the chat request
 * go away (499) with fewer tokens than allowed, the turn is marked interrupted, and the session
 * takes the next utterance. And a turn whose storage fails still reaches the client.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { requirePart } from '../support/system.js';
import { haveVoiceChain, spokenPcm16, startVoiceServe, type VoiceServe } from '../support/voice.js';

let voice: VoiceServe | undefined;
beforeAll(async () => {
  if (haveVoiceChain) voice = await startVoiceServe('aima-cancel-');
}, 300_000);
afterAll(async () => {
  await voice?.serve.stop();
});

const MAX_TOKENS = 400;
type Msg = { type: string; [k: string]: unknown };

async function call<T>(name: string, params: unknown): Promise<T> {
  const res = await fetch(`${voice!.serve.url}/api/call/${name}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${voice!.serve.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(params),
  });
  return ((await res.json()) as { result: T }).result;
}

/**
 * One /api/voice session: `start`, the clock probes answered, `text` spoken (all at once, then
 * `end`) once ready. Every JSON message goes to `on` (with a send function); resolves with the
 * first `turn`, rejects on an `error` unless `on` returns true for it.
 */
function converse(text: string, start: object, on: (m: Msg, send: (m: object) => void) => boolean | void = () => {}): Promise<Msg> {
  const pcm = spokenPcm16(text, mkdtempSync(path.join(os.tmpdir(), 'aima-cancel-')));
  const ws = new WebSocket(`${voice!.serve.url.replace(/^http/, 'ws')}/api/voice`, { headers: { authorization: `Bearer ${voice!.serve.token}` } });
  const send = (m: object) => ws.send(JSON.stringify(m));
  return new Promise<Msg>((resolve, reject) => {
    ws.on('error', reject);
    ws.on('open', () => send({ type: 'start', ...start }));
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const m = JSON.parse(String(data)) as Msg;
      if (m.type === 'sync') send({ type: 'sync', coreTime: m.coreTime, clientTime: performance.now() });
      if (m.type === 'ready') {
        ws.send(pcm);
        send({ type: 'end' });
      }
      const handled = on(m, send);
      if (m.type === 'turn') resolve(m);
      if (m.type === 'error' && !handled) reject(new Error(String(m.message)));
    });
  }).finally(() => ws.close());
}

describe('cancelling a voice turn mid-generation', () => {
  it('stops the LLM request (499, fewer tokens than allowed) and marks the turn interrupted', async (ctx) => {
    requirePart(ctx, 'shared-models', haveVoiceChain);
    const states: string[] = [];
    let cancelled = false;
    const turn = await converse('Tell me a long story about a dragon', { persist: false, chain: { maxTokens: MAX_TOKENS }, llm: { temperature: 0.8, seed: 7 } }, (m, send) => {
      if (m.type === 'state') states.push(String(m.state));
      // The first words of the reply are out: the LLM is mid-generation. Cut the turn now.
      if (m.type === 'reply' && !cancelled) {
        cancelled = true;
        send({ type: 'cancel' });
      }
    });
    expect(turn.interrupted).toBe(true);
    expect(states).toContain('thinking');
    const log = await call<{ endpoint: string; status: number; completionTokens: number | null }[]>('gateway.requests', { limit: 50 });
    const chat = log.find((r) => r.endpoint === '/v1/chat/completions');
    expect(chat, JSON.stringify(log)).toBeDefined();
    expect(chat!.status).toBe(499);
    expect(chat!.completionTokens ?? 0).toBeLessThan(MAX_TOKENS);
  }, 120_000);

  it('a conversation deleted mid-turn: the turn still arrives, the client is told it was not stored, the core lives on', async (ctx) => {
    requirePart(ctx, 'shared-models', haveVoiceChain);
    const errors: string[] = [];
    let conversationId = '';
    const turn = await converse('What is the color of the sky', { llm: { temperature: 0, seed: 1 } }, (m) => {
      if (m.type === 'ready') conversationId = String(m.conversationId);
      if (m.type === 'transcript') void call('voice.conversations.delete', { id: conversationId });
      if (m.type === 'error') errors.push(String(m.message));
      return m.type === 'error';
    });
    expect(String(turn.transcript).toLowerCase()).toContain('sky');
    expect(turn.storedTurnId).toBeNull();
    expect(errors.join(' ')).toMatch(/could not be stored/);
    const health = await fetch(`${voice!.serve.url}/healthz`);
    expect(health.status).toBe(200);
  }, 120_000);
});
