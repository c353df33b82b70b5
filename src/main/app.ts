/**
 * The desktop app: a thin shell over the core. It hosts the core for its data directory, or
 * attaches to the `aima serve` that already does; shows one window; keeps a tray menu; applies the
 * desktop-only settings (start at login, what quitting does).
 */
import { app, dialog, ipcMain, MessageChannelMain, shell, type BrowserWindow, type IpcMainEvent, type IpcMainInvokeEvent } from 'electron';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { eventNames, type CoreApi, type EventName, type ServiceSummary } from '../shared/contract/index.js';
import { IPC_GATEWAY, IPC_PICK_PATH, IPC_READY, IPC_VOICE_OPEN, IPC_VOICE_PORT } from '../shared/ipc-channels.js';
import { readEnv, DEFAULT_PORT, parsePort } from '../core/config/env.js';
import { dataPaths, resolveDataDir } from '../core/config/paths.js';
import { preparePrivateDataDir } from '../core/config/data-dir.js';
import { hostCore, type HostedCore } from '../core/host.js';
import { createHttpClient } from '../lib/client/http-client.js';
import { transportToApi } from '../shared/transport-api.js';
import { formatError, toAimaError } from '../shared/errors.js';
import { relayVoicePort } from './voice-relay.js';
import { guardUnhandledRejections } from '../core/process/rejection-guard.js';
import { createIpcRouter } from './ipc-router.js';
import { createRendererEvents } from './renderer-events.js';
import { createMainWindow, installCsp } from './window.js';
import { createTray } from './tray.js';
import { electronCipher } from './safe-storage.js';
import type { TrayAction } from './tray-menu.js';

export async function runDesktopApp(): Promise<void> {
  guardUnhandledRejections();
  const env = readEnv();
  const dataDir = resolveDataDir(env);
  // One data directory for app and CLI: Electron's own files (caches, local storage) live there
  // too, so it is created owner-only before Electron writes any (hostCore warns if it is not).
  preparePrivateDataDir(dataPaths(dataDir));
  app.setPath('userData', dataDir);

  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return;
  }
  await app.whenReady();
  installCsp();

  const outDir = path.join(app.getAppPath(), 'out');
  const rendererUrl = process.env.ELECTRON_RENDERER_URL ?? pathToFileURL(path.join(outDir, 'renderer', 'index.html')).href;
  const icon = path.join(app.getAppPath(), 'resources', 'icon.png');

  // Host the core, or attach to the one `aima serve` runs for this data directory.
  const hostOpts = { dataDir, owner: 'electron' as const, env, secretCipher: electronCipher };
  const hosted = await hostCore({ ...hostOpts, port: parsePort(env.AIMA_PORT ?? String(DEFAULT_PORT), 'AIMA_PORT') }).catch(
    async (err) => {
      // The port may be taken by something else: the desktop app still works on a free port.
      if (toAimaError(err).code === 'conflict') return hostCore({ ...hostOpts, port: 0 });
      throw err;
    },
  );
  let api: CoreApi;
  let coreUrl: string | null;
  let subscribe: (forward: (name: EventName, payload: unknown) => void) => () => void;
  let hostedCore: HostedCore | null = null;
  if (hosted.kind === 'hosted') {
    hostedCore = hosted;
    api = hosted.core.api;
    coreUrl = hosted.server.url;
    subscribe = (forward) => hosted.core.events.onAny(forward);
  } else {
    const client = createHttpClient({ url: hosted.info.url!, token: hosted.token });
    api = transportToApi(client);
    coreUrl = hosted.info.url;
    subscribe = (forward) => {
      const offs = eventNames.map((name) => client.on(name, (p) => forward(name, p)));
      return () => offs.forEach((off) => off());
    };
  }

  let win: BrowserWindow | null = null;
  const rendererEvents = createRendererEvents();
  createIpcRouter<IpcMainInvokeEvent, IpcMainEvent>({
    ipcMain,
    api: () => api,
    policy: {
      windowIds: () => new Set(win && !win.isDestroyed() ? [win.webContents.id] : []),
      uiOrigins: [rendererUrl.startsWith('file:') ? pathToFileURL(path.join(outDir, 'renderer')).href : new URL(rendererUrl).origin],
    },
    sideChannels: {
      handle: {
        [IPC_PICK_PATH]: async (_event, what) => {
          if (!win) return null;
          const result = await dialog.showOpenDialog(win, {
            title: 'Import a model',
            properties: [what === 'folder' ? 'openDirectory' : 'openFile'],
            filters: what === 'folder' ? [] : [{ name: 'Models', extensions: ['gguf', 'onnx', 'safetensors'] }, { name: 'All files', extensions: ['*'] }],
          });
          return result.canceled ? null : (result.filePaths[0] ?? null);
        },
        // The page's own /v1 calls carry the core's page credential, which /api refuses: the install
        // token stays in this process (attached, it is what obtains the credential from the core).
        [IPC_GATEWAY]: () => (coreUrl ? api['gateway.pageAccess']({}) : null),
      },
      on: {
        // The Voice page's live session: a MessagePort relayed to the core's /api/voice (see voice-link.ts).
        [IPC_VOICE_OPEN]: (event) => {
          if (!coreUrl) return;
          const { port1, port2 } = new MessageChannelMain();
          relayVoicePort(port1, { url: coreUrl, token: hosted.token });
          event.sender.postMessage(IPC_VOICE_PORT, null, [port2]);
        },
        // Events wait per window until its renderer says it listens.
        [IPC_READY]: (event) => rendererEvents.ready(event.sender.id),
      },
    },
  });
  subscribe((name, payload) => rendererEvents.publish(name, payload as never));

  const showWindow = () => {
    if (!win || win.isDestroyed()) {
      win = createMainWindow({ preload: path.join(outDir, 'preload', 'index.cjs'), url: rendererUrl, icon });
      const contents = win.webContents;
      rendererEvents.add(contents);
      win.on('closed', () => rendererEvents.remove(contents.id));
      win.on('show', refreshTray);
      win.on('hide', refreshTray);
    }
    win.show();
    win.focus();
    refreshTray();
  };

  const tray = createTray(path.join(app.getAppPath(), 'resources', 'tray.png'), (action: TrayAction) => {
    switch (action.type) {
      case 'show-window':
        return showWindow();
      case 'hide-window':
        win?.hide();
        return refreshTray();
      case 'open-in-browser':
        if (coreUrl) void shell.openExternal(coreUrl);
        return;
      case 'quit':
        return app.quit();
      case 'start-service':
        return void serviceCall(() => api['services.start']({ name: action.name }));
      case 'stop-service':
        return void serviceCall(() => api['services.stop']({ name: action.name }));
      case 'start-all':
        return void Promise.all(action.names.map((name) => serviceCall(() => api['services.start']({ name }))));
      case 'stop-all':
        return void Promise.all(action.names.map((name) => serviceCall(() => api['services.stop']({ name }))));
    }
  });
  // The tray shows each service's live state: services.changed keeps it current.
  let services: ServiceSummary[] = [];
  function refreshTray() {
    tray.update({ windowVisible: !!win && !win.isDestroyed() && win.isVisible(), coreHost: hostedCore ? 'self' : 'attached', coreUrl, services });
  }
  /** A start/stop from the tray: a refusal is shown as a dialog (the menu has no other place for it). */
  async function serviceCall(call: () => Promise<unknown>): Promise<void> {
    try {
      await call();
    } catch (err) {
      dialog.showErrorBox('AIMA', formatError(toAimaError(err)));
    }
  }
  subscribe((name, payload) => {
    if (name !== 'services.changed') return;
    services = payload as ServiceSummary[];
    refreshTray();
  });
  void api['services.list']({})
    .then((all) => {
      services = all;
      refreshTray();
    })
    .catch(() => {});

  const applyLoginItem = (startAtLogin: boolean) => app.setLoginItemSettings({ openAtLogin: startAtLogin });
  applyLoginItem((await api['settings.get']({})).startAtLogin);
  subscribe((name, payload) => {
    if (name === 'settings.changed') applyLoginItem((payload as { startAtLogin: boolean }).startAtLogin);
  });

  app.on('second-instance', showWindow);
  app.on('activate', showWindow);
  // Closing the window keeps AIMA in the tray; Quit in the tray (or the OS) ends it.
  app.on('window-all-closed', () => {});
  let quitting = false;
  app.on('before-quit', (event) => {
    if (quitting || !hostedCore) return;
    event.preventDefault();
    quitting = true;
    void (async () => {
      try {
        await hostedCore!.stop();
      } catch (err) {
        console.error(`aima: ${formatError(toAimaError(err))}`);
      }
      tray.destroy();
      app.quit();
    })();
  });

  showWindow();
}
