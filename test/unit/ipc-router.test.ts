import { describe, expect, it } from 'vitest';
import { createIpcRouter, type IpcEventLike, type IpcMainLike, type SideChannels } from '../../src/main/ipc-router.js';
import type { CoreApi } from '../../src/shared/contract/index.js';
import { defaultSettings } from '../../src/shared/contract/index.js';
import { IPC_INVOKE, type InvokeReply } from '../../src/shared/ipc-channels.js';

type Listener = (e: IpcEventLike, ...args: unknown[]) => unknown;

/** Electron's ipcMain, as far as the router uses it: invoke handlers and message listeners by channel. */
function fakeIpcMain() {
  const handlers = new Map<string, Listener>();
  const listeners = new Map<string, Listener>();
  const ipcMain: IpcMainLike = {
    handle: (ch, fn) => void handlers.set(ch, fn),
    removeHandler: (ch) => void handlers.delete(ch),
    on: (ch, fn) => void listeners.set(ch, fn),
    removeListener: (ch, fn) => void (listeners.get(ch) === fn && listeners.delete(ch)),
  };
  return { ipcMain, handlers, listeners };
}

function setup(sideChannels?: SideChannels<IpcEventLike, IpcEventLike>) {
  const { ipcMain, handlers, listeners } = fakeIpcMain();
  const received: unknown[] = [];
  const api = {
    'core.info': async () => ({ version: '1', pid: 1, dataDir: '/d', url: 'http://127.0.0.1:1', host: 'electron', startedAt: 'now', schemaVersion: 2 }),
    'settings.get': async () => defaultSettings,
    'settings.update': async (patch: unknown) => {
      received.push(patch);
      return { ...defaultSettings, ...(patch as object) };
    },
  } as unknown as CoreApi;
  const dispose = createIpcRouter({
    ipcMain,
    api: () => api,
    policy: { windowIds: () => new Set([7]), uiOrigins: ['file:///app/out/renderer'] },
    sideChannels,
  });
  const call = (event: IpcEventLike, name: unknown, params: unknown) => handlers.get(IPC_INVOKE)!(event, name, params) as Promise<InvokeReply>;
  return { call, received, dispose, handlers, listeners };
}

const trusted: IpcEventLike = { sender: { id: 7 }, senderFrame: { url: 'file:///app/out/renderer/index.html#/settings' } };

describe('IPC router', () => {
  it('answers a trusted sender with the validated result', async () => {
    const { call } = setup();
    const reply = await call(trusted, 'settings.get', {});
    expect(reply).toEqual({ ok: true, result: defaultSettings });
  });

  it('refuses a sender that is not one of our windows', async () => {
    const { call } = setup();
    const reply = await call({ sender: { id: 99 }, senderFrame: { url: 'file:///app/out/renderer/index.html' } }, 'settings.get', {});
    expect(reply).toMatchObject({ ok: false, error: { code: 'forbidden' } });
  });

  it('refuses our window when it shows a foreign page', async () => {
    const { call } = setup();
    const reply = await call({ sender: { id: 7 }, senderFrame: { url: 'https://evil.example/' } }, 'settings.get', {});
    expect(reply).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    const noFrame = await call({ sender: { id: 7 }, senderFrame: null }, 'settings.get', {});
    expect(noFrame).toMatchObject({ ok: false, error: { code: 'forbidden' } });
  });

  it('rejects params that break the schema before the core sees them', async () => {
    const { call, received } = setup();
    const wrongType = await call(trusted, 'settings.update', { startAtLogin: 'yes' });
    expect(wrongType).toMatchObject({ ok: false, error: { code: 'bad-request' } });
    const unknownKey = await call(trusted, 'settings.update', { startAtLoginn: true });
    expect(unknownKey).toMatchObject({ ok: false, error: { code: 'bad-request' } });
    expect(received).toEqual([]);
    const ok = await call(trusted, 'settings.update', { onQuit: 'keep-running' });
    expect(ok).toMatchObject({ ok: true, result: { onQuit: 'keep-running' } });
    expect(received).toEqual([{ onQuit: 'keep-running' }]);
  });

  it('rejects unknown call names and non-string names', async () => {
    const { call } = setup();
    expect(await call(trusted, 'fs.readFile', {})).toMatchObject({ ok: false, error: { code: 'not-found' } });
    expect(await call(trusted, 42, {})).toMatchObject({ ok: false, error: { code: 'bad-request' } });
  });

  it('refuses a result from the core that breaks the contract', async () => {
    const { ipcMain, handlers } = fakeIpcMain();
    createIpcRouter({
      ipcMain,
      api: () => ({ 'settings.get': async () => ({ startAtLogin: 'not a boolean' }) }) as unknown as CoreApi,
      policy: { windowIds: () => new Set([7]), uiOrigins: ['file:///app/out/renderer'] },
    });
    const reply = (await handlers.get(IPC_INVOKE)!(trusted, 'settings.get', {})) as InvokeReply;
    expect(reply).toMatchObject({ ok: false, error: { code: 'internal' } });
  });

  it('unregisters every channel when disposed', () => {
    const { dispose, handlers, listeners } = setup({ handle: { 'side:ask': () => 1 }, on: { 'side:tell': () => {} } });
    expect([...handlers.keys(), ...listeners.keys()].sort()).toEqual([IPC_INVOKE, 'side:ask', 'side:tell']);
    dispose();
    expect([...handlers.keys(), ...listeners.keys()]).toEqual([]);
  });

  describe('side channels', () => {
    const untrusted: IpcEventLike[] = [
      { sender: { id: 99 }, senderFrame: { url: 'file:///app/out/renderer/index.html' } },
      { sender: { id: 7 }, senderFrame: { url: 'https://evil.example/' } },
      { sender: { id: 7 }, senderFrame: null },
    ];

    it('answer a trusted sender', async () => {
      const told: unknown[] = [];
      const { handlers, listeners } = setup({ handle: { 'side:ask': (_e, what) => `answer to ${String(what)}` }, on: { 'side:tell': (_e, what) => void told.push(what) } });
      expect(await handlers.get('side:ask')!(trusted, 'q')).toBe('answer to q');
      listeners.get('side:tell')!(trusted, 'hello');
      expect(told).toEqual(['hello']);
    });

    it('refuse a call from an untrusted sender before the handler runs, and ignore its messages', async () => {
      const reached: string[] = [];
      const { handlers, listeners } = setup({ handle: { 'side:ask': () => void reached.push('ask') }, on: { 'side:tell': () => void reached.push('tell') } });
      for (const event of untrusted) {
        await expect(handlers.get('side:ask')!(event)).rejects.toMatchObject({ code: 'forbidden', message: expect.stringMatching(/side:ask refused/) });
        listeners.get('side:tell')!(event);
      }
      expect(reached).toEqual([]);
    });
  });
});
