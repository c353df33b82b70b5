/**
 * Generation slots: one llama.cpp context holds N sequences (--parallel N) and each request takes
 * one for its whole generation. No queue: when all slots are busy the request is refused with 429
 * at once, so the caller (the gateway or a client) decides whether to retry, and a slow request
 * never hides behind a pile of waiting ones. One exception: a slot whose client has gone away is
 * "draining" (its generation stops after the current token); a new request takes it over as soon
 * as it is released instead of getting a 429 for a slot that is as good as free. Because a
 * disconnect and the next request can reach the event loop in either order, a request that finds
 * every slot busy looks again after {@link BUSY_GRACE_MS} before it is refused.
 */
import { LlamaChat, LlamaCompletion } from 'node-llama-cpp';
import type { ChatWrapper, LlamaContext, LlamaContextSequence } from 'node-llama-cpp';

/** How long a request that finds all slots busy waits for a just-disconnected client to be noticed. */
export const BUSY_GRACE_MS = 25;

export class Slot {
  busy = false;
  /** Set when the slot's client went away: generation is stopping. */
  draining = false;
  /** Waiters for this slot's release (requests taking over a draining slot). */
  waiters: (() => void)[] = [];
  private completionEngine: LlamaCompletion | null = null;
  private chatEngine: LlamaChat | null = null;

  constructor(
    readonly id: number,
    readonly sequence: LlamaContextSequence,
  ) {}

  /** A text-completion generator bound to this slot's sequence (kept, so its KV cache is reused). */
  completion(): LlamaCompletion {
    this.completionEngine ??= new LlamaCompletion({ contextSequence: this.sequence, autoDisposeSequence: false });
    return this.completionEngine;
  }

  /** A chat generator bound to this slot's sequence. */
  chat(wrapper: ChatWrapper): LlamaChat {
    this.chatEngine ??= new LlamaChat({ contextSequence: this.sequence, chatWrapper: wrapper, autoDisposeSequence: false });
    return this.chatEngine;
  }
}

export class SlotPool {
  readonly slots: Slot[];

  constructor(context: LlamaContext | null, size: number) {
    this.slots = [];
    if (!context) return;
    for (let i = 0; i < size; i++) this.slots.push(new Slot(i, context.getSequence()));
  }

  get size(): number {
    return this.slots.length;
  }

  get busyCount(): number {
    return this.slots.filter((s) => s.busy).length;
  }

  /**
   * Takes a free slot, else waits for a draining one, else returns null (all busy). Call
   * {@link release} when done.
   */
  async acquire(): Promise<Slot | null> {
    return (await this.tryAcquire()) ?? (await new Promise((r) => setTimeout(r, BUSY_GRACE_MS)), await this.tryAcquire());
  }

  private async tryAcquire(): Promise<Slot | null> {
    const free = this.slots.find((s) => !s.busy);
    if (free) {
      free.busy = true;
      free.draining = false;
      return free;
    }
    const draining = this.slots.find((s) => s.draining && s.waiters.length === 0);
    if (!draining) return null;
    // release() hands the slot straight to us: it stays busy, nobody else can take it.
    await new Promise<void>((resolve) => draining.waiters.push(resolve));
    return draining;
  }

  /** Marks a slot as stopping because its client went away. */
  drain(slot: Slot): void {
    if (slot.busy) slot.draining = true;
  }

  release(slot: Slot): void {
    slot.draining = false;
    const next = slot.waiters.shift();
    if (next) next();
    else slot.busy = false;
  }
}
