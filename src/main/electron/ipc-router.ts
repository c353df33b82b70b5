/**
 * The Electron IPC adapter of the API contract. Only frames of our own windows, showing our own
 * UI, may call (as Electron Fiddle's ipc.ts checks); params and results are validated by the
 * same dispatcher the HTTP adapter uses. Errors travel as a `{ ok: false, error }` envelope because
 * Electron flattens thrown errors to a message string.
 */
import type { CoreApi } from '../../shared/contract/index.js';
import { AimaError, toAimaError } from '../../shared/errors.js';
import { dispatchCall } from '../core/api/dispatch.js';
import { IPC_INVOKE, type InvokeReply } from '../../shared/ipc-channels.js';

/** The parts of Electron's IpcMainInvokeEvent the router looks at. */
export interface IpcEventLike {
  sender: { id: number };
  senderFrame: { url: string } | null;
}

/** The part of Electron's ipcMain the router uses. */
export interface IpcMainLike {
  handle(channel: string, listener: (event: IpcEventLike, ...args: unknown[]) => Promise<unknown>): void;
  removeHandler(channel: string): void;
}

export interface SenderPolicy {
  /** webContents ids of our windows. */
  windowIds: () => ReadonlySet<number>;
  /** URL prefixes our UI is loaded from (file:// of out/renderer, or the dev server). */
  uiOrigins: readonly string[];
}

/** True when the event comes from one of our windows showing our UI. */
export function isTrustedSender(event: IpcEventLike, policy: SenderPolicy): boolean {
  if (!policy.windowIds().has(event.sender.id)) return false;
  const url = event.senderFrame?.url;
  if (!url) return false;
  return policy.uiOrigins.some((prefix) => url.startsWith(prefix));
}

export function createIpcRouter(opts: { ipcMain: IpcMainLike; api: () => CoreApi; policy: SenderPolicy }): () => void {
  opts.ipcMain.handle(IPC_INVOKE, async (event, name, params): Promise<InvokeReply> => {
    try {
      if (!isTrustedSender(event, opts.policy)) {
        throw new AimaError('forbidden', `IPC call refused: sender ${event.senderFrame?.url ?? '(no frame)'} is not an AIMA window.`);
      }
      if (typeof name !== 'string') throw new AimaError('bad-request', 'IPC call without a call name.');
      return { ok: true, result: await dispatchCall(opts.api(), name, params) };
    } catch (err) {
      return { ok: false, error: toAimaError(err).toBody() };
    }
  });
  return () => opts.ipcMain.removeHandler(IPC_INVOKE);
}
