/**
 * An /api/events client that stops reading: the core must not queue events for it without bound.
 * Once its backlog passes the limit the core closes the socket with 1008 and a reason that says why.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import WebSocket from 'ws';
import { startServe, tempHome, type ServeHandle } from '../support/cli.js';

let serve: ServeHandle;
beforeAll(async () => {
  serve = await startServe({ AIMA_HOME: tempHome() });
});
afterAll(async () => {
  await serve?.stop();
});

/** A gateway 404 for a long path: each one becomes a `gateway.request` event of about 8 kB. */
function longRequest(agent: http.Agent): Promise<void> {
  const u = new URL(serve.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: `/v1/${'x'.repeat(8000)}`, agent }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('/api/events with a client that stops reading', () => {
  it('is closed with 1008 and a reason once its backlog passes the limit', async () => {
    const ws = new WebSocket(serve.url.replace('http', 'ws') + '/api/events', { headers: { authorization: `Bearer ${serve.token}` } });
    await new Promise((r) => ws.once('open', r));
    ws.pause();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    // About 40 MB of events: far beyond what loopback socket buffers hold.
    for (let i = 0; i < 5000; i += 50) await Promise.all(Array.from({ length: 50 }, () => longRequest(agent)));
    agent.destroy();
    const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
    ws.resume();
    const outcome = await Promise.race([closed, new Promise<null>((r) => setTimeout(() => r(null), 15_000))]);
    expect(outcome, 'the core kept the socket open and queued every event').not.toBeNull();
    expect(outcome!.code).toBe(1008);
    expect(outcome!.reason).toMatch(/not reading/);
    ws.terminate();
  }, 90_000);
});
