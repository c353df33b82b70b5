/**
 * The main window with secure defaults: context isolation and the sandbox on, no Node in the
 * page, a CSP on every response, navigation and new windows blocked (links open in the browser).
 */
import { BrowserWindow, session, shell } from 'electron';
import { UI_CSP } from '../core/server/http-server.js';

export interface WindowOptions {
  preload: string;
  /** file:// URL of out/renderer/index.html, or the electron-vite dev server URL. */
  url: string;
  icon: string;
}

export function installCsp(): void {
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [UI_CSP] } });
  });
}

export function createMainWindow(opts: WindowOptions): BrowserWindow {
  const win = new BrowserWindow({
    width: 1240,
    height: 820,
    minWidth: 900,
    minHeight: 600,
    show: false,
    title: 'AIMA',
    icon: opts.icon,
    webPreferences: {
      preload: opts.preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      spellcheck: false,
    },
  });
  const appOrigin = new URL(opts.url).origin;
  win.webContents.on('will-navigate', (event, url) => {
    if (!url.startsWith(opts.url) && new URL(url).origin !== appOrigin) event.preventDefault();
  });
  win.webContents.setWindowOpenHandler(({ url }) => {
    if (/^https?:\/\//.test(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
  win.once('ready-to-show', () => win.show());
  void win.loadURL(opts.url);
  return win;
}
