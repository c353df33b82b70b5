/**
 * The API contract: every call (request -> response) and event that the UI and the CLI use, each
 * with a zod schema. Adapters (Electron IPC, HTTP + WebSocket, the CLI's client) take their types
 * from these maps, so adding a call means adding it here and implementing it in the core.
 */
import { z } from 'zod';
import { defineCall, type CallSpec } from './define.js';
import { CoreInfo } from './core.js';
import { Settings, SettingsPatch } from './settings.js';

const Empty = z.object({}).strict();

export const calls = {
  'core.info': defineCall(Empty, CoreInfo, 'Where the core runs and which data directory it owns'),
  'settings.get': defineCall(Empty, Settings, 'All settings, with defaults filled in'),
  'settings.update': defineCall(SettingsPatch, Settings, 'Change some settings; returns all of them'),
} satisfies Record<string, CallSpec<z.ZodType, z.ZodType>>;

export const events = {
  'settings.changed': Settings,
} satisfies Record<string, z.ZodType>;

export type Calls = typeof calls;
export type CallName = keyof Calls;
export type CallParams<K extends CallName> = z.input<Calls[K]['params']>;
export type CallResult<K extends CallName> = z.output<Calls[K]['result']>;

export type Events = typeof events;
export type EventName = keyof Events;
export type EventPayload<K extends EventName> = z.output<Events[K]>;

/** The core's API as an object of async functions: implemented in-process and by every client. */
export type CoreApi = { [K in CallName]: (params: CallParams<K>) => Promise<CallResult<K>> };

/** A generic way in: what the IPC bridge, the HTTP client and the router all speak. */
export interface ApiTransport {
  invoke<K extends CallName>(name: K, params: CallParams<K>): Promise<CallResult<K>>;
  on<K extends EventName>(name: K, listener: (payload: EventPayload<K>) => void): () => void;
}

export function isCallName(name: string): name is CallName {
  return Object.hasOwn(calls, name);
}
export function isEventName(name: string): name is EventName {
  return Object.hasOwn(events, name);
}

export * from './core.js';
export * from './settings.js';
