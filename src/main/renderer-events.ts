/**
 * Core events on their way to the windows. A window's renderer gets them once it has said it
 * listens (IPC_READY); until then they wait in a bounded queue per webContents, as Electron
 * Fiddle's IpcMainManager holds messages until its renderer is ready.
 */
import type { EventName, EventPayload } from '../shared/contract/index.js';
import { IPC_EVENT } from '../shared/ipc-channels.js';

/** The part of a webContents this module uses. */
export interface RendererTarget {
  id: number;
  isDestroyed(): boolean;
  send(channel: string, ...args: unknown[]): void;
}

/**
 * How a waiting event is kept. `latest`: it carries the whole state (or a fresh sample), so a
 * newer one of the same kind replaces it; a function names the kind per payload (one download,
 * one operation). `each`: every one matters (a log line, a request record), so each waits.
 * A new event in the contract does not compile until it is listed here.
 */
type Keep<K extends EventName> = 'latest' | 'each' | ((payload: EventPayload<K>) => string);
const keep: { [K in EventName]: Keep<K> } = {
  'settings.changed': 'latest',
  'models.changed': 'latest',
  'services.changed': 'latest',
  'nodes.changed': 'latest',
  'hardware.sample': 'latest',
  'download.progress': (d) => d.id,
  'operation.progress': (p) => p.id,
  'services.log': 'each',
  'gateway.request': 'each',
  'gateway.queue': (q) => q.model,
};

/**
 * Events of the `each` kind one window holds at most while it is not ready. Past it the oldest
 * is dropped: the page reads a service's log tail and the recent requests when it opens those
 * views, so what a page that never got ready misses is still there to read.
 */
export const MAX_WAITING = 500;

interface Waiting {
  name: EventName;
  payload: unknown;
}

interface WindowQueue {
  target: RendererTarget;
  ready: boolean;
  /** Insertion order is delivery order; a `latest` event re-inserted moves to the end. */
  waiting: Map<string, Waiting>;
  /** Keys of `each` events in `waiting`, oldest first. */
  eachKeys: string[];
}

export interface RendererEvents {
  /** A new window: its events wait until `ready(id)`. */
  add(target: RendererTarget): void;
  /** The window's renderer listens: what waited is sent, in order, and later events go straight through. */
  ready(id: number): void;
  /** The window is gone: what waited for it is dropped. */
  remove(id: number): void;
  /** Sends an event to every ready window and queues it for the others. */
  publish<K extends EventName>(name: K, payload: EventPayload<K>): void;
}

export function createRendererEvents(opts: { maxWaiting?: number } = {}): RendererEvents {
  const maxWaiting = opts.maxWaiting ?? MAX_WAITING;
  const windows = new Map<number, WindowQueue>();
  let seq = 0;

  const send = (w: WindowQueue, name: EventName, payload: unknown) => {
    if (!w.target.isDestroyed()) w.target.send(IPC_EVENT, name, payload);
  };

  const hold = (w: WindowQueue, name: EventName, payload: unknown) => {
    const how = keep[name] as Keep<EventName>;
    if (how === 'each') {
      const key = `#${seq++}`;
      w.waiting.set(key, { name, payload });
      w.eachKeys.push(key);
      if (w.eachKeys.length > maxWaiting) w.waiting.delete(w.eachKeys.shift()!);
      return;
    }
    const key = how === 'latest' ? name : `${name}:${how(payload as never)}`;
    w.waiting.delete(key);
    w.waiting.set(key, { name, payload });
  };

  return {
    add(target) {
      windows.set(target.id, { target, ready: false, waiting: new Map(), eachKeys: [] });
    },
    ready(id) {
      const w = windows.get(id);
      if (!w || w.ready) return;
      w.ready = true;
      const waiting = [...w.waiting.values()];
      w.waiting.clear();
      w.eachKeys = [];
      for (const e of waiting) send(w, e.name, e.payload);
    },
    remove(id) {
      windows.delete(id);
    },
    publish(name, payload) {
      for (const w of windows.values()) {
        if (w.ready) send(w, name, payload);
        else hold(w, name, payload);
      }
    },
  };
}
