/** The core's event bus: typed by the contract, consumed by the IPC and WebSocket adapters. */
import { EventEmitter } from 'node:events';
import type { EventName, EventPayload } from '../shared/contract/index.js';

export type AnyEventListener = <K extends EventName>(name: K, payload: EventPayload<K>) => void;

export class CoreEvents {
  private readonly emitter = new EventEmitter();
  constructor() {
    // Every open window and WebSocket subscribes; the default limit of 10 would warn spuriously.
    this.emitter.setMaxListeners(0);
  }

  emit<K extends EventName>(name: K, payload: EventPayload<K>): void {
    this.emitter.emit('event', name, payload);
  }

  /** Subscribes to every event; returns the unsubscribe function. */
  onAny(listener: AnyEventListener): () => void {
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }

  on<K extends EventName>(name: K, listener: (payload: EventPayload<K>) => void): () => void {
    const wrapped = (n: EventName, payload: unknown) => {
      if (n === name) listener(payload as EventPayload<K>);
    };
    this.emitter.on('event', wrapped);
    return () => this.emitter.off('event', wrapped);
  }
}
