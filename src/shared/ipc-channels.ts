/** The only IPC channels between preload and main. Everything else is a call or event name inside them. */
export const IPC_INVOKE = 'aima:invoke';
export const IPC_EVENT = 'aima:event';
export const IPC_READY = 'aima:ready';
/** Desktop-only: the native file dialog (a browser has no equivalent, so it is not part of the API contract). */
export const IPC_PICK_PATH = 'aima:pick-path';
/**
 * Desktop-only: where the gateway listens and the install token, so the renderer can stream from
 * /v1 directly (the chat page) instead of pushing every token through IPC.
 */
export const IPC_GATEWAY = 'aima:gateway';

import type { ApiErrorBody } from './errors.js';
/** What every IPC call answers: errors as data, because Electron flattens thrown errors to a string. */
export type InvokeReply = { ok: true; result: unknown } | { ok: false; error: ApiErrorBody };
