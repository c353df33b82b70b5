/**
 * Long operations (model copies, downloads, waiting for a service): each gets an id chosen by the
 * client, emits throttled `operation.progress` events, and can be cancelled through
 * `operations.cancel` from any client (the CLI on Ctrl+C, the UI's Cancel button).
 */
import { randomUUID } from 'node:crypto';
import type { OperationProgress } from '../../shared/contract/index.js';
import { AimaError } from '../../shared/errors.js';
import type { CoreEvents } from '../events.js';

export interface OperationContext {
  signal: AbortSignal;
  /** Reports progress; events are throttled to ~10 per second, the last one always goes out. */
  report(done: number, total: number | null, message?: string): void;
}

export interface OperationSpec {
  id?: string;
  label: string;
  unit: OperationProgress['unit'];
}

const THROTTLE_MS = 100;

export class Operations {
  private readonly running = new Map<string, AbortController>();
  constructor(private readonly events: CoreEvents) {}

  async run<T>(spec: OperationSpec, fn: (ctx: OperationContext) => Promise<T>): Promise<T> {
    const id = spec.id ?? randomUUID();
    if (this.running.has(id)) throw new AimaError('conflict', `An operation with id ${id} is already running.`, 'Use a new operation id.');
    const controller = new AbortController();
    this.running.set(id, controller);
    let last = { done: 0, total: null as number | null, message: undefined as string | undefined };
    let lastSent = 0;
    // A report inside the throttle window goes out when the window ends (unless a later one replaces
    // it first), so a step that begins right after another is still shown while it runs.
    let trailing: NodeJS.Timeout | null = null;
    const settle = () => {
      if (trailing) clearTimeout(trailing);
      trailing = null;
    };
    const emit = (phase: OperationProgress['phase'], message?: string) =>
      this.events.emit('operation.progress', { id, label: spec.label, phase, done: last.done, total: last.total, unit: spec.unit, ...(message ?? last.message ? { message: message ?? last.message } : {}) });
    try {
      emit('running');
      const result = await fn({
        signal: controller.signal,
        report: (done, total, message) => {
          last = { done, total, message };
          const wait = THROTTLE_MS - (Date.now() - lastSent);
          if (wait <= 0) {
            settle();
            lastSent = Date.now();
            emit('running');
          } else {
            trailing ??= setTimeout(() => {
              trailing = null;
              lastSent = Date.now();
              emit('running');
            }, wait);
          }
        },
      });
      settle();
      emit('done');
      return result;
    } catch (err) {
      settle();
      emit(controller.signal.aborted ? 'cancelled' : 'failed', err instanceof Error ? err.message : String(err));
      if (controller.signal.aborted && !(err instanceof AimaError && err.code === 'cancelled')) {
        throw new AimaError('cancelled', `${spec.label}: cancelled.`);
      }
      throw err;
    } finally {
      this.running.delete(id);
    }
  }

  cancel(id: string): boolean {
    const c = this.running.get(id);
    if (!c) return false;
    c.abort();
    return true;
  }

  /** Cancels everything (core shutdown). */
  cancelAll(): void {
    for (const c of this.running.values()) c.abort();
  }
}
