/**
 * Cancelling a turn while the LLM is still generating (a barge-in or the Stop button in the middle
 * of the reply) must stop the LLM itself, not only the audio: the gateway sees the chat request
 * go away (499) with fewer tokens than allowed, the turn is marked interrupted, and the session
 * takes the next utterance.
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

describe('cancelling a voice turn mid-generation', () => {
  it('stops the LLM request (499, fewer tokens than allowed) and marks the turn interrupted', async (ctx) => {
    requirePart(ctx, 'shared-models', haveVoiceChain);
    const pcm = spokenPcm16('Tell me a long story about a dragon', mkdtempSync(path.join(os.tmpdir(), 'aima-cancel-')));
    const ws = new WebSocket(`${voice!.serve.url.replace(/^http/, 'ws')}/api/voice`, { headers: { authorization: `Bearer ${voice!.serve.token}` } });
    const turn = await new Promise<{ interrupted: boolean; reply: string; states: string[] }>((resolve, reject) => {
      const states: string[] = [];
      let cancelled = false;
      ws.on('error', reject);
      ws.on('open', () => ws.send(JSON.stringify({ type: 'start', persist: false, chain: { maxTokens: MAX_TOKENS }, llm: { temperature: 0.8, seed: 7 } })));
      ws.on('message', (data, isBinary) => {
        if (isBinary) return;
        const m = JSON.parse(String(data)) as { type: string; [k: string]: unknown };
        if (m.type === 'sync') ws.send(JSON.stringify({ type: 'sync', coreTime: m.coreTime, clientTime: performance.now() }));
        if (m.type === 'ready') {
          ws.send(pcm);
          ws.send(JSON.stringify({ type: 'end' }));
        }
        if (m.type === 'state') states.push(String(m.state));
        // The first words of the reply are out: the LLM is mid-generation. Cut the turn now.
        if (m.type === 'reply' && !cancelled) {
          cancelled = true;
          ws.send(JSON.stringify({ type: 'cancel' }));
        }
        if (m.type === 'turn') resolve({ interrupted: Boolean(m.interrupted), reply: String(m.reply), states });
        if (m.type === 'error') reject(new Error(String(m.message)));
      });
    });
    ws.close();
    expect(turn.interrupted).toBe(true);
    expect(turn.states).toContain('thinking');
    const res = await fetch(`${voice!.serve.url}/api/call/gateway.requests`, {
      method: 'POST',
      headers: { authorization: `Bearer ${voice!.serve.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ limit: 50 }),
    });
    const log = ((await res.json()) as { result: { endpoint: string; status: number; completionTokens: number | null }[] }).result;
    const chat = log.find((r) => r.endpoint === '/v1/chat/completions');
    expect(chat, JSON.stringify(log)).toBeDefined();
    expect(chat!.status).toBe(499);
    expect(chat!.completionTokens ?? 0).toBeLessThan(MAX_TOKENS);
  }, 120_000);

  it('a conversation deleted mid-turn: the turn still arrives, the client is told it was not stored, the core lives on', async (ctx) => {
    requirePart(ctx, 'shared-models', haveVoiceChain);
    const call = async (name: string, params: unknown) =>
      (await (await fetch(`${voice!.serve.url}/api/call/${name}`, { method: 'POST', headers: { authorization: `Bearer ${voice!.serve.token}`, 'content-type': 'application/json' }, body: JSON.stringify(params) })).json()) as { result: unknown };
    const pcm = spokenPcm16('What is the color of the sky', mkdtempSync(path.join(os.tmpdir(), 'aima-cancel-')));
    const ws = new WebSocket(`${voice!.serve.url.replace(/^http/, 'ws')}/api/voice`, { headers: { authorization: `Bearer ${voice!.serve.token}` } });
    const got = await new Promise<{ errors: string[]; turn: { transcript: string; storedTurnId: string | null } }>((resolve, reject) => {
      const errors: string[] = [];
      let conversationId = '';
      ws.on('error', reject);
      ws.on('open', () => ws.send(JSON.stringify({ type: 'start', llm: { temperature: 0, seed: 1 } })));
      ws.on('message', (data, isBinary) => {
        if (isBinary) return;
        const m = JSON.parse(String(data)) as { type: string; [k: string]: unknown };
        if (m.type === 'sync') ws.send(JSON.stringify({ type: 'sync', coreTime: m.coreTime, clientTime: performance.now() }));
        if (m.type === 'ready') {
          conversationId = String(m.conversationId);
          ws.send(pcm);
          ws.send(JSON.stringify({ type: 'end' }));
        }
        if (m.type === 'transcript') void call('voice.conversations.delete', { id: conversationId });
        if (m.type === 'error') errors.push(String(m.message));
        if (m.type === 'turn') resolve({ errors, turn: m as unknown as { transcript: string; storedTurnId: string | null } });
      });
    });
    ws.close();
    expect(got.turn.transcript.toLowerCase()).toContain('sky');
    expect(got.turn.storedTurnId).toBeNull();
    expect(got.errors.join(' ')).toMatch(/could not be stored/);
    const health = await fetch(`${voice!.serve.url}/healthz`);
    expect(health.status).toBe(200);
  }, 120_000);
});
