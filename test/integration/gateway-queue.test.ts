/**
 * The gateway's routing and queueing against a real upstream server: waits beyond the
 * concurrency limit, 429 on overflow, wait timeouts, cancellation reaching the upstream, unknown
 * and stopped models, start on demand.
 */
import { afterEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Gateway, type GatewayPolicy } from '../../src/core/gateway/gateway.js';
import type { ModelDirectory, RoutableModel } from '../../src/core/gateway/directory.js';
import { startFakeOpenAI, type FakeOpenAI } from '../support/fake-openai.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const basePolicy: GatewayPolicy = { startOnDemand: false, maxQueue: 10, queueTimeoutMs: 5000, maxJsonBytes: 1 << 20, maxUploadBytes: 1 << 20, uploadBudgetBytes: 1 << 24, corsOrigins: [] };

async function setup(upstream: FakeOpenAI, model: Partial<RoutableModel>, policy: Partial<GatewayPolicy> = {}, start?: ModelDirectory['start']) {
  let entry: RoutableModel = {
    id: 'fake',
    aliases: ['fake-service'],
    kind: 'llm',
    owner: { type: 'service', service: 'fake-service' },
    state: 'running',
    baseUrl: upstream.url,
    upstreamModel: 'fake',
    concurrency: 1,
    ...model,
  };
  const directory: ModelDirectory = {
    list: () => [entry],
    resolve: (m) => (m === entry.id || entry.aliases.includes(m) ? entry : null),
    start: start ? async (m, signal) => (entry = await start(m, signal)) : undefined,
  };
  const gateway = new Gateway({ directory, policy: () => ({ ...basePolicy, ...policy }), authorize: () => true });
  const server = http.createServer((req, res) => {
    const [path, query = ''] = req.url!.split('?');
    if (!gateway.route(req, res, path!, query)) res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => (server.closeAllConnections(), server.close(() => r()))));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const chat = (body: Record<string, unknown> = {}, signal?: AbortSignal) =>
    fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'fake', messages: [{ role: 'user', content: 'hi' }], ...body }), signal });
  return { gateway, url, chat };
}

async function upstream(opts: Parameters<typeof startFakeOpenAI>[0]) {
  const u = await startFakeOpenAI(opts);
  cleanups.push(() => u.close());
  return u;
}

describe('gateway queueing', () => {
  it('requests beyond the concurrency limit wait their turn, and all succeed', async () => {
    const up = await upstream({ delayMs: 250 });
    const { chat } = await setup(up, { concurrency: 2 });
    const t0 = Date.now();
    const results = await Promise.all([1, 2, 3, 4, 5].map(() => chat()));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(up.maxInFlight).toBe(2);
    // 5 requests, 2 at a time, 250 ms each: three rounds.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(700);
  });

  it('a full queue answers 429 with Retry-After in OpenAI error shape', async () => {
    const up = await upstream({ delayMs: 400 });
    const { chat } = await setup(up, { concurrency: 1 }, { maxQueue: 1 });
    const results = await Promise.all([chat(), chat(), chat()]);
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 429]);
    const refused = results.find((r) => r.status === 429)!;
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(await refused.json()).toMatchObject({ error: { type: 'rate_limit_error', code: 'queue_full', message: expect.stringContaining('busy') } });
  });

  it('a request that waits longer than the queue timeout gets 503', async () => {
    const up = await upstream({ delayMs: 800 });
    const { chat } = await setup(up, { concurrency: 1 }, { queueTimeoutMs: 200 });
    const [first, second] = await Promise.all([chat(), chat()]);
    expect(first.status).toBe(200);
    expect(second.status).toBe(503);
    expect(await second.json()).toMatchObject({ error: { code: 'queue_timeout' } });
  });

  it('a client that disconnects mid-stream cancels the upstream request, and frees the slot', async () => {
    const up = await upstream({ tokens: 200, tokenIntervalMs: 20 });
    const { chat } = await setup(up, { concurrency: 1 });
    const ac = new AbortController();
    const res = await chat({ stream: true }, ac.signal);
    const reader = res.body!.getReader();
    await reader.read();
    ac.abort();
    const deadline = Date.now() + 2000;
    while (up.disconnects === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(up.disconnects).toBe(1);
    // The slot is free again: the next request is not queued behind the dead one.
    const t0 = Date.now();
    const next = await chat();
    expect(next.status).toBe(200);
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('a client that gives up while queued never reaches the upstream', async () => {
    const up = await upstream({ delayMs: 500 });
    const { chat } = await setup(up, { concurrency: 1 });
    const first = chat();
    await new Promise((r) => setTimeout(r, 50));
    const ac = new AbortController();
    const queued = chat({}, ac.signal).catch((e: Error) => e);
    await new Promise((r) => setTimeout(r, 50));
    ac.abort();
    expect(await queued).toBeInstanceOf(Error);
    expect((await first).status).toBe(200);
    await new Promise((r) => setTimeout(r, 100));
    expect(up.requests).toBe(1);
  });

  it('streams pass through unchanged, and the request log records time to first token and tokens', async () => {
    const up = await upstream({ tokens: 8, tokenIntervalMs: 5 });
    const { chat, gateway } = await setup(up, { concurrency: 1 });
    const text = await (await chat({ stream: true })).text();
    expect(text.match(/^data: /gm)).toHaveLength(9);
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    const [rec] = gateway.log.recent(1);
    expect(rec).toMatchObject({ endpoint: '/v1/chat/completions', model: 'fake', status: 200, stream: true, completionTokens: 8 });
    expect(rec!.ttftMs).not.toBeNull();
  });
});

describe('gateway routing errors', () => {
  it('an unknown model is 404 listing the models; a missing model field is 400', async () => {
    const up = await upstream({});
    const { chat } = await setup(up, {});
    const res = await chat({ model: 'gpt-9' });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: 'model_not_found', param: 'model', message: expect.stringContaining('Available models: fake') } });
    const none = await chat({ model: undefined });
    expect(none.status).toBe(400);
  });

  it('a stopped model is 503 naming its state and the command to start it', async () => {
    const up = await upstream({});
    const { chat } = await setup(up, { state: 'stopped', baseUrl: null });
    const res = await chat();
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { message: string } }).error.message).toBe('The model "fake" is stopped. Start it with `aima service start fake-service` (or turn on "start on demand" in Settings).');
    expect(up.requests).toBe(0);
  });

  it('with start on demand, a request for a stopped model starts it and succeeds', async () => {
    const up = await upstream({});
    let started = 0;
    const { chat } = await setup(up, { state: 'stopped', baseUrl: null }, { startOnDemand: true }, async (m) => {
      started++;
      await new Promise((r) => setTimeout(r, 100));
      return { ...m, state: 'running', baseUrl: up.url };
    });
    const res = await chat();
    expect(res.status).toBe(200);
    expect(started).toBe(1);
    expect(await res.json()).toMatchObject({ choices: [{ message: { content: 'hello there' } }] });
  });

  it('routes by alias (the service name) too', async () => {
    const up = await upstream({});
    const { chat } = await setup(up, {});
    expect((await chat({ model: 'fake-service' })).status).toBe(200);
  });
});
