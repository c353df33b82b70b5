/**
 * One face per feature: a feature registered only in the core's feature list (through the
 * `extraFeatures` test seam of hostCore) gets its call served on /api/call/<name>, its HTTP route
 * and its WebSocket upgrade, its startup run as part of the core's, and its close called — with
 * no edit to the HTTP host. Its call is not in the contract, so it brings its own schemas; the
 * contract's calls stay validated by the contract.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { WebSocket, WebSocketServer } from 'ws';
import { z } from 'zod';
import { hostCore, type HostedCore } from '../../src/core/host.js';
import type { TestFeature } from '../../src/core/feature.js';
import { tempHome } from '../support/cli.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function probeFeature() {
  const state = { startups: 0, closed: false };
  const wss = new WebSocketServer({ noServer: true });
  let ready!: () => void;
  const started = new Promise<void>((r) => (ready = r));
  const feature: TestFeature = {
    calls: {},
    uncontractedCalls: {
      'probe.echo': {
        params: z.object({ text: z.string() }).strict(),
        result: z.object({ echo: z.string(), started: z.boolean() }),
        // A call that needs the slow part waits for the feature's startup, as services' calls do.
        handler: async (p: { text: string }) => {
          await started;
          return { echo: p.text, started: state.startups === 1 };
        },
      },
    },
    routes: [
      (_req, res, path) => {
        if (path !== '/probe/hello') return false;
        res.writeHead(200, { 'content-type': 'text/plain' }).end('hello from the probe feature');
        return true;
      },
    ],
    upgrades: [
      (req, socket, head, url) => {
        if (url.pathname !== '/api/probe') return false;
        wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (m) => ws.send(`probe: ${String(m)}`)));
        return true;
      },
    ],
    async startup() {
      state.startups++;
      ready();
    },
    close() {
      state.closed = true;
      wss.close();
    },
  };
  return { feature, state };
}

async function host(): Promise<{ hosted: HostedCore; probe: ReturnType<typeof probeFeature> }> {
  const home = tempHome('aima-feature-list-');
  cleanups.push(() => rmSync(home, { recursive: true, force: true }));
  const probe = probeFeature();
  const result = await hostCore({ dataDir: home, owner: 'serve', port: 0, extraFeatures: [probe.feature] });
  if (result.kind !== 'hosted') throw new Error('expected to host the core');
  cleanups.push(() => result.stop());
  return { hosted: result, probe };
}

const call = (h: HostedCore, name: string, params: unknown) =>
  fetch(`${h.server.url}/api/call/${name}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${h.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(params),
  });

describe('a feature registered only in the feature list', () => {
  it('gets its call, route and upgrade served, its startup run and its close called', async () => {
    const { hosted, probe } = await host();

    const res = await call(hosted, 'probe.echo', { text: 'hi' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ result: { echo: 'hi', started: true } });
    expect(probe.state.startups).toBe(1);
    await hosted.core.startup();
    expect(probe.state.startups).toBe(1); // once

    const route = await fetch(`${hosted.server.url}/probe/hello`);
    expect(route.status).toBe(200);
    expect(await route.text()).toBe('hello from the probe feature');

    const ws = new WebSocket(`${hosted.server.url.replace(/^http/, 'ws')}/api/probe`, { headers: { authorization: `Bearer ${hosted.token}` } });
    const reply = await new Promise<string>((resolve, reject) => {
      ws.on('open', () => ws.send('ping'));
      ws.on('message', (m) => resolve(String(m)));
      ws.on('error', reject);
    });
    ws.close();
    expect(reply).toBe('probe: ping');

    // The host's checks still come first: no token, no upgrade.
    const refused = new WebSocket(`${hosted.server.url.replace(/^http/, 'ws')}/api/probe`);
    const status = await new Promise<number>((resolve) => refused.on('unexpected-response', (_req, r) => resolve(r.statusCode ?? 0)));
    expect(status).toBe(401);

    await hosted.stop();
    expect(probe.state.closed).toBe(true);
  });

  it('validates its call by its own schemas, and contract calls by the contract', async () => {
    const { hosted } = await host();
    const bad = await call(hosted, 'probe.echo', { text: 42 });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/Invalid parameters for probe\.echo/);

    const contractBad = await call(hosted, 'models.get', { name: 42 });
    expect(contractBad.status).toBe(400);
    expect(((await contractBad.json()) as { error: { message: string } }).error.message).toMatch(/Invalid parameters for models\.get/);

    const unknown = await call(hosted, 'probe.nothing', {});
    expect(unknown.status).toBe(404);
  });

  it('may not replace a contract call', async () => {
    const home = tempHome('aima-feature-list-');
    cleanups.push(() => rmSync(home, { recursive: true, force: true }));
    const impostor: TestFeature = {
      calls: {},
      uncontractedCalls: { 'core.info': { params: z.object({}), result: z.unknown(), handler: async () => ({}) } },
      close() {},
    };
    await expect(hostCore({ dataDir: home, owner: 'serve', port: 0, extraFeatures: [impostor] })).rejects.toThrow(/names a contract call/);
  });
});
