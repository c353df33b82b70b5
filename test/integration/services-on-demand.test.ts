/**
 * Start on demand (a gateway request to a service that is not running) against real crashing
 * engine processes: it respects the crash backoff and a `failed` service, so traffic cannot turn a
 * crash loop into back-to-back restarts; an explicit start still does what the user asked.
 */
import { afterEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createCore, type Core } from '../../src/core/core.js';
import { ServicesRepo } from '../../src/core/store/repositories/services-repo.js';
import { tempHome } from '../support/cli.js';
import { waitFor, writeFakeEngine } from '../support/services.js';

const TOKEN = 'on-demand-test-token';
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => {});
});

/** An in-process core with its routes (the gateway's) mounted on a loopback server. */
async function core(home: string, timing: Parameters<typeof createCore>[0]['serviceTiming']) {
  const c = await createCore({ dataDir: home, host: 'serve', token: TOKEN, serviceTiming: { stopGraceMs: 2000, ...timing } });
  cleanups.push(() => c.close({ stopServices: true }));
  const server = http.createServer((req, res) => {
    const [p, query = ''] = req.url!.split('?');
    if (!c.routes.some((route) => route(req, res, p!, query))) res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => (server.closeAllConnections(), server.close(() => r()))));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const chat = (model: string) =>
    fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
    });
  return { c, chat };
}

const eventsOf = (c: Core, id: string) => new ServicesRepo(c.db).events(id, 500);
const errorOf = async (res: Response) => ((await res.json()) as { error: { message: string; code: string } }).error;

describe('start on demand respects crash protection', () => {
  it('a request during the crash backoff gets 503 with Retry-After naming the crash; the engine is not restarted early and the crash count is kept', async () => {
    const home = tempHome('aima-ondemand-');
    writeFakeEngine(home, 'crashy', ['--load-ms', '20', '--crash-after-ms', '150']);
    const { c, chat } = await core(home, { backoff: () => 4000 });
    await c.api['settings.update']({ gatewayQueueTimeoutSeconds: 1 });
    const s = await c.api['services.create']({ name: 'cr', engine: 'crashy', restartPolicy: 'always' });
    await c.api['services.start']({ name: 'cr', wait: true, timeoutMs: 20_000 });
    await waitFor(() => c.api['services.get']({ name: 'cr' }).then((x) => x.state === 'backoff'), 'backoff');
    const inBackoffAt = Date.now();

    const res = await chat('cr');
    expect(res.status).toBe(503);
    const retryAfter = Number(res.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(2);
    expect(retryAfter).toBeLessThanOrEqual(4);
    const err = await errorOf(res);
    expect(err.message).toMatch(/crash/i);
    expect(err.message).toMatch(/exited unexpectedly \(exit code 3\)/);
    expect(err.message).toMatch(/\d+ s/);

    await new Promise((r) => setTimeout(r, 500));
    const after = await c.api['services.get']({ name: 'cr' });
    expect(after.state).toBe('backoff');
    expect(after.restarts).toBe(1);
    expect(eventsOf(c, s.id).filter((e) => e.to === 'starting' && e.at >= inBackoffAt)).toEqual([]);
  });

  it('a crash loop under steady traffic still ends failed after the crash limit', async () => {
    const home = tempHome('aima-ondemand-');
    writeFakeEngine(home, 'crashy', ['--load-ms', '20', '--crash-after-ms', '100']);
    const { c, chat } = await core(home, { backoff: () => 100 });
    await c.api['settings.update']({ gatewayQueueTimeoutSeconds: 2 });
    await c.api['services.create']({ name: 'loop', engine: 'crashy', restartPolicy: 'always' });
    await c.api['services.start']({ name: 'loop', wait: true, timeoutMs: 20_000 });
    const deadline = Date.now() + 25_000;
    let state = '';
    while (Date.now() < deadline) {
      await (await chat('loop')).arrayBuffer();
      state = (await c.api['services.get']({ name: 'loop' })).state;
      if (state === 'failed') break;
    }
    expect(state).toBe('failed');
    expect((await c.api['services.get']({ name: 'loop' })).reason).toMatch(/gave up after 10 crashes in a row/);
  }, 40_000);

  it('a failed service is not restarted by a request (503 naming the failure and `aima service start`); an explicit start starts it and resets the count', async () => {
    const home = tempHome('aima-ondemand-');
    writeFakeEngine(home, 'crashy', ['--load-ms', '20', '--crash-after-ms', '150']);
    const { c, chat } = await core(home, {});
    const s = await c.api['services.create']({ name: 'dead', engine: 'crashy', restartPolicy: 'never' });
    await c.api['services.start']({ name: 'dead', wait: true, timeoutMs: 20_000 });
    await waitFor(() => c.api['services.get']({ name: 'dead' }).then((x) => x.state === 'failed'), 'failed');
    const failedAt = Date.now();

    const res = await chat('dead');
    expect(res.status).toBe(503);
    const err = await errorOf(res);
    expect(err.code).toBe('model_failed');
    expect(err.message).toMatch(/failed/);
    expect(err.message).toMatch(/exit code 3/);
    expect(err.message).toContain('aima service start dead');
    expect(eventsOf(c, s.id).filter((e) => e.to === 'starting' && e.at >= failedAt)).toEqual([]);
    expect((await c.api['services.get']({ name: 'dead' })).state).toBe('failed');

    const started = await c.api['services.start']({ name: 'dead', wait: true, timeoutMs: 20_000 });
    expect(started.state).toBe('running');
    expect(started.restarts).toBe(0);
  });

  it("a request during a backoff that ends within the queue wait waits for the timer's restart and is answered by the engine", async () => {
    const home = tempHome('aima-ondemand-');
    writeFakeEngine(home, 'crashy', ['--load-ms', '20', '--crash-after-ms', '800']);
    const { c, chat } = await core(home, { backoff: () => 1500 });
    await c.api['settings.update']({ gatewayQueueTimeoutSeconds: 10 });
    const s = await c.api['services.create']({ name: 'wb', engine: 'crashy', restartPolicy: 'always' });
    await c.api['services.start']({ name: 'wb', wait: true, timeoutMs: 20_000 });
    await waitFor(() => c.api['services.get']({ name: 'wb' }).then((x) => x.state === 'backoff'), 'backoff');

    const res = await chat('wb');
    // The fake engine answers with its pid: the request reached the restarted engine.
    expect(res.status).toBe(200);
    expect(((await res.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content).toBe(`pid ${(await c.api['services.get']({ name: 'wb' })).pid}`);
    const restart = eventsOf(c, s.id).find((e) => e.from === 'backoff' && e.to === 'starting');
    expect(restart?.event).toBe('backoff-elapsed');
    expect((await c.api['services.get']({ name: 'wb' })).restarts).toBeGreaterThanOrEqual(1);
  });
});
