/**
 * What the desktop page gets for its own /v1 calls (the IPC_GATEWAY handler of app.ts): a
 * credential that the gateway accepts and /api refuses, never the install token — both when the
 * app hosts the core and when it attaches to a running `aima serve`. Electron is faked at its
 * module boundary; the core, its HTTP server and `aima serve` are real.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { IPC_GATEWAY } from '../../src/shared/ipc-channels.js';
import { startServe, tempHome } from '../support/cli.js';
import { repoRoot } from '../support/system.js';
import { FAKE_WINDOW_ID as WINDOW_ID, fakeElectron as fake, resetFakeElectron, runDesktopAppOn } from '../support/fake-electron.js';

vi.mock('electron', async () => (await import('../support/fake-electron.js')).electronModule);
vi.mock('../../src/main/window.js', async () => (await import('../support/fake-electron.js')).windowModule);
vi.mock('../../src/main/tray.js', async () => (await import('../support/fake-electron.js')).trayModule);

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
  resetFakeElectron();
});

/** Runs the desktop app's main process on `home`; returns what its page gets from IPC_GATEWAY. */
async function desktopPageAccess(home: string): Promise<{ url: string; token: string }> {
  cleanups.push(await runDesktopAppOn(home));
  const page = { sender: { id: WINDOW_ID }, senderFrame: { url: pathToFileURL(path.join(repoRoot, 'out', 'renderer', 'index.html')).href } };
  const access = await fake.handlers.get(IPC_GATEWAY)!(page);
  return access as { url: string; token: string };
}

/** Creates an API key, so /v1 needs a credential (without keys, loopback clients need none). */
async function requireKeys(url: string, installToken: string): Promise<void> {
  const res = await fetch(`${url}/api/call/keys.create`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${installToken}` },
    body: JSON.stringify({ name: 'editor' }),
  });
  expect(res.status).toBe(200);
}

async function expectGatewayOnly(access: { url: string; token: string }, installToken: string): Promise<void> {
  expect(access.token).not.toBe(installToken);
  const auth = { authorization: `Bearer ${access.token}` };
  const api = await fetch(`${access.url}/api/call/settings.get`, { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body: '{}' });
  expect(api.status).toBe(401);
  expect((await fetch(`${access.url}/v1/models`, { headers: auth })).status).toBe(200);
  expect((await fetch(`${access.url}/v1/models`)).status).toBe(401);
  expect((await fetch(`${access.url}/metrics`, { headers: auth })).status).toBe(401);
}

describe('the desktop page’s gateway access', () => {
  it('opens /v1 but not /api when the app hosts the core', async () => {
    const home = tempHome();
    const access = await desktopPageAccess(home);
    const installToken = readFileSync(path.join(home, 'token'), 'utf8').trim();
    await requireKeys(access.url, installToken);
    await expectGatewayOnly(access, installToken);
  });

  it('opens /v1 but not /api when the app attaches to a running `aima serve`', async () => {
    const home = tempHome();
    const serve = await startServe({ AIMA_HOME: home });
    cleanups.push(() => serve.stop());
    await requireKeys(serve.url, serve.token);
    const access = await desktopPageAccess(home);
    expect(access.url).toBe(serve.url);
    await expectGatewayOnly(access, serve.token);
  });
});
