/**
 * Runs file transfers (transfer.ts) on a worker thread, one per running download. The transfer's
 * CPU (reads, writes, at GB/s a core's worth) then never holds the event loop that also serves
 * the API, the gateway and voice, and what it allocates is marked in a small heap of its own
 * rather than beside the core's objects (docs/downloads.md has the measurements). Progress crosses
 * in shared memory (file-progress.ts); messages carry only starts, retries and ends.
 *
 * The thread's script is the bundle scripts/build-node.mjs writes (out/threads/download-transfer.mjs);
 * tests and benchmarks run the same script, so there is one transfer path.
 */
import { existsSync } from 'node:fs';
import { parentPort, Worker } from 'node:worker_threads';
import { FileProgress, type ChunkSpan } from './file-progress.js';
import { TransferError } from './transfer-error.js';
import { DiskFullError, transferFile, type TransferHooks, type TransferPlan } from './transfer.js';

type ToThread = { type: 'run'; id: number; plan: TransferPlan; chunks: ChunkSpan[]; progress: SharedArrayBuffer } | { type: 'abort'; id: number };
type WireError = { kind: 'disk-full' | 'transfer' | 'error'; message: string; retryable?: boolean; status?: number };
type FromThread = { type: 'retry'; id: number; message: string; attempt: number; delayMs: number } | { type: 'done'; id: number; error?: WireError };

/** Runs file transfers on the download thread. One per download job. */
export interface Transfers {
  /** Resolves when every chunk is written; rejects with the signal's reason once it aborted (after the writes stopped). */
  run(plan: TransferPlan, progress: FileProgress, signal: AbortSignal, hooks: TransferHooks): Promise<void>;
  close(): Promise<void>;
}

/** Transfers on a thread started from `entry` (out/threads/download-transfer.mjs). */
export function createTransfers(entry: string): Transfers {
  return new ThreadTransfers(entry);
}

function toWire(err: unknown): WireError {
  if (err instanceof DiskFullError) return { kind: 'disk-full', message: err.message };
  if (err instanceof TransferError) return { kind: 'transfer', message: err.message, retryable: err.retryable, ...(err.status !== undefined ? { status: err.status } : {}) };
  return { kind: 'error', message: (err as Error)?.message ?? String(err) };
}

function fromWire(e: WireError): Error {
  if (e.kind === 'disk-full') return new DiskFullError();
  if (e.kind === 'transfer') return new TransferError(e.message, e.retryable ?? false, e.status);
  return new Error(e.message);
}

/** The thread side: runs transfers as asked, reports retries and ends. */
export function serveTransferThread(): void {
  const port = parentPort;
  if (!port) throw new Error('download-transfer.mjs is the download thread of the core, not a program to run.');
  const running = new Map<number, AbortController>();
  port.on('message', (m: ToThread) => {
    if (m.type === 'abort') {
      running.get(m.id)?.abort(new Error('aborted'));
      return;
    }
    const controller = new AbortController();
    running.set(m.id, controller);
    const progress = new FileProgress(m.chunks, m.progress);
    const hooks: TransferHooks = { onRetry: (message, attempt, delayMs) => port.postMessage({ type: 'retry', id: m.id, message, attempt, delayMs } satisfies FromThread) };
    transferFile(m.plan, progress, controller.signal, hooks).then(
      () => port.postMessage({ type: 'done', id: m.id } satisfies FromThread),
      (err: unknown) => port.postMessage({ type: 'done', id: m.id, error: toWire(err) } satisfies FromThread),
    ).finally(() => running.delete(m.id));
  });
}

class ThreadTransfers implements Transfers {
  private worker: Worker | null = null;
  private nextId = 0;
  private readonly pending = new Map<number, { worker: Worker; hooks: TransferHooks; settle(error?: Error): void }>();

  constructor(private readonly entry: string) {}

  /** The thread starts with the first transfer and again after it died (a crash fails only the transfers it was running). */
  private thread(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(this.entry);
    worker.on('message', (m: FromThread) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      if (m.type === 'retry') return p.hooks.onRetry(m.message, m.attempt, m.delayMs);
      this.pending.delete(m.id);
      p.settle(m.error ? fromWire(m.error) : undefined);
    });
    // 'error' then 'exit': the first one settles this thread's transfers (not a newer thread's).
    const died = (why: string) => {
      if (this.worker === worker) this.worker = null;
      for (const [id, p] of this.pending) {
        if (p.worker !== worker) continue;
        this.pending.delete(id);
        p.settle(new TransferError(why, true));
      }
    };
    worker.on('error', (err) => died(`the download thread failed: ${err.message}`));
    worker.on('exit', (code) => died(`the download thread exited (code ${code})`));
    this.worker = worker;
    return worker;
  }

  run(plan: TransferPlan, progress: FileProgress, signal: AbortSignal, hooks: TransferHooks): Promise<void> {
    if (signal.aborted) return Promise.reject(signal.reason);
    // A missing bundle is a build problem, not a network one: retrying cannot help.
    if (!existsSync(this.entry)) return Promise.reject(new TransferError(`${this.entry} is missing (build with \`npm run build\`)`, false));
    const worker = this.thread();
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => worker.postMessage({ type: 'abort', id } satisfies ToThread);
      signal.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, {
        worker,
        hooks,
        // Settles only when the thread says the transfer ended, so no write lands after a pause or cancel returns.
        settle: (error) => {
          signal.removeEventListener('abort', onAbort);
          if (signal.aborted) reject(signal.reason);
          else if (error) reject(error);
          else resolve();
        },
      });
      worker.postMessage({ type: 'run', id, plan, chunks: [...progress.chunks], progress: progress.buffer } satisfies ToThread);
    });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    if (worker) await worker.terminate();
  }
}
