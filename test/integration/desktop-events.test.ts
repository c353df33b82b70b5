/**
 * Core events on their way to the desktop window (app.ts): every event of the contract reaches
 * the page when the app attaches to a running `aima serve`; an event that happens before the page
 * listens waits for it; the side channels answer only our own page. Electron is faked at its
 * module boundary; the core, its HTTP server, `aima serve` and the Hub stand-in are real.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { IPC_EVENT, IPC_GATEWAY, IPC_INVOKE, IPC_PICK_PATH, IPC_READY, type InvokeReply } from '../../src/shared/ipc-channels.js';
import { startServe, tempHome } from '../support/cli.js';
import { FakeHub } from '../support/fake-hub.js';
import { repoRoot, requirePart, sharedModel } from '../support/system.js';
import { FAKE_WINDOW_ID as WINDOW_ID, fakeElectron as fake, resetFakeElectron, runDesktopAppOn, type FakeIpcEvent as FakeEvent } from '../support/fake-electron.js';

vi.mock('electron', async () => (await import('../support/fake-electron.js')).electronModule);
vi.mock('../../src/main/window.js', async () => (await import('../support/fake-electron.js')).windowModule);
vi.mock('../../src/main/tray.js', async () => (await import('../support/fake-electron.js')).trayModule);

/** Our page, as the router's sender check sees it: our window showing out/renderer. */
const page: FakeEvent = { sender: { id: WINDOW_ID }, senderFrame: { url: pathToFileURL(path.join(repoRoot, 'out', 'renderer', 'index.html')).href + '#/dashboard' } };
/** Our window after something navigated it to a foreign page. */
const foreign: FakeEvent = { sender: { id: WINDOW_ID }, senderFrame: { url: 'https://evil.example/' } };

const GGUF = sharedModel('stories260K/stories260K.gguf');
const REPO = 'aima-test/stories260K-GGUF';
const FILE = 'stories260K-Q8_0.gguf';
let hub: FakeHub | undefined;
beforeAll(async () => {
  if (existsSync(GGUF)) hub = await FakeHub.start({ [REPO]: [{ path: FILE, content: readFileSync(GGUF), lfs: true }] });
});
afterAll(async () => {
  await hub?.close();
});

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
  resetFakeElectron();
});

/** Runs the desktop app's main process on `home` (hosting its core, or attached to a running serve). */
async function runApp(home: string): Promise<void> {
  cleanups.push(await runDesktopAppOn(home));
}

async function call(name: string, params: unknown): Promise<unknown> {
  const reply = (await fake.handlers.get(IPC_INVOKE)!(page, name, params)) as InvokeReply;
  if (!reply.ok) throw new Error(`${name}: ${reply.error.message}`);
  return reply.result;
}

/** The events the renderer received, in order. */
const received = () => fake.sent.filter((m) => m.channel === IPC_EVENT).map((m) => ({ name: m.args[0] as string, payload: m.args[1] }));

async function until(cond: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; received: ${received().map((e) => e.name).join(', ') || 'nothing'}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('desktop app events', () => {
  it('forwards telemetry, download progress and model changes when attached to a running `aima serve`', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const home = tempHome();
    const serve = await startServe({ AIMA_HOME: home, HF_ENDPOINT: hub!.url });
    cleanups.push(() => serve.stop());
    await runApp(home);
    expect(await call('core.info', {})).toMatchObject({ host: 'serve', url: serve.url });
    fake.handlers.get(IPC_READY)!(page);

    await call('hardware.watch', {});
    await call('downloads.start', { repo: REPO, files: [FILE], name: 'pulled' });
    const names = () => new Set(received().map((e) => e.name));
    await until(() => names().has('hardware.sample') && names().has('models.changed'), 'hardware.sample and models.changed');
    expect(names()).toContain('download.progress');
    const lastModels = received().filter((e) => e.name === 'models.changed').at(-1)!.payload as { name: string }[];
    expect(lastModels.map((m) => m.name)).toContain('pulled');
  });

  it('holds an event that happens before the page listens until the page says it is ready', async () => {
    await runApp(tempHome());
    await call('settings.update', { onQuit: 'keep-running' });
    expect(received()).toEqual([]);
    fake.handlers.get(IPC_READY)!(foreign);
    expect(received()).toEqual([]);
    fake.handlers.get(IPC_READY)!(page);
    expect(received()).toEqual([{ name: 'settings.changed', payload: expect.objectContaining({ onQuit: 'keep-running' }) }]);
    // Once ready, events go straight through.
    await call('settings.update', { onQuit: 'stop-services' });
    expect(received().at(-1)).toEqual({ name: 'settings.changed', payload: expect.objectContaining({ onQuit: 'stop-services' }) });
  });

  it('refuses the side channels to our window when it shows a foreign page', async () => {
    await runApp(tempHome());
    await expect(Promise.resolve(fake.handlers.get(IPC_GATEWAY)!(foreign))).rejects.toThrow(/refused/);
    await expect(Promise.resolve(fake.handlers.get(IPC_PICK_PATH)!(foreign, 'file'))).rejects.toThrow(/refused/);
    expect(fake.dialogs).toBe(0);
    expect(await fake.handlers.get(IPC_GATEWAY)!(page)).toMatchObject({ url: expect.stringMatching(/^http:/), token: expect.any(String) });
    expect(await fake.handlers.get(IPC_PICK_PATH)!(page, 'file')).toBeNull();
    expect(fake.dialogs).toBe(1);
  });
});
