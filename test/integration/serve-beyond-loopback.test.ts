/**
 * `aima serve --host 0.0.0.0` (or `::`): the API keys that protect it cannot all be revoked while
 * it listens, a client on a non-loopback address gets nothing without a key whatever Host it
 * names (voice recordings included), and the CLI and the printed login URL reach the core over loopback.
 */
import { afterEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import os from 'node:os';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { runAima, startServe, tempHome, type ServeHandle } from '../support/cli.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** A data directory with one API key, and `aima serve` on it bound to `host`. */
async function wideServe(host: string): Promise<{ home: string; key: string; serve: ServeHandle; port: number }> {
  const home = tempHome();
  const created = await runAima(['key', 'create', 'lan', '--json'], { AIMA_HOME: home });
  expect(created.code, created.stderr).toBe(0);
  await runAima(['stop'], { AIMA_HOME: home });
  const serve = await startServe({ AIMA_HOME: home }, ['--host', host]);
  cleanups.push(() => serve.stop());
  return { home, key: JSON.parse(created.stdout).key as string, serve, port: Number(new URL(serve.loginUrl).port) };
}

/** GET over a raw connection to `address` (an address of this machine), naming any Host. */
function get(address: string, port: number, urlPath: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: address, port, path: urlPath, headers }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.on('error', reject);
    req.end();
  });
}

/** An IPv4 address of this machine that is not loopback: connecting to it makes it the peer address. */
const ownLanAddress = Object.values(os.networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

describe('a core bound beyond loopback', () => {
  it('refuses to revoke its last API key, saying why and what to do', async () => {
    const { serve, port } = await wideServe('0.0.0.0');
    const revoke = await fetch(`http://127.0.0.1:${port}/api/call/keys.revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${serve.token}` },
      body: JSON.stringify({ id: 'lan' }),
    });
    const body = (await revoke.json()) as { error?: { message: string; fix: string } };
    expect(revoke.status, JSON.stringify(body)).toBe(409);
    expect(body.error?.message).toContain('last API key');
    expect(body.error?.fix).toMatch(/aima stop.*127\.0\.0\.1/s);
    const list = await fetch(`http://127.0.0.1:${port}/api/call/keys.list`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${serve.token}` },
      body: '{}',
    });
    expect(((await list.json()) as { result: { revokedAt: string | null }[] }).result.map((k) => k.revokedAt)).toEqual([null]);
  });

  it.skipIf(!ownLanAddress)('answers a client on a non-loopback address 401 without a key, even naming a loopback Host', async () => {
    const { serve, key, port } = await wideServe('0.0.0.0');
    const asLoopback = { host: `127.0.0.1:${port}` };
    // The probe's steps: try to revoke the only key, then call from elsewhere naming a loopback Host.
    await fetch(`http://127.0.0.1:${port}/api/call/keys.revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${serve.token}` },
      body: JSON.stringify({ id: 'lan' }),
    });
    expect(await get(ownLanAddress!, port, '/v1/models', asLoopback)).toBe(401);
    expect(await get(ownLanAddress!, port, '/metrics', asLoopback)).toBe(401);
    expect(await get(ownLanAddress!, port, '/v1/models', { ...asLoopback, authorization: `Bearer ${key}` })).toBe(200);
    // Anthropic's clients send the key as x-api-key: it counts the same, from elsewhere too.
    expect(await get(ownLanAddress!, port, '/v1/models', { ...asLoopback, 'x-api-key': key })).toBe(200);
    expect(await get(ownLanAddress!, port, '/v1/models', { host: `lan-box:${port}`, 'x-api-key': key })).toBe(200);
    expect(await get(ownLanAddress!, port, '/v1/models', { host: `lan-box:${port}`, 'x-api-key': 'aima-wrong' })).toBe(403);
  });

  it.skipIf(!ownLanAddress)('serves voice recordings and exports from elsewhere only with a key, and never a path outside the recordings', async () => {
    const { key, port } = await wideServe('0.0.0.0');
    const conv = '00000000-0000-4000-8000-000000000000';
    const rec = `/api/voice/recordings/${conv}/${conv}-reply.flac`;
    for (const p of [rec, `/api/voice/export/${conv}.zip`]) {
      expect(await get(ownLanAddress!, port, p, { host: `127.0.0.1:${port}` }), p).toBe(401);
      expect(await get(ownLanAddress!, port, p, { host: `lan-box:${port}` }), p).toBe(403);
      expect(await get(ownLanAddress!, port, p, { host: `lan-box:${port}`, authorization: 'Bearer aima-wrong' }), p).toBe(403);
      // With the key the route answers: there is no such recording or conversation.
      expect(await get(ownLanAddress!, port, p, { host: `lan-box:${port}`, authorization: `Bearer ${key}` }), p).toBe(404);
    }
    for (const p of [`/api/voice/recordings/${conv}/..%2F..%2Faima.db`, `/api/voice/recordings/..%2F..%2F/token`, `/api/voice/recordings/${conv}/%2e%2e%2ftoken`]) {
      expect(await get(ownLanAddress!, port, p, { host: `lan-box:${port}`, authorization: `Bearer ${key}` }), p).toBe(400);
    }
  });

  it('publishes a loopback URL for 0.0.0.0: the CLI and the printed login URL work', async () => {
    const { home, serve, port } = await wideServe('0.0.0.0');
    expect(serve.loginUrl).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${port}/login\\?token=`));
    expect(JSON.parse(readFileSync(path.join(home, 'core.lock'), 'utf8')).url).toBe(`http://127.0.0.1:${port}`);
    const list = await runAima(['key', 'list'], { AIMA_HOME: home });
    expect(list.stderr).toBe('');
    expect(list.code).toBe(0);
    const login = await fetch(serve.loginUrl, { redirect: 'manual' });
    expect(login.status).toBe(302);
  });

  it('publishes [::1] for the IPv6 wildcard ::', async () => {
    const { home, serve, port } = await wideServe('::');
    expect(serve.loginUrl).toMatch(new RegExp(`^http://\\[::1\\]:${port}/login\\?token=`));
    const list = await runAima(['key', 'list'], { AIMA_HOME: home });
    expect(list.code, list.stderr).toBe(0);
    expect((await fetch(serve.loginUrl, { redirect: 'manual' })).status).toBe(302);
  });
});
