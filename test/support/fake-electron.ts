/**
 * Electron faked at its module boundary, for tests that run the desktop main process
 * (src/main/app.ts `runDesktopApp`) for real against a real core. A test file mocks the three
 * modules with what this file exports and reads what main did from `fakeElectron`:
 *
 *   vi.mock('electron', async () => (await import('../support/fake-electron.js')).electronModule);
 *   vi.mock('../../src/main/window.js', async () => (await import('../support/fake-electron.js')).windowModule);
 *   vi.mock('../../src/main/tray.js', async () => (await import('../support/fake-electron.js')).trayModule);
 */
import { vi } from 'vitest';
import { repoRoot } from './system.js';

/** What an IPC handler receives: the sender's webContents id and the frame it runs in. */
export interface FakeIpcEvent {
  sender: { id: number };
  senderFrame: { url: string } | null;
}
export type FakeIpcHandler = (event: FakeIpcEvent, ...args: unknown[]) => unknown;

/** The webContents id of the one window main creates. */
export const FAKE_WINDOW_ID = 7;

/** What main registered and sent; clear it between tests with {@link resetFakeElectron}. */
export const fakeElectron = {
  handlers: new Map<string, FakeIpcHandler>(),
  appEvents: new Map<string, (event: { preventDefault(): void }) => void>(),
  quit: null as null | (() => void),
  /** What main sent to the window's renderer, in order. */
  sent: [] as { channel: string; args: unknown[] }[],
  /** How many open dialogs were shown. */
  dialogs: 0,
};

export function resetFakeElectron(): void {
  fakeElectron.handlers.clear();
  fakeElectron.appEvents.clear();
  fakeElectron.sent.length = 0;
  fakeElectron.dialogs = 0;
  fakeElectron.quit = null;
}

export const electronModule = {
  app: {
    setPath: () => {},
    requestSingleInstanceLock: () => true,
    whenReady: async () => {},
    getAppPath: () => repoRoot,
    setLoginItemSettings: () => {},
    on: (name: string, fn: (event: { preventDefault(): void }) => void) => void fakeElectron.appEvents.set(name, fn),
    quit: () => fakeElectron.quit?.(),
  },
  ipcMain: {
    handle: (channel: string, fn: FakeIpcHandler) => void fakeElectron.handlers.set(channel, fn),
    removeHandler: (channel: string) => void fakeElectron.handlers.delete(channel),
    on: (channel: string, fn: FakeIpcHandler) => void fakeElectron.handlers.set(channel, fn),
    removeListener: (channel: string) => void fakeElectron.handlers.delete(channel),
  },
  dialog: {
    showOpenDialog: async () => {
      fakeElectron.dialogs++;
      return { canceled: true, filePaths: [] };
    },
    showErrorBox: () => {},
  },
  shell: { openExternal: async () => {} },
  MessageChannelMain: class {},
  safeStorage: { isEncryptionAvailable: () => false, encryptString: () => Buffer.alloc(0), decryptString: () => '' },
};

export const windowModule = {
  installCsp: () => {},
  createMainWindow: () => ({
    webContents: { id: FAKE_WINDOW_ID, send: (channel: string, ...args: unknown[]) => void fakeElectron.sent.push({ channel, args }), isDestroyed: () => false },
    isDestroyed: () => false,
    isVisible: () => true,
    on: () => {},
    show: () => {},
    focus: () => {},
    hide: () => {},
  }),
};

export const trayModule = { createTray: () => ({ update: () => {}, destroy: () => {} }) };

/**
 * Runs the desktop app's main process on data directory `home`, hosting its core or attaching to a
 * running `aima serve`; returns how to quit it the way a user's quit does (app.ts stops a core it
 * hosts, then calls app.quit() again).
 */
export async function runDesktopAppOn(home: string): Promise<() => Promise<void>> {
  vi.stubEnv('AIMA_HOME', home);
  vi.stubEnv('AIMA_PORT', '0');
  const { runDesktopApp } = await import('../../src/main/app.js');
  await runDesktopApp();
  return async () => {
    const quitted = new Promise<void>((resolve) => (fakeElectron.quit = resolve));
    let prevented = false;
    fakeElectron.appEvents.get('before-quit')?.({ preventDefault: () => (prevented = true) });
    if (prevented) await quitted;
    vi.unstubAllEnvs();
  };
}
