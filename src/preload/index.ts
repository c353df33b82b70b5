/**
 * The one bridge between the sandboxed renderer and the main process: typed invoke(name, params)
 * and on(event, cb) -> unsubscribe. Names are checked against the contract here too, so a
 * compromised page cannot use the bridge to reach channels that do not exist.
 */
import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from 'electron';
import { isCallName, isEventName } from '../shared/contract/index.js';
import { IPC_EVENT, IPC_GATEWAY, IPC_INVOKE, IPC_PICK_PATH, IPC_READY, IPC_VOICE_OPEN, IPC_VOICE_PORT, VOICE_PORT_MESSAGE } from '../shared/ipc-channels.js';
import type { AimaBridge } from './api.js';

const listeners = new Map<string, Set<(payload: unknown) => void>>();
ipcRenderer.on(IPC_EVENT, (_event: IpcRendererEvent, name: string, payload: unknown) => {
  for (const l of listeners.get(name) ?? []) l(payload);
});

// MessagePorts cannot cross contextBridge; window.postMessage hands them to the page's world.
// (The preload is type-checked without the DOM library: the page's window, typed by what is used.)
const page = globalThis as unknown as { postMessage(message: string, targetOrigin: string, transfer: unknown[]): void; location: { origin: string } };
ipcRenderer.on(IPC_VOICE_PORT, (event: IpcRendererEvent) => {
  // file:// pages have the opaque origin "null", which postMessage only accepts as '*'.
  page.postMessage(VOICE_PORT_MESSAGE, page.location.origin === 'null' ? '*' : page.location.origin, event.ports);
});

const bridge: AimaBridge = {
  async invoke(name, params) {
    if (!isCallName(name)) throw new Error(`Unknown API call "${name}".`);
    return ipcRenderer.invoke(IPC_INVOKE, name, params);
  },
  on(name, listener) {
    if (!isEventName(name)) throw new Error(`Unknown event "${name}".`);
    let set = listeners.get(name);
    if (!set) listeners.set(name, (set = new Set()));
    set.add(listener);
    return () => set!.delete(listener);
  },
  ready() {
    ipcRenderer.send(IPC_READY);
  },
  pickModelPath(what) {
    return ipcRenderer.invoke(IPC_PICK_PATH, what === 'folder' ? 'folder' : 'file');
  },
  gatewayAccess() {
    return ipcRenderer.invoke(IPC_GATEWAY);
  },
  openVoice() {
    ipcRenderer.send(IPC_VOICE_OPEN);
  },
  pathForFile(file) {
    return webUtils.getPathForFile(file);
  },
};

contextBridge.exposeInMainWorld('aima', bridge);
