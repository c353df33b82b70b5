/**
 * Replicas end to end in an in-process core: `services.create` with replicas and `services.scale`
 * make sibling services (real engine processes) behind one model name; the gateway spreads
 * requests over them; a replica whose process is killed ends its streams with an error event
 * naming it, leaves rotation through its state, and every later request is answered by the
 * others. Bad counts, a fixed port and a missing service are refused with nothing changed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI, { APIError } from 'openai';
import { createCore, type Core } from '../../src/core/core.js';
import { dispatchCall } from '../../src/core/api/dispatch.js';
import { tempHome } from '../support/cli.js';
import { waitFor, writeFakeEngine } from '../support/services.js';
import { requirePart, sharedModel } from '../support/system.js';

const TOKEN = 'replicas-test-token';
const GGUF = sharedModel('stories260K/stories260K.gguf');
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => {});
});

/** A core whose fake engine (real processes) serves the imported model "stories". */
async function core(engineArgs: string[] = []) {
  const home = tempHome('aima-replicas-');
  writeFakeEngine(home, 'fake', ['--load-ms', '20', ...engineArgs]);
  const c = await createCore({ dataDir: home, host: 'serve', token: TOKEN, serviceTiming: { stopGraceMs: 2000 } });
  cleanups.push(() => c.close({ stopServices: true }));
  await c.api['models.import']({ path: GGUF, name: 'stories' });
  const server = http.createServer((req, res) => {
    const [p, query = ''] = req.url!.split('?');
    if (!c.routes.some((route) => route(req, res, p!, query))) res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => (server.closeAllConnections(), server.close(() => r()))));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: TOKEN, maxRetries: 0 });
  const chat = () => fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, body: JSON.stringify({ model: 'stories', messages: [{ role: 'user', content: 'hi' }] }) });
  return { c, client, chat };
}

const names = async (c: Core) => (await c.api['services.list']({})).map((s) => [s.name, s.replicaOf]);
/** A call as the HTTP and IPC adapters make it: parameters checked against the contract first. */
const call = (c: Core, name: string, params: unknown) => dispatchCall(c.api, name, params);
const refusal = async (p: Promise<unknown>) => {
  const err = (await p.then(() => null, (e: unknown) => e)) as { message: string; fix?: string } | null;
  expect(err, 'expected a refusal').not.toBeNull();
  return `${err!.message} ${err!.fix ?? ''}`;
};

describe('replicas of a service', () => {
  it("replicas take their primary's idle TTL and pin; an update of the primary reaches them, one of a replica only itself", async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const { c } = await core();
    await c.api['services.create']({ name: 'chat', model: 'stories', engine: 'fake', replicas: 2, idleTtl: 600, pinned: true });
    const policy = async () => (await c.api['services.list']({})).map((s) => [s.name, s.idleTtl, s.pinned]);
    expect(await policy()).toEqual([
      ['chat', 600, true],
      ['chat-2', 600, true],
    ]);
    await c.api['services.scale']({ name: 'chat', replicas: 3 });
    expect((await c.api['services.get']({ name: 'chat-3' })).pinned).toBe(true);
    await c.api['services.update']({ name: 'chat', idleTtl: 0, pinned: false });
    expect(await policy()).toEqual([
      ['chat', 0, false],
      ['chat-2', 0, false],
      ['chat-3', 0, false],
    ]);
    await c.api['services.update']({ name: 'chat-2', pinned: true });
    expect(await policy()).toEqual([
      ['chat', 0, false],
      ['chat-2', 0, true],
      ['chat-3', 0, false],
    ]);
  });

  it('create with 3 replicas, start them all, spread requests, scale down and up, remove the primary with them', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const { c, chat } = await core(['--delay-ms', '1000']);
    const created = await c.api['services.create']({ name: 'chat', model: 'stories', engine: 'fake', replicas: 3, concurrency: 2 });
    expect(created.replicaOf).toBeNull();
    expect(await names(c)).toEqual([
      ['chat', null],
      ['chat-2', 'chat'],
      ['chat-3', 'chat'],
    ]);
    const all = await c.api['services.list']({});
    expect(all.every((s) => s.model === 'stories' && s.engine === 'fake' && s.concurrency === 2 && s.configuredPort === 0)).toBe(true);

    await c.api['services.start']({ name: 'chat', wait: true, timeoutMs: 20_000 });
    await waitFor(async () => (await c.api['services.list']({})).every((s) => s.state === 'running'), 'all three running');
    const ports = new Set((await c.api['services.list']({})).map((s) => s.port));
    expect(ports.size).toBe(3);

    const results = await Promise.all(Array.from({ length: 6 }, () => chat()));
    expect(results.map((r) => r.status)).toEqual(Array(6).fill(200));
    // Six requests at once over three idle replicas of two slots: two each.
    const served = results.map((r) => r.headers.get('x-aima-replica')).sort();
    expect(served).toEqual(['chat', 'chat', 'chat-2', 'chat-2', 'chat-3', 'chat-3']);

    const down = await c.api['services.scale']({ name: 'chat', replicas: 2 });
    expect(down).toMatchObject({ name: 'chat', added: [], removed: ['chat-3'] });
    expect(await names(c)).toEqual([
      ['chat', null],
      ['chat-2', 'chat'],
    ]);
    const up = await c.api['services.scale']({ name: 'chat', replicas: 4 });
    expect(up.added).toEqual(['chat-3', 'chat-4']);
    // The primary runs, so the new replicas start too.
    await waitFor(async () => (await c.api['services.list']({})).filter((s) => s.state === 'running').length === 4, 'four running');

    const removed = await c.api['services.remove']({ name: 'chat' });
    expect(removed).toEqual({ name: 'chat', removed: true });
    expect(await c.api['services.list']({})).toEqual([]);
  });

  it('two embedded LLM workers on stories260K as replicas: concurrent completions go to both, each with the documented continuation', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const { c, client } = await core();
    await c.api['services.create']({ name: 'story', model: 'stories', engine: 'aima-llm', replicas: 2, threads: 1 });
    await c.api['services.start']({ name: 'story', wait: true, timeoutMs: 120_000 });
    await waitFor(async () => (await c.api['services.list']({})).every((s) => s.state === 'running'), 'both workers running', 120_000);
    const answers = await Promise.all([1, 2].map(() => client.completions.create({ model: 'stories', prompt: 'Once upon a time', max_tokens: 20, temperature: 0 }).withResponse()));
    expect(answers.map((a) => a.response.headers.get('x-aima-replica')).sort()).toEqual(['story', 'story-2']);
    for (const a of answers) expect(a.data.choices[0]!.text).toMatch(/^,? there was a little girl named Lily/);
  }, 180_000);

  it("replicas of a service without a model are routed by the primary's name", async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const { c, client } = await core();
    await c.api['services.create']({ name: 'voice', engine: 'fake', replicas: 2 });
    await c.api['services.start']({ name: 'voice', wait: true, timeoutMs: 20_000 });
    await waitFor(async () => (await c.api['services.list']({})).every((s) => s.state === 'running'), 'both running');
    const models = await client.models.list();
    expect(models.data.map((m) => [m.id, (m as unknown as { aima: { aliases: string[] } }).aima.aliases])).toEqual([['voice', ['voice-2']]]);
    const answers = await Promise.all([1, 2].map(() => client.chat.completions.create({ model: 'voice', messages: [{ role: 'user', content: 'hi' }] }).withResponse()));
    expect(answers.map((a) => a.response.headers.get('x-aima-replica')).sort()).toEqual(['voice', 'voice-2']);
  });

  it('bad counts, a fixed port, a missing service and a replica are refused, and nothing changes', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const { c } = await core();
    await c.api['services.create']({ name: 'solo', model: 'stories', engine: 'fake', port: 18_517 });
    await c.api['services.create']({ name: 'pair', model: 'stories', engine: 'fake', replicas: 2 });
    const before = await c.api['services.list']({});

    expect(await refusal(call(c, 'services.create', { name: 'x', model: 'stories', engine: 'fake', replicas: 0 }))).toMatch(/Invalid parameters for services\.\w+: replicas: replicas must be at least 1 \(the service itself\)/);
    expect(await refusal(call(c, 'services.create', { name: 'x', model: 'stories', engine: 'fake', replicas: 1000 }))).toMatch(/replicas: replicas must be at most 64/);
    expect(await refusal(c.api['services.create']({ name: 'x', model: 'stories', engine: 'fake', replicas: 2, port: 18_518 }))).toMatch(/2 replicas cannot share the fixed port 18518.*Leave out --port/);
    expect(await refusal(c.api['services.scale']({ name: 'solo', replicas: 2 }))).toMatch(/fixed port 18517/);
    expect(await refusal(call(c, 'services.scale', { name: 'pair', replicas: 0 }))).toMatch(/Invalid parameters for services\.\w+: replicas: replicas must be at least 1 \(the service itself\)/);
    expect(await refusal(call(c, 'services.scale', { name: 'pair', replicas: 1000 }))).toMatch(/replicas: replicas must be at most 64/);
    expect(await refusal(c.api['services.scale']({ name: 'ghost', replicas: 2 }))).toMatch(/ghost/);
    expect(await refusal(c.api['services.scale']({ name: 'pair-2', replicas: 3 }))).toMatch(/"pair-2" is a replica of "pair".*aima service scale pair N/);
    // A replica name taken by a service of its own.
    await c.api['services.create']({ name: 'pair-3', model: 'stories', engine: 'fake' });
    const withPair3 = await c.api['services.list']({});
    expect(await refusal(c.api['services.scale']({ name: 'pair', replicas: 3 }))).toMatch(/"pair-3" already exists/);
    expect(await refusal(c.api['services.create']({ name: 'pair', model: 'stories', engine: 'fake', replicas: 3 }))).toMatch(/already exists/);

    const strip = (list: typeof before) => list.map((s) => ({ name: s.name, replicaOf: s.replicaOf, port: s.configuredPort, state: s.state }));
    expect(strip(await c.api['services.list']({}))).toEqual(strip(withPair3));
    expect(strip(withPair3).filter((s) => s.name !== 'pair-3')).toEqual(strip(before));
  });

  it('a replica killed mid-stream ends that stream with an error event naming it; every later request is answered', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const { c, client } = await core(['--tokens', '400', '--token-ms', '10']);
    await c.api['services.create']({ name: 'chat', model: 'stories', engine: 'fake', replicas: 2, restartPolicy: 'never' });
    await c.api['services.start']({ name: 'chat', wait: true, timeoutMs: 20_000 });
    await waitFor(async () => (await c.api['services.list']({})).every((s) => s.state === 'running'), 'both running');

    const { data: stream, response } = await client.chat.completions.create({ model: 'stories', messages: [{ role: 'user', content: 'hi' }], stream: true }).withResponse();
    const victim = response.headers.get('x-aima-replica')!;
    expect(['chat', 'chat-2']).toContain(victim);
    const pid = (await c.api['services.get']({ name: victim })).pid!;
    let text = '';
    let killed = false;
    const err = await (async () => {
      try {
        for await (const chunk of stream) {
          text += chunk.choices[0]?.delta?.content ?? '';
          if (!killed) {
            killed = true;
            process.kill(pid, 'SIGKILL');
          }
        }
        return null;
      } catch (e) {
        return e;
      }
    })();
    expect(text).toContain(`pid${pid}-t0`);
    expect(err).toBeInstanceOf(APIError);
    expect((err as APIError).message).toMatch(new RegExp(`service "${victim}" \\(serving "stories"\\) stopped in the middle of this answer`));

    // Every later request is answered, by the replica that still runs.
    const survivor = victim === 'chat' ? 'chat-2' : 'chat';
    const answers = await Promise.all(Array.from({ length: 8 }, () => client.chat.completions.create({ model: 'stories', messages: [{ role: 'user', content: 'hi' }] }).withResponse()));
    for (const a of answers) expect(a.response.headers.get('x-aima-replica')).toBe(survivor);
    await waitFor(async () => (await c.api['services.get']({ name: victim })).state !== 'running', 'the killed replica out of running');
    const after = await Promise.all(Array.from({ length: 4 }, () => client.chat.completions.create({ model: 'stories', messages: [{ role: 'user', content: 'hi' }] })));
    const survivorPid = (await c.api['services.get']({ name: survivor })).pid;
    expect(after.map((a) => a.choices[0]!.message.content)).toEqual(Array(4).fill(`pid ${survivorPid}`));
  });
});
