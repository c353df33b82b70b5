/**
 * Per-service admission: at most `limit` requests in flight (the worker's parallel slots), a
 * bounded FIFO queue behind them, and a wait timeout. The gateway owns queueing so workers can
 * simply refuse what they cannot take (429) and clients see one consistent policy.
 */

export type AdmissionError =
  | { kind: 'queue-full'; queued: number; limit: number }
  | { kind: 'timeout'; waitedMs: number }
  | { kind: 'aborted' };

export class AdmissionRefused extends Error {
  constructor(readonly reason: AdmissionError) {
    super(reason.kind);
  }
}

interface Waiter {
  resolve: (release: () => void) => void;
  reject: (err: AdmissionRefused) => void;
  cleanup: () => void;
}

export interface LimiterOptions {
  limit: number;
  maxQueue: number;
  timeoutMs: number;
}

export class ConcurrencyLimiter {
  private active = 0;
  private readonly waiting: Waiter[] = [];

  constructor(private opts: LimiterOptions) {}

  /**
   * Applies the current limits (called per request, so unchanged ones cost a comparison); when the
   * service's concurrency grew, waiters are admitted into the new room.
   */
  configure(limit: number, maxQueue: number, timeoutMs: number): void {
    const o = this.opts;
    if (o.limit === limit && o.maxQueue === maxQueue && o.timeoutMs === timeoutMs) return;
    this.opts = { limit, maxQueue, timeoutMs };
    this.drain();
  }

  get inFlight(): number {
    return this.active;
  }
  get queued(): number {
    return this.waiting.length;
  }

  /**
   * A slot now, or null when the caller must queue: the common path takes no promise, timer or
   * AbortSignal (each costs microseconds on every request).
   */
  tryAcquire(): (() => void) | null {
    return this.active < this.opts.limit && this.waiting.length === 0 ? this.grant() : null;
  }

  /** Resolves with a release function once a slot is free. */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(new AdmissionRefused({ kind: 'aborted' }));
    if (this.active < this.opts.limit && this.waiting.length === 0) return Promise.resolve(this.grant());
    if (this.waiting.length >= this.opts.maxQueue) {
      return Promise.reject(new AdmissionRefused({ kind: 'queue-full', queued: this.waiting.length, limit: this.opts.limit }));
    }
    return new Promise((resolve, reject) => {
      const started = Date.now();
      const timer = setTimeout(() => {
        remove();
        reject(new AdmissionRefused({ kind: 'timeout', waitedMs: Date.now() - started }));
      }, this.opts.timeoutMs);
      const onAbort = () => {
        remove();
        reject(new AdmissionRefused({ kind: 'aborted' }));
      };
      const remove = () => {
        const i = this.waiting.indexOf(waiter);
        if (i >= 0) this.waiting.splice(i, 1);
        waiter.cleanup();
      };
      const waiter: Waiter = {
        resolve,
        reject,
        cleanup: () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
    });
  }

  private grant(): () => void {
    this.active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
      this.drain();
    };
  }

  private drain(): void {
    while (this.active < this.opts.limit && this.waiting.length > 0) {
      const next = this.waiting.shift()!;
      next.cleanup();
      next.resolve(this.grant());
    }
  }
}
