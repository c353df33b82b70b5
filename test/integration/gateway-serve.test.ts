/**
 * The gateway on `aima serve`'s port: API keys on /v1 and /api, CORS, a remote endpoint with a
 * key (a second local server plays the remote), Prometheus /metrics parsed by a text-format
 * parser, and a flood of malformed requests that must not grow the core's memory.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import OpenAI from 'openai';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { runAima, startServe, tempHome, type ServeHandle } from '../support/cli.js';
import { startFakeOpenAI, type FakeOpenAI } from '../support/fake-openai.js';

let serve: ServeHandle;
let home: string;
let remote: FakeOpenAI;
const REMOTE_KEY = 'sk-remote-secret';

beforeAll(async () => {
  home = tempHome();
  remote = await startFakeOpenAI({ requireKey: REMOTE_KEY });
  serve = await startServe({ AIMA_HOME: home });
});
afterAll(async () => {
  await serve?.stop();
  await remote?.close();
});

const api = (name: string, body: unknown, headers: Record<string, string> = { authorization: `Bearer ${serve.token}` }) =>
  fetch(`${serve.url}/api/call/${name}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

describe('gateway on the core port', () => {
  it('routes a remote endpoint registered with a key; the key is sent upstream but not stored in SQLite', async () => {
    const add = await runAima(['remote', 'add', 'far', '--url', remote.url + '/v1', '--model', 'far-llm', '--key-env', 'FAR_KEY'], { AIMA_HOME: home, FAR_KEY: REMOTE_KEY });
    expect(add.stderr).toBe('');
    expect(add.stdout).toContain('Added "far"');
    const client = new OpenAI({ baseURL: `${serve.url}/v1`, apiKey: 'unused-locally' });
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toContain('far-llm');
    const answer = await client.chat.completions.create({ model: 'far-llm', messages: [{ role: 'user', content: 'hi' }] });
    expect(answer.choices[0]!.message.content).toBe('hello there');
    expect(remote.seenAuth.at(-1)).toBe(`Bearer ${REMOTE_KEY}`);
    const stream = await client.chat.completions.create({ model: 'far/far-llm', messages: [{ role: 'user', content: 'hi' }], stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    expect(text).toBe('t0 t1 t2 t3 t4 ');
    expect(readFileSync(`${home}/aima.db`).includes(Buffer.from(REMOTE_KEY))).toBe(false);
  });

  it('CORS: an unlisted origin is refused, a listed one gets the allow headers', async () => {
    const denied = await fetch(`${serve.url}/v1/models`, { headers: { origin: 'http://evil.example' } });
    expect(denied.status).toBe(403);
    expect(await denied.json()).toMatchObject({ error: { code: 'cors_origin_denied' } });
    await api('settings.update', { corsOrigins: ['http://localhost:5173'] });
    await new Promise((r) => setTimeout(r, 1100)); // the gateway re-reads settings once a second
    const allowed = await fetch(`${serve.url}/v1/models`, { headers: { origin: 'http://localhost:5173' } });
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    const preflight = await fetch(`${serve.url}/v1/chat/completions`, { method: 'OPTIONS', headers: { origin: 'http://localhost:5173' } });
    expect(preflight.status).toBe(204);
  });

  it('/metrics parses as Prometheus text and counts what was sent', async () => {
    const before = await metricValue('aima_gateway_requests_total', { model: 'far-llm', endpoint: '/v1/chat/completions', status: '200' });
    const client = new OpenAI({ baseURL: `${serve.url}/v1`, apiKey: 'x' });
    for (let i = 0; i < 3; i++) await client.chat.completions.create({ model: 'far-llm', messages: [{ role: 'user', content: 'hi' }] });
    const after = await metricValue('aima_gateway_requests_total', { model: 'far-llm', endpoint: '/v1/chat/completions', status: '200' });
    expect(after - before).toBe(3);
    const families = await metrics();
    const names = families.map((f) => f.name);
    expect(names).toEqual(expect.arrayContaining(['aima_gateway_request_duration_seconds', 'aima_gateway_time_to_first_token_seconds', 'aima_gateway_queue_depth', 'aima_gateway_tokens_per_second']));
    // This parser folds labelled histogram series together, so read the series' _count line directly.
    const text = await (await fetch(`${serve.url}/metrics`, { headers: { authorization: `Bearer ${serve.token}` } })).text();
    const count = /^aima_gateway_request_duration_seconds_count\{model="far-llm",endpoint="\/v1\/chat\/completions"\} (\d+)$/m.exec(text);
    expect(Number(count?.[1])).toBeGreaterThanOrEqual(3);
  });

  it('5,000 malformed requests leave the gateway serving, with RSS growth under 10 MB after warm-up', async () => {
    const bad = [
      () => fetch(`${serve.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model": "far-llm", "messages": [' }),
      () => fetch(`${serve.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model": 42}' }),
      () => fetch(`${serve.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'nope', messages: [] }) }),
      () => fetch(`${serve.url}/v1/audio/transcriptions`, { method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=xyz' }, body: '--xyz\r\nbroken' }),
      () => fetch(`${serve.url}/v1/nothing`, { method: 'POST', body: 'x' }),
      () => fetch(`${serve.url}/v1/embeddings`, { method: 'GET' }),
      () => fetch(`${serve.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'far-llm', messages: [{ role: 'user', content: 'x' }] }) }),
      () => fetch(`${serve.url}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'far-llm', input: [{ type: 'reasoning' }], store: true }) }),
    ];
    const send = async (n: number) => {
      const statuses = new Map<number, number>();
      for (let i = 0; i < n; i += 50) {
        const batch = await Promise.all(Array.from({ length: Math.min(50, n - i) }, (_, j) => bad[(i + j) % bad.length]!().then(async (r) => (await r.arrayBuffer(), r.status))));
        for (const s of batch) statuses.set(s, (statuses.get(s) ?? 0) + 1);
      }
      return statuses;
    };
    // Warm-up: JIT, V8 heap growth to its steady size, socket pools, modules the gateway loads on
    // first use. The core starts small (its heavy parts load when first needed), so its heap keeps
    // growing for longer than a core that loads everything at start: 8,000 requests cover it.
    await send(8000);
    const rssBefore = rssOf(serve.child.pid!);
    const statuses = await send(5000);
    const rssAfter = rssOf(serve.child.pid!);
    expect([...statuses.keys()].every((s) => s >= 400 && s < 500)).toBe(true);
    expect(rssAfter - rssBefore).toBeLessThan(10 * 1024 * 1024);
    const ok = await fetch(`${serve.url}/v1/models`);
    expect(ok.status).toBe(200);
  });

  it('with API keys configured, /v1 and /api need a live key: missing, wrong and revoked keys are 401', async () => {
    const created = JSON.parse((await runAima(['key', 'create', 'ci', '--json'], { AIMA_HOME: home })).stdout) as { key: string; info: { id: string } };
    expect(created.key).toMatch(/^aima-/);
    const v1 = (key?: string) => fetch(`${serve.url}/v1/models`, { headers: key ? { authorization: `Bearer ${key}` } : {} });
    const noKey = await v1();
    expect(noKey.status, await noKey.clone().text()).toBe(401);
    expect((await v1('aima-wrong')).status).toBe(401);
    expect((await v1(created.key)).status).toBe(200);
    expect((await api('settings.get', {}, {})).status).toBe(401);
    expect((await api('settings.get', {}, { authorization: `Bearer ${created.key}` })).status).toBe(200);
    const list = await runAima(['key', 'list', '--json'], { AIMA_HOME: home });
    expect(list.stdout).not.toContain(created.key);
    // A second key stays, so keys are still required after the first is revoked (with no live key
    // at all, local clients need none again).
    await runAima(['key', 'create', 'other'], { AIMA_HOME: home });
    await runAima(['key', 'revoke', 'ci'], { AIMA_HOME: home });
    expect((await v1(created.key)).status).toBe(401);
    expect((await v1()).status).toBe(401);
    expect((await api('settings.get', {}, { authorization: `Bearer ${created.key}` })).status).toBe(401);
    // The install token still works for the app itself.
    expect((await api('settings.get', {})).status).toBe(200);
  });
});

describe('binding beyond loopback', () => {
  it('is refused without API keys, and allowed once a key exists (requests from elsewhere need it)', async () => {
    const h = tempHome();
    const refused = await runAima(['serve', '--host', '0.0.0.0', '--port', '0'], { AIMA_HOME: h });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('no API key exists');
    const local = await startServe({ AIMA_HOME: h });
    const key = JSON.parse((await runAima(['key', 'create', 'lan', '--json'], { AIMA_HOME: h })).stdout).key as string;
    await local.stop();
    const wide = await startServe({ AIMA_HOME: h }, ['--host', '0.0.0.0']);
    try {
      const port = new URL(wide.url).port;
      // A request naming a non-loopback Host (as from another machine) needs the key.
      const asRemote = (headers: Record<string, string>) =>
        new Promise<number>((resolve, reject) => {
          const req = (globalThis as { process: NodeJS.Process }).process && require_http().request({ host: '127.0.0.1', port, path: '/v1/models', headers: { host: `lan-box:${port}`, ...headers } }, (res) => {
            res.resume();
            resolve(res.statusCode!);
          });
          req.on('error', reject);
          req.end();
        });
      expect(await asRemote({})).toBe(403);
      expect(await asRemote({ authorization: `Bearer ${key}` })).toBe(200);
      expect(await asRemote({ 'x-api-key': key })).toBe(200);
    } finally {
      await wide.stop();
    }
  });
});

import { createRequire } from 'node:module';
const require_http = () => createRequire(import.meta.url)('node:http') as typeof import('node:http');

function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

interface Family {
  name: string;
  metrics: { value?: string; count?: string; labels?: Record<string, string> }[];
}
async function metrics(): Promise<Family[]> {
  const text = await (await fetch(`${serve.url}/metrics`, { headers: { authorization: `Bearer ${serve.token}` } })).text();
  return parsePrometheusTextFormat(text) as Family[];
}
async function metricValue(name: string, labels: Record<string, string>): Promise<number> {
  const fam = (await metrics()).find((f) => f.name === name);
  const m = fam?.metrics.find((x) => Object.entries(labels).every(([k, v]) => x.labels?.[k] === v));
  return m ? Number(m.value) : 0;
}
