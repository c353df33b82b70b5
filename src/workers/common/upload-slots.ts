/**
 * Bounds how many request bodies a worker reads at once. A waiting request is not read: its bytes
 * stay in the socket buffers and the client's writes block, so memory does not grow with the
 * number of clients. Beyond `maxWaiting` a request is refused at once with 429.
 */
import { HttpError } from '../../lib/http.js';

export class UploadSlots {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly limit: number,
    private readonly maxWaiting: number,
  ) {}

  /** Runs `fn` once a slot is free; the slot is held until it settles. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) {
      if (this.waiting.length >= this.maxWaiting) {
        throw new HttpError(
          429,
          `Busy: ${this.active} uploads are being read and ${this.waiting.length} are waiting, the most this server holds. Retry shortly.`,
          'rate_limit_error',
          'too_many_uploads',
          null,
          { 'retry-after': '2' },
        );
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.active++;
    }
    try {
      return await fn();
    } finally {
      // The slot passes straight to the next waiter, if any.
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}
