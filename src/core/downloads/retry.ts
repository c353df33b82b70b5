/**
 * Retries with exponential backoff, shared by the manager (resolving a file) and the transfer
 * (fetching chunks, possibly on the transfer thread). Only TransferErrors marked retryable are
 * retried; progress between tries resets the count, so a long download over a flaky link never
 * runs out of tries while it is still moving.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { TransferError } from './transfer-error.js';

export interface RetryPolicy {
  baseMs: number;
  maxMs: number;
  /** Attempts in a row without progress before the download fails (progress resets the count). */
  maxAttempts: number;
}

export const DEFAULT_RETRY: RetryPolicy = { baseMs: 500, maxMs: 30_000, maxAttempts: 6 };

export interface RetryHooks {
  /** Bytes done so far: more than before the failed try means it made progress. */
  progress(): number;
  onRetry(message: string, attempt: number, delayMs: number): void;
}

export async function withRetry<T>(policy: RetryPolicy, signal: AbortSignal, hooks: RetryHooks, fn: () => Promise<T>): Promise<T> {
  let attempt = 0;
  for (;;) {
    const before = hooks.progress();
    try {
      return await fn();
    } catch (err) {
      if (signal.aborted) throw err;
      if (!(err instanceof TransferError) || !err.retryable) throw err;
      if (hooks.progress() > before) attempt = 0;
      attempt++;
      if (attempt > policy.maxAttempts) throw new Error(`${err.message}; gave up after ${policy.maxAttempts} retries. Resume to try again.`);
      const delay = Math.min(policy.maxMs, policy.baseMs * 2 ** (attempt - 1));
      hooks.onRetry(err.message, attempt, delay);
      await sleep(delay, undefined, { signal });
    }
  }
}
