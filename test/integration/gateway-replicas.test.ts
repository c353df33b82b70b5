/**
 * Replicas behind one model name, against real upstream servers: each request goes to the
 * running replica with the fewest requests in flight, all replicas share one FIFO queue, a replica
 * that leaves rotation (its state, or a refused connection) gets nothing new, and a waiting
 * request's ETA follows the service times as an exponential moving average (alpha 0.3).
 */
import { afterEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Gateway, type GatewayPolicy, type QueueSnapshot } from '../../src/core/gateway/gateway.js';
import type { ModelDirectory, RoutableModel } from '../../src/core/gateway/directory.js';
import { startFakeOpenAI, type FakeOpenAI, type FakeOpenAIOptions } from '../support/fake-openai.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const policy: GatewayPolicy = { startOnDemand: false, maxQueue: 100, queueTimeoutMs: 20_000, maxJsonBytes: 1 << 20, maxUploadBytes: 1 << 20, uploadBudgetBytes: 1 << 24, corsOrigins: [] };

function replica(name: string, up: FakeOpenAI, concurrency: number): RoutableModel {
  return { id: 'm', aliases: [name], kind: 'llm', owner: { type: 'service', service: name }, state: 'running', baseUrl: up.url, upstreamModel: 'm', concurrency };
}

/** A gateway whose directory serves model "m" from the given replicas (changeable with `set`). */
async function setup(replicas: RoutableModel[]) {
  let list = replicas;
  const entry = () => ({ ...(list.find((r) => r.state === 'running') ?? list[0]!), replicas: list });
  const directory: ModelDirectory = { list: () => [entry()], resolve: (m) => (m === 'm' ? entry() : null) };
  // Each event with the number of service-time samples behind its ETAs at that moment.
  const events: (QueueSnapshot & { samples: number })[] = [];
  const samples = () => gateway.serviceTimes.list().find((t) => t.model === 'm' && t.endpoint === '/v1/chat/completions')?.samples ?? 0;
  const gateway: Gateway = new Gateway({ directory, policy: () => policy, authorize: () => true, onQueue: (q) => events.push({ ...q, samples: samples() }) });
  const server = http.createServer((req, res) => {
    const [path, query = ''] = req.url!.split('?');
    if (!gateway.route(req, res, path!, query)) res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => (server.closeAllConnections(), server.close(() => r()))));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const chat = (body: Record<string, unknown> = {}) => fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }], ...body }) });
  return {
    gateway,
    events,
    chat,
    set(next: RoutableModel[]) {
      list = next;
      gateway.refresh();
    },
  };
}

async function upstream(opts: FakeOpenAIOptions) {
  const u = await startFakeOpenAI(opts);
  cleanups.push(() => u.close());
  return u;
}

describe('replicas: least requests in flight', () => {
  it('a burst goes mostly to the fast replica; the slow one gets measurably fewer than a round-robin would give it', async () => {
    const fast = await upstream({ delayMs: 40 });
    const slow = await upstream({ delayMs: 1200 });
    const { chat } = await setup([replica('m-slow', slow, 2), replica('m-fast', fast, 2)]);
    const results = await Promise.all(Array.from({ length: 16 }, () => chat()));
    expect(results.map((r) => r.status)).toEqual(Array(16).fill(200));
    const served = results.map((r) => r.headers.get('x-aima-replica'));
    const bySlow = served.filter((s) => s === 'm-slow').length;
    expect(bySlow + served.filter((s) => s === 'm-fast').length).toBe(16);
    expect(slow.requests).toBe(bySlow);
    // A round-robin sends 8 to each. The slow replica holds its two slots for the whole burst.
    expect(bySlow).toBeLessThanOrEqual(4);
    expect(fast.requests).toBeGreaterThanOrEqual(12);
  });

  it('staggered requests: the slow replica takes a new one only when it has no more in flight than the fast one', async () => {
    const fast = await upstream({ delayMs: 20 });
    const slow = await upstream({ delayMs: 800 });
    const { chat } = await setup([replica('a', slow, 8), replica('b', fast, 8)]);
    const pending: Promise<Response>[] = [];
    for (let i = 0; i < 12; i++) {
      pending.push(chat());
      await new Promise((r) => setTimeout(r, 60));
    }
    const results = await Promise.all(pending);
    expect(results.every((r) => r.status === 200)).toBe(true);
    // Round-robin: 6 each. Fewest in flight: the slow one only on ties, while the fast one is busy too.
    expect(slow.requests).toBeLessThanOrEqual(4);
    expect(fast.requests).toBeGreaterThanOrEqual(8);
  });

  it('all replicas full: requests wait in one model queue and take the first replica that frees up', async () => {
    const fast = await upstream({ delayMs: 150 });
    const slow = await upstream({ delayMs: 2000 });
    const { chat, events, gateway } = await setup([replica('slow', slow, 1), replica('fast', fast, 1)]);
    const first = chat();
    const second = chat();
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    const pending = chat();
    // /metrics: one queue for the model, in flight per replica.
    let metrics = '';
    for (let i = 0; i < 100 && !metrics.includes('aima_gateway_queue_depth{model="m"} 1'); i++) {
      await new Promise((r) => setTimeout(r, 10));
      metrics = await gateway.metrics.registry.metrics();
    }
    expect(metrics).toContain('aima_gateway_queue_depth{model="m"} 1');
    expect(metrics).toContain('aima_gateway_in_flight{model="m"} 2');
    expect(metrics).toContain('aima_gateway_replica_in_flight{model="m",replica="service:slow"} 1');
    expect(metrics).toContain('aima_gateway_replica_in_flight{model="m",replica="service:fast"} 1');
    const third = await pending;
    expect(third.status).toBe(200);
    // It waited behind both and went to the fast replica as soon as it was free, not to the slow one.
    expect(third.headers.get('x-aima-replica')).toBe('fast');
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(Number(third.headers.get('x-aima-queue-position'))).toBe(1);
    expect(Number(third.headers.get('x-aima-queue-wait-ms'))).toBeGreaterThanOrEqual(50);
    expect(events.some((e) => e.model === 'm' && e.slots === 2 && e.waiting.length === 1 && e.waiting[0]!.position === 1)).toBe(true);
    expect((await first).status).toBe(200);
    expect((await second).status).toBe(200);
  });
});

describe('replicas: leaving rotation', () => {
  it('a replica whose state is no longer running gets no new requests; it comes back when running again', async () => {
    const a = await upstream({ delayMs: 10 });
    const b = await upstream({ delayMs: 10 });
    const ra = replica('a', a, 4);
    const rb = replica('b', b, 4);
    const { chat, set } = await setup([ra, rb]);
    set([ra, { ...rb, state: 'crashed', baseUrl: null, reason: 'exited (code 1)' }]);
    for (let i = 0; i < 6; i++) expect((await chat()).status).toBe(200);
    expect(b.requests).toBe(0);
    expect(a.requests).toBe(6);
    set([ra, rb]);
    await Promise.all(Array.from({ length: 6 }, () => chat()));
    expect(b.requests).toBeGreaterThan(0);
  });

  it('a replica that refuses the connection before its state says so: the request goes to another one and is answered', async () => {
    const a = await upstream({ delayMs: 10 });
    const dead = await upstream({});
    await dead.close(); // its port now refuses connections
    const { chat } = await setup([replica('dead', dead, 4), replica('a', a, 4)]);
    const results = await Promise.all(Array.from({ length: 8 }, () => chat()));
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(200));
    expect(results.every((r) => r.headers.get('x-aima-replica') === 'a')).toBe(true);
    expect(a.requests).toBe(8);
  });

  it('a replica that dies mid-stream ends the stream with an OpenAI-shaped error event naming it', async () => {
    const dying = await upstream({ tokens: 200, tokenIntervalMs: 20 });
    const { chat } = await setup([replica('dying', dying, 1)]);
    const res = await chat({ stream: true });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toMatch(/^data: /);
    await dying.close(); // drops every connection, as a dead process would
    let text = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    const last = text.trim().split('\n\n').at(-1)!;
    expect(last.startsWith('data: ')).toBe(true);
    const payload = JSON.parse(last.slice(6)) as { error: { message: string; type: string; code: string } };
    expect(payload.error).toMatchObject({ type: 'server_error', code: 'upstream_lost' });
    expect(payload.error.message).toContain('service "dying"');
  });
});

describe('queue ETA', () => {
  it('follows a step in service time from 100 ms to 400 ms as an EMA with alpha 0.3 does, not as the last sample', async () => {
    // Requests 1-5 take 100 ms, 6-12 take 400 ms; all wait in one queue behind one slot.
    let served = 0;
    const up = await upstream({
      get delayMs() {
        return ++served <= 5 ? 100 : 400;
      },
    });
    const { chat, events } = await setup([replica('one', up, 1)]);
    const results = await Promise.all(Array.from({ length: 12 }, () => chat()));
    expect(results.map((r) => r.status)).toEqual(Array(12).fill(200));
    // The head's ETA by the number of samples it was based on (each finished request adds one,
    // then lets the next request in: an event with the new head).
    const etaOfHead = new Map<number, number>();
    for (const e of events) if (e.waiting[0]?.etaMs != null) etaOfHead.set(e.samples, e.waiting[0].etaMs);
    // Before 3 samples: the chat endpoint's default.
    expect(etaOfHead.get(0)).toBe(5000);
    expect(etaOfHead.get(2)).toBe(5000);
    // From the 3rd sample: the EMA (position 1, one slot: ETA = the estimate).
    let ema = 100;
    for (let n = 2; n <= 5; n++) ema = 0.3 * 100 + 0.7 * ema;
    for (let k = 1; k <= 5; k++) {
      ema = 0.3 * 400 + 0.7 * ema; // after the k-th sample at 400 ms
      const eta = etaOfHead.get(5 + k);
      expect(eta, `ETA after ${k} samples at 400 ms`).toBeDefined();
      expect(Math.abs(eta! - ema) / ema, `ETA ${eta} vs EMA ${ema.toFixed(0)} after ${k} samples at 400 ms`).toBeLessThan(0.3);
      // A last-sample estimator would answer ~400 ms: far from what the gateway says right after the step.
      if (k === 1) expect(Math.abs(eta! - 400) / 400).toBeGreaterThan(0.3);
    }
    // The waiting requests' headers: position at arrival and the time waited, growing with the position.
    const waits = results.map((r) => ({ position: Number(r.headers.get('x-aima-queue-position')), waited: Number(r.headers.get('x-aima-queue-wait-ms')) })).sort((a, b) => a.position - b.position);
    expect(waits[0]).toMatchObject({ position: 0 });
    expect(waits.map((w) => w.position)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    // Position p waited for the p - 1 requests queued ahead of it to be served in full.
    for (const w of waits.slice(1)) expect(w.waited).toBeGreaterThanOrEqual((w.position - 1) * 90);
  });
});
