/**
 * The core's end of `/api/voice` on a real `aima serve`, against a client that gets the protocol
 * wrong: each message that does not fit the contract (src/shared/contract/voice-socket.ts) is
 * answered with an `error` whose `issues` name the field, the session stays open, and the valid
 * messages after it are still handled; a bad `start` still ends the session. The chain names are
 * set but nothing is said, so no voice service is ever called.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { parseVoiceMessage, VoiceCoreMessage, type VoiceClientMessage, type VoiceCoreMessage as CoreMessage } from '../../src/shared/contract/voice-socket.js';
import { startServe, tempHome, type ServeHandle } from '../support/cli.js';

let serve: ServeHandle | undefined;
beforeAll(async () => {
  serve = await startServe({ AIMA_HOME: tempHome('aima-voice-socket-') });
  const res = await fetch(`${serve.url}/api/call/voice.config.set`, {
    method: 'POST',
    headers: { authorization: `Bearer ${serve.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ asr: 'unused-asr', llm: 'unused-llm', tts: 'unused-tts' }),
  });
  expect(res.status).toBe(200);
}, 60_000);
afterAll(async () => {
  await serve?.stop();
});

/** A raw client: sends anything, and hands out the core's messages (each one checked against the contract) in order. */
function connect() {
  const ws = new WebSocket(`${serve!.url.replace(/^http/, 'ws')}/api/voice`, { headers: { authorization: `Bearer ${serve!.token}` } });
  const inbox: CoreMessage[] = [];
  const waiters: (() => void)[] = [];
  let closed: { code: number; reason: string } | null = null;
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    const parsed = parseVoiceMessage(VoiceCoreMessage, String(data));
    if (!parsed.ok) throw new Error(`the core sent a message outside the contract: ${String(data)}`);
    inbox.push(parsed.message);
    waiters.splice(0).forEach((w) => w());
  });
  ws.on('close', (code, reason) => {
    closed = { code, reason: reason.toString() };
    waiters.splice(0).forEach((w) => w());
  });
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return {
    ws,
    opened,
    closed: () => closed,
    send: (m: VoiceClientMessage | Record<string, unknown>) => ws.send(JSON.stringify(m)),
    /** The next message from the core (the session must not close first). */
    async next(timeoutMs = 10_000): Promise<CoreMessage> {
      const deadline = Date.now() + timeoutMs;
      while (inbox.length === 0) {
        if (closed) throw new Error(`the session closed (${closed.code} ${closed.reason})`);
        if (Date.now() > deadline) throw new Error('no message from the core');
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 200);
        });
      }
      return inbox.shift()!;
    },
  };
}

async function readySession() {
  const c = connect();
  await c.opened;
  c.send({ type: 'start', persist: false });
  for (;;) {
    const m = await c.next();
    if (m.type === 'sync') c.send({ type: 'sync', coreTime: m.coreTime, clientTime: performance.now() });
    else if (m.type === 'ready') return c;
    else throw new Error(`unexpected before ready: ${JSON.stringify(m)}`);
  }
}

describe('/api/voice against messages outside the protocol', () => {
  it('answers each bad message with an error naming the field, stays open, and handles the valid messages after it', async () => {
    const c = await readySession();

    c.send({ type: 'playback', turnId: 42, event: 'start', clientTime: 1 });
    expect(await c.next()).toEqual({
      type: 'error',
      message: 'Ignored a "playback" message: turnId: Invalid input: expected string, received number',
      issues: [{ path: ['turnId'], message: 'Invalid input: expected string, received number' }],
    });

    c.send({ type: 'sync', coreTime: 'now', clientTime: 1 });
    expect(await c.next()).toMatchObject({ type: 'error', issues: [{ path: ['coreTime'], message: 'Invalid input: expected number, received string' }] });

    c.send({ type: 'pause' });
    expect(await c.next()).toMatchObject({ type: 'error', issues: [{ path: ['type'], message: expect.stringMatching(/Invalid discriminator value/) }] });

    c.ws.send('end');
    expect(await c.next()).toMatchObject({ type: 'error', issues: [{ path: [], message: 'Text frames are JSON objects.' }] });

    c.ws.send(Buffer.alloc(641));
    expect(await c.next()).toMatchObject({ type: 'error', message: expect.stringMatching(/641 bytes is not a whole number of s16le samples/) });

    c.send({ type: 'start' });
    expect(await c.next()).toMatchObject({ type: 'error', issues: [{ path: ['type'] }] });

    // Still the same session: silence is taken, and `end` is answered with `idle`.
    for (let i = 0; i < 10; i++) c.ws.send(Buffer.alloc(640));
    c.send({ type: 'end' });
    expect(await c.next()).toEqual({ type: 'idle' });
    expect(c.closed()).toBeNull();
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
    c.ws.close();
  });

  it('a bad start ends the session (close 1008) after an error naming the field', async () => {
    const c = connect();
    await c.opened;
    c.send({ type: 'start', format: 'mp3', chain: { maxTokens: 'many' } });
    const m = await c.next();
    expect(m).toMatchObject({ type: 'error', message: expect.stringMatching(/^The first message must be/) });
    expect(m.type === 'error' && m.issues?.map((i) => i.path.join('.')).sort()).toEqual(['chain.maxTokens', 'format']);
    await expect.poll(() => c.closed()?.code).toBe(1008);
  });
});
