/**
 * The Electron IPC adapter of the API contract, and the one place every IPC channel is registered.
 * Only frames of our own windows, showing our own UI, may use any channel (as Electron Fiddle's
 * ipc.ts checks): the contract's calls and the desktop-only side channels alike. Params and
 * results of calls are validated by the same dispatcher the HTTP adapter uses. Errors of calls
 * travel as a `{ ok: false, error }` envelope because Electron flattens thrown errors to a
 * message string.
 */
import type { CoreApi } from '../shared/contract/index.js';
import { AimaError, toAimaError } from '../shared/errors.js';
import { dispatchCall } from '../core/api/dispatch.js';
import { IPC_INVOKE, type InvokeReply } from '../shared/ipc-channels.js';

/** The parts of Electron's IpcMainInvokeEvent and IpcMainEvent the sender check looks at. */
export interface IpcEventLike {
  sender: { id: number };
  senderFrame: { url: string } | null;
}

/**
 * The part of Electron's ipcMain the router uses: `I` is what an invoke handler gets
 * (IpcMainInvokeEvent), `M` what a message listener gets (IpcMainEvent).
 */
export interface IpcMainLike<I extends IpcEventLike = IpcEventLike, M extends IpcEventLike = I> {
  handle(channel: string, listener: (event: I, ...args: unknown[]) => unknown): void;
  removeHandler(channel: string): void;
  on(channel: string, listener: (event: M, ...args: unknown[]) => void): void;
  removeListener(channel: string, listener: (event: M, ...args: unknown[]) => void): void;
}

export interface SenderPolicy {
  /** webContents ids of our windows. */
  windowIds: () => ReadonlySet<number>;
  /** URL prefixes our UI is loaded from (file:// of out/renderer, or the dev server). */
  uiOrigins: readonly string[];
}

/** Desktop-only channels beside the contract's calls (see ipc-channels.ts), by channel name. */
export interface SideChannels<I, M> {
  /** ipcRenderer.invoke channels: an untrusted sender's call is rejected with `forbidden`. */
  handle?: Record<string, (event: I, ...args: unknown[]) => unknown>;
  /** ipcRenderer.send channels: an untrusted sender's message is ignored (a listener that threw would crash main). */
  on?: Record<string, (event: M, ...args: unknown[]) => void>;
}

/** True when the event comes from one of our windows showing our UI. */
export function isTrustedSender(event: IpcEventLike, policy: SenderPolicy): boolean {
  if (!policy.windowIds().has(event.sender.id)) return false;
  const url = event.senderFrame?.url;
  if (!url) return false;
  return policy.uiOrigins.some((prefix) => url.startsWith(prefix));
}

/** Throws `forbidden` unless the event comes from one of our windows showing our UI. */
export function assertTrustedSender(event: IpcEventLike, policy: SenderPolicy, channel: string): void {
  if (!isTrustedSender(event, policy)) {
    throw new AimaError('forbidden', `IPC ${channel} refused: sender ${event.senderFrame?.url ?? '(no frame)'} is not an AIMA window.`);
  }
}

/** Registers the contract's calls and the side channels; returns what unregisters them all. */
export function createIpcRouter<I extends IpcEventLike, M extends IpcEventLike = I>(opts: {
  ipcMain: IpcMainLike<I, M>;
  api: () => CoreApi;
  policy: SenderPolicy;
  sideChannels?: SideChannels<I, M>;
}): () => void {
  const { ipcMain, policy } = opts;
  ipcMain.handle(IPC_INVOKE, async (event, name, params): Promise<InvokeReply> => {
    try {
      assertTrustedSender(event, policy, 'call');
      if (typeof name !== 'string') throw new AimaError('bad-request', 'IPC call without a call name.');
      return { ok: true, result: await dispatchCall(opts.api(), name, params) };
    } catch (err) {
      return { ok: false, error: toAimaError(err).toBody() };
    }
  });
  const handles = Object.entries(opts.sideChannels?.handle ?? {});
  for (const [channel, handler] of handles) {
    ipcMain.handle(channel, async (event, ...args) => {
      assertTrustedSender(event, policy, channel);
      return handler(event, ...args);
    });
  }
  const listeners = Object.entries(opts.sideChannels?.on ?? {}).map(([channel, listener]) => {
    const guarded = (event: M, ...args: unknown[]) => {
      if (isTrustedSender(event, policy)) listener(event, ...args);
    };
    ipcMain.on(channel, guarded);
    return [channel, guarded] as const;
  });
  return () => {
    ipcMain.removeHandler(IPC_INVOKE);
    for (const [channel] of handles) ipcMain.removeHandler(channel);
    for (const [channel, guarded] of listeners) ipcMain.removeListener(channel, guarded);
  };
}
