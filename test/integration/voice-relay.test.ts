/**
 * The desktop app's voice link: a MessagePort (here a fake with MessagePortMain's shape) relayed by
 * relayVoicePort to the core's /api/voice. A whole turn crosses it — JSON as text, microphone PCM
 * and TTS audio as binary — and refusals arrive as a close with the core's reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventEmitter } from 'node:events';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { relayVoicePort, type RelayPort } from '../../src/main/voice-relay.js';
import { requirePart } from '../support/system.js';
import { haveVoiceChain, spokenPcm16, startVoiceServe, type VoiceServe } from '../support/voice.js';

/** Two connected ports; `page` is the renderer's end, handed to the test. */
function portPair() {
  const relaySide = new EventEmitter();
  const pageSide = new EventEmitter();
  let open = true;
  const make = (self: EventEmitter, other: EventEmitter): RelayPort & EventEmitter =>
    Object.assign(self, {
      postMessage(message: unknown) {
        // Structured clone: an ArrayBuffer is copied, never shared.
        const copy = message instanceof ArrayBuffer ? message.slice(0) : message;
        if (open) setImmediate(() => other.emit('message', { data: copy }));
      },
      start() {},
      close() {
        if (!open) return;
        open = false;
        setImmediate(() => other.emit('close'));
      },
    });
  return { relay: make(relaySide, pageSide), page: make(pageSide, relaySide) };
}

let voice: VoiceServe | undefined;
beforeAll(async () => {
  if (haveVoiceChain) voice = await startVoiceServe('aima-relay-');
}, 300_000);
afterAll(async () => {
  await voice?.serve.stop();
});

describe('voice relay (desktop app link)', () => {
  it('carries a whole turn: text as text, PCM both ways as binary, in order', async (ctx) => {
    requirePart(ctx, 'shared-models', haveVoiceChain);
    const { relay, page } = portPair();
    relayVoicePort(relay, { url: voice!.serve.url, token: voice!.serve.token });
    const pcm = spokenPcm16('What is the color of the sky', mkdtempSync(path.join(os.tmpdir(), 'aima-relay-')));

    const got = { types: [] as string[], binaryBytes: 0, announcedBytes: 0, transcript: '', reply: '' };
    const done = new Promise<void>((resolve, reject) => {
      page.on('message', (e: { data: unknown }) => {
        const data = e.data;
        if (data instanceof ArrayBuffer) {
          got.binaryBytes += data.byteLength;
          return;
        }
        if (typeof data !== 'string') return reject(new Error(`unexpected frame ${JSON.stringify(data)}`));
        const m = JSON.parse(data) as { type: string; [k: string]: unknown };
        got.types.push(m.type);
        if (m.type === 'sync') page.postMessage(JSON.stringify({ type: 'sync', coreTime: m.coreTime, clientTime: performance.now() }));
        if (m.type === 'ready') {
          page.postMessage(pcm.buffer.slice(pcm.byteOffset, pcm.byteOffset + pcm.byteLength));
          page.postMessage(JSON.stringify({ type: 'end' }));
        }
        if (m.type === 'audio') got.announcedBytes += (m.samples as number) * 2;
        if (m.type === 'turn') {
          got.transcript = String(m.transcript);
          got.reply = String(m.reply);
        }
        if (m.type === 'idle') resolve();
        if (m.type === 'error') reject(new Error(String(m.message)));
      });
      page.on('close', () => reject(new Error('the relay closed the port')));
    });
    page.postMessage(JSON.stringify({ type: 'start', persist: false, llm: { seed: 1, temperature: 0 } }));
    await done;
    expect(got.transcript.toLowerCase()).toContain('sky');
    expect(got.reply.length).toBeGreaterThan(0);
    expect(got.types.slice(0, 4)).toEqual(['sync', 'sync', 'sync', 'ready']);
    expect(got.announcedBytes).toBeGreaterThan(0);
    expect(got.binaryBytes).toBe(got.announcedBytes);
    page.close();
  }, 120_000);

  it('passes the core refusal of a bad start on as a close with its reason', async (ctx) => {
    requirePart(ctx, 'shared-models', haveVoiceChain);
    const { relay, page } = portPair();
    relayVoicePort(relay, { url: voice!.serve.url, token: voice!.serve.token });
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      page.on('message', (e: { data: unknown }) => {
        const d = e.data as { relay?: string; code: number; reason: string };
        if (typeof d === 'object' && d.relay === 'close') resolve(d);
      }),
    );
    page.postMessage(JSON.stringify({ type: 'start', format: 'mp3' }));
    const c = await closed;
    expect(c.code).toBe(1008);
    expect(c.reason).toMatch(/format/);
  });

  it('says the core refused the session when the token is wrong', async (ctx) => {
    requirePart(ctx, 'shared-models', haveVoiceChain);
    const { relay, page } = portPair();
    relayVoicePort(relay, { url: voice!.serve.url, token: 'not-the-token' });
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      page.on('message', (e: { data: unknown }) => {
        const d = e.data as { relay?: string; code: number; reason: string };
        if (typeof d === 'object' && d.relay === 'close') resolve(d);
      }),
    );
    const c = await closed;
    expect(c.reason).toMatch(/refused the voice session \(HTTP 401\)/);
  });
});
