/**
 * The scheduler with real services: embedded LLM workers on stories260K under a small RAM budget
 * (the servicesMemoryCapMiB setting, sized from the workers' measured RSS), requests through the
 * gateway with the official OpenAI client. A start that needs room stops the idle service and
 * never the busy or the pinned one (or is refused naming them); an idle TTL stops a service and
 * the next request brings it back.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { createCore, type Core } from '../../src/core/core.js';
import { ServicesRepo } from '../../src/core/store/repositories/services-repo.js';
import type { AimaError } from '../../src/shared/errors.js';
import { tempHome } from '../support/cli.js';
import { waitFor } from '../support/services.js';
import { requirePart, sharedModel } from '../support/system.js';

const GGUF = sharedModel('stories260K/stories260K.gguf');
const TOKEN = 'scheduler-test-token';
const MiB = 1024 * 1024;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => {});
});

async function core(home: string) {
  const c = await createCore({ dataDir: home, host: 'serve', token: TOKEN, serviceTiming: { stopGraceMs: 3000 }, scheduler: { idleCheckMs: 200 } });
  cleanups.push(() => c.close({ stopServices: true }));
  const server = http.createServer((req, res) => {
    const [p, query = ''] = req.url!.split('?');
    if (!c.routes.some((route) => route(req, res, p!, query))) res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => (server.closeAllConnections(), server.close(() => r()))));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: TOKEN, maxRetries: 0 });
  const metrics = async () => (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
  return { c, client, metrics };
}

/** One model per service (a copy of stories260K each: the library imports a file once), so each request reaches the service meant. */
async function llmService(c: Core, name: string, extra: { pinned?: boolean; idleTtl?: number } = {}) {
  const copy = path.join(c.paths.dataDir, `stories-${name}.gguf`);
  copyFileSync(GGUF, copy);
  await c.api['models.import']({ path: copy, name: `stories-${name}` });
  return c.api['services.create']({ name, model: `stories-${name}`, engine: 'aima-llm', threads: 1, ctxSize: 512, ...extra });
}

/** RSS of a process and its children, read from /proc the way a person would check it. */
function treeRss(pid: number): number {
  let sum = 0;
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop()!;
    try {
      sum += Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0) * 1024;
      const kids = readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim();
      if (kids) stack.push(...kids.split(/\s+/).map(Number));
    } catch {
      // gone
    }
  }
  return sum;
}

const refusal = (p: Promise<unknown>) => p.then(() => null, (e: unknown) => e as AimaError);

describe('scheduler: real services under a small RAM budget', () => {
  it('a start that needs room: refused naming the busy and the pinned service while the idle one is not enough; then the idle one (LRU) is evicted, with the reason in its state, log and events', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    ctx.skip(process.platform !== 'linux', 'measures RSS through /proc (Linux)');
    const { c, client, metrics } = await core(tempHome('aima-sched-'));
    await c.api['settings.update']({ antiThrashSeconds: 0 });
    for (const [n, o] of [['idle', {}], ['busy', {}], ['pin', { pinned: true }], ['next', {}]] as const) await llmService(c, n, o);
    for (const n of ['idle', 'busy', 'pin']) await c.api['services.start']({ name: n, wait: true, timeoutMs: 120_000 });
    // "idle" was used first, then the others: it is the least recently used.
    await client.completions.create({ model: 'stories-idle', prompt: 'Once upon a time', max_tokens: 5, temperature: 0 });
    await client.completions.create({ model: 'stories-pin', prompt: 'Once upon a time', max_tokens: 5, temperature: 0 });

    // "busy": a queue of long completions keeps requests in flight while the next start is placed.
    const acs = Array.from({ length: 40 }, () => new AbortController());
    const load = acs.map((ac) => client.completions.create({ model: 'stories-busy', prompt: 'Once upon a time', max_tokens: 400, temperature: 1 }, { signal: ac.signal }).catch(() => null));
    const stopLoad = async () => {
      for (const ac of acs) ac.abort();
      await Promise.all(load);
    };
    cleanups.push(stopLoad);
    await new Promise((r) => setTimeout(r, 300));

    const rss = Object.fromEntries(await Promise.all(['idle', 'busy', 'pin'].map(async (n) => [n, treeRss((await c.api['services.get']({ name: n })).pid!)] as const)));
    const sum = rss.idle! + rss.busy! + rss.pin!;
    const biggest = Math.max(rss.idle!, rss.busy!, rss.pin!);

    // Room for less than the idle service gives: refused, nothing stopped.
    await c.api['settings.update']({ servicesMemoryCapMiB: Math.floor((sum - 0.7 * biggest) / MiB) });
    const refused = await refusal(c.api['services.start']({ name: 'next', wait: true, timeoutMs: 60_000 }));
    expect(refused?.message).toMatch(/^Service "next" does not fit: it needs [\d.]+ MiB on the services' memory cap/);
    expect(refused?.message).toMatch(/"busy" \([\d.]+ MiB, serving requests\)/);
    expect(refused?.message).toMatch(/"pin" \([\d.]+ MiB, pinned\)/);
    expect(refused?.fix).toMatch(/servicesMemoryCapMiB/);
    // The same refusal reaches a client whose request would start it on demand: 503 with the reason.
    const viaGateway = await client.completions.create({ model: 'stories-next', prompt: 'Once', max_tokens: 2 }).then(
      () => null,
      (e: unknown) => e as { status: number; message: string },
    );
    expect(viaGateway?.status).toBe(503);
    expect(viaGateway?.message).toMatch(/Service "next" does not fit: .*"busy" \([\d.]+ MiB, serving requests\)/);
    const states = await c.api['services.list']({});
    expect(Object.fromEntries(states.map((s) => [s.name, s.state]))).toEqual({ busy: 'running', idle: 'running', next: 'stopped', pin: 'running' });

    // Room once the idle service is stopped: it is, and only it.
    await c.api['settings.update']({ servicesMemoryCapMiB: Math.floor((sum + 0.4 * biggest) / MiB) });
    const t0 = performance.now();
    const next = await c.api['services.start']({ name: 'next', wait: true, timeoutMs: 120_000 });
    const evictionToReadyMs = performance.now() - t0;
    expect(next.state).toBe('running');
    expect(next.placement).toMatchObject({ device: 'cpu', evicted: ['idle'] });
    expect(next.placement!.decision).toMatch(/^on the CPU: needs [\d.]+ MiB of RAM, .* stopping "idle" \(idle, [\d.]+ MiB\) first$/);
    const idle = await c.api['services.get']({ name: 'idle' });
    expect(idle).toMatchObject({ state: 'stopped', evictions: 1 });
    expect(idle.reason).toMatch(/^stopped to make room for "next" \(it needs [\d.]+ MiB of RAM\); "idle" was idle for \d+s, the least recently used$/);
    expect((await c.api['services.get']({ name: 'busy' })).state).toBe('running');
    expect((await c.api['services.get']({ name: 'pin' })).state).toBe('running');
    expect((await c.api['services.logs']({ name: 'idle' })).lines.join('\n')).toMatch(/--- aima: evicted: stopped to make room for "next"/);
    expect((await c.api['services.logs']({ name: 'next' })).lines.join('\n')).toMatch(/--- aima: placement: on the CPU/);
    expect(new ServicesRepo(c.db).events(idle.id).map((e) => e.event)).toContain('evict');
    await stopLoad();
    const text = await metrics();
    expect(text).toContain('aima_service_evictions_total{service="idle"} 1');
    expect(text).toContain('aima_service_evictions_total{service="busy"} 0');
    expect(text).toContain('aima_service_state{service="idle",state="stopped"} 1');
    expect(text).toMatch(/aima_service_memory_rss_bytes\{service="next"\} [1-9]\d{6,}/);
    console.log(`eviction-to-ready (stories260K, cap-bound start): ${Math.round(evictionToReadyMs)} ms`);
  }, 240_000);

  it('anti-thrash: a service started within the window is not stopped to make room; the refusal says so', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    ctx.skip(process.platform !== 'linux', 'measures RSS through /proc (Linux)');
    const { c } = await core(tempHome('aima-sched-'));
    await c.api['settings.update']({ antiThrashSeconds: 600 });
    await llmService(c, 'first');
    await llmService(c, 'second');
    const first = await c.api['services.start']({ name: 'first', wait: true, timeoutMs: 120_000 });
    const rss = treeRss(first.pid!);
    await c.api['settings.update']({ servicesMemoryCapMiB: Math.floor((rss * 1.4) / MiB) });
    const refused = await refusal(c.api['services.start']({ name: 'second', wait: true, timeoutMs: 60_000 }));
    expect(refused?.message).toMatch(/"first" \([\d.]+ MiB, started within the last 600 s \(anti-thrash window\)\)/);
    expect(refused?.fix).toMatch(/^"first" started moments ago and is not stopped again to make room \(no thrashing\): try again in \d+ s/);
    expect((await c.api['services.get']({ name: 'first' })).state).toBe('running');
    expect((await c.api['services.get']({ name: 'second' })).state).toBe('stopped');
    // Outside the window the same start evicts it.
    await c.api['settings.update']({ antiThrashSeconds: 0 });
    expect((await c.api['services.start']({ name: 'second', wait: true, timeoutMs: 120_000 })).placement?.evicted).toEqual(['first']);
  }, 240_000);

  it('restore at core start goes through the placement: with room for one, the second restore is refused (anti-thrash) and says why', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    ctx.skip(process.platform !== 'linux', 'measures RSS through /proc (Linux)');
    const home = tempHome('aima-sched-');
    const first = await core(home);
    for (const n of ['r1', 'r2']) {
      await llmService(first.c, n);
      await first.c.api['services.start']({ name: n, wait: true, timeoutMs: 120_000 });
    }
    await first.c.api['services.plan']({ name: 'r1' }); // a placement's measurement stores each one's largest RSS
    const peak = Math.max(...new ServicesRepo(first.c.db).list().map((r) => r.peakRss ?? 0));
    expect(peak).toBeGreaterThan(10 * MiB);
    await first.c.api['settings.update']({ servicesMemoryCapMiB: Math.floor((peak * 1.5) / MiB) });
    await first.c.close({ stopServices: true }); // desired states stay "running": the next core restores both

    const { c } = await core(home);
    expect((await c.api['services.get']({ name: 'r1' })).placement?.decision).toMatch(/^on the CPU/);
    const r2 = await c.api['services.get']({ name: 'r2' });
    expect(r2.state).toBe('failed');
    expect(r2.reason).toMatch(/^Could not restore at core start: Service "r2" does not fit: .*"r1" \([\d.]+ MiB, started within the last 30 s \(anti-thrash window\)\)/);
  }, 240_000);

  it('idle TTL: a service idle past its TTL stops with the reason, and the next OpenAI request starts it again on demand', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const { c, client, metrics } = await core(tempHome('aima-sched-'));
    await llmService(c, 'nap', { idleTtl: 2 });
    // Start on demand by the first request.
    const r1 = await client.completions.create({ model: 'stories-nap', prompt: 'Once upon a time', max_tokens: 8, temperature: 0 });
    expect(r1.choices[0]!.text).toMatch(/there was a little girl/);
    const running = await c.api['services.get']({ name: 'nap' });
    expect(running).toMatchObject({ state: 'running', idleTtl: 2 });
    // Not stopped while used: a request every half second keeps it.
    for (let i = 0; i < 6; i++) {
      await client.completions.create({ model: 'stories-nap', prompt: 'Once', max_tokens: 2, temperature: 0 });
      await new Promise((r) => setTimeout(r, 500));
    }
    expect((await c.api['services.get']({ name: 'nap' })).state).toBe('running');
    const stopped = await waitFor(async () => {
      const s = await c.api['services.get']({ name: 'nap' });
      return s.state === 'stopped' ? s : null;
    }, 'idle stop', 15_000);
    expect(stopped.reason).toMatch(/^idle for 2s \(no request since .*\); the next request starts it again$/);
    expect((await c.api['services.logs']({ name: 'nap' })).lines.join('\n')).toMatch(/--- aima: idle unload: idle for 2s/);
    expect(new ServicesRepo(c.db).events(stopped.id).map((e) => e.event)).toContain('idle');
    expect(await metrics()).toContain('aima_service_idle_unloads_total{service="nap"} 1');
    // The next request brings it back.
    const r2 = await client.completions.create({ model: 'stories-nap', prompt: 'Once upon a time', max_tokens: 8, temperature: 0 });
    expect(r2.choices[0]!.text).toMatch(/there was a little girl/);
    expect((await c.api['services.get']({ name: 'nap' })).state).toBe('running');
  }, 120_000);

  it('the on-demand default TTL applies to services started on demand, not to ones the user started', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const { c, client } = await core(tempHome('aima-sched-'));
    await c.api['settings.update']({ onDemandIdleTtlSeconds: 1 });
    await llmService(c, 'auto');
    await llmService(c, 'manual');
    await client.completions.create({ model: 'stories-auto', prompt: 'Once', max_tokens: 2 });
    await c.api['services.start']({ name: 'manual', wait: true, timeoutMs: 120_000 });
    await waitFor(async () => (await c.api['services.get']({ name: 'auto' })).state === 'stopped', 'auto idle stop', 15_000);
    await new Promise((r) => setTimeout(r, 1500));
    expect((await c.api['services.get']({ name: 'manual' })).state).toBe('running');
  }, 120_000);
});
