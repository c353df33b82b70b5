/**
 * The only IPC channels between preload and main. Everything else is a call or event name inside
 * them. Main registers all of them through ipc-router.ts, behind one sender check.
 */
export const IPC_INVOKE = 'aima:invoke';
export const IPC_EVENT = 'aima:event';
/** The renderer listens: events held for its window until now are sent (see renderer-events.ts). */
export const IPC_READY = 'aima:ready';
/** Desktop-only: the native file dialog (a browser has no equivalent, so it is not part of the API contract). */
export const IPC_PICK_PATH = 'aima:pick-path';
/**
 * Desktop-only: where the gateway listens and a credential that opens /v1 only, so the renderer can
 * stream from /v1 directly (the chat page) instead of pushing every token through IPC.
 */
export const IPC_GATEWAY = 'aima:gateway';
/**
 * Desktop-only: the renderer asks for a live voice session (IPC_VOICE_OPEN); main answers on
 * IPC_VOICE_PORT with a MessagePort relayed to the core's `/api/voice`, which the preload hands to
 * the page with window.postMessage(VOICE_PORT_MESSAGE, ..., [port]).
 */
export const IPC_VOICE_OPEN = 'aima:voice-open';
export const IPC_VOICE_PORT = 'aima:voice-port';
export const VOICE_PORT_MESSAGE = 'aima:voice-port';

import type { ApiErrorBody } from './errors.js';
/** What every IPC call answers: errors as data, because Electron flattens thrown errors to a string. */
export type InvokeReply = { ok: true; result: unknown } | { ok: false; error: ApiErrorBody };
