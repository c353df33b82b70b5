/**
 * Admission for one model over all its running replicas. A request takes a slot on the replica
 * with the fewest requests in flight ({@link pickReplica}); when every replica is full it waits in
 * the model's one FIFO queue (bounded, with a wait timeout) and takes the first replica that
 * frees up. Slots are per service and outlive routing-table rebuilds, so a replica's in-flight
 * count stays right while services come and go; a replica that leaves rotation keeps counting
 * its requests until they end.
 */
import type { RoutableModel } from './directory.js';
import { AdmissionRefused } from './limiter.js';
import { pickReplica } from './replica-pick.js';

/** One upstream's slots (a service, or a remote's model). */
export interface ReplicaSlot {
  readonly key: string;
  active: number;
  lastPicked: number;
  /** The queue it belongs to now: a release lets that queue's next waiter in. */
  owner: ModelQueue | null;
}

export interface Lease {
  target: RoutableModel;
  slotKey: string;
  release(): void;
}

/** What the queue knows about a waiting request (for its position, ETA and the live view). */
export interface WaitingRequest {
  id: number;
  /** The client's own id (`x-request-id`), so a client can find itself in the live view. */
  clientId: string | null;
  endpoint: string;
  /** Date.now() when it started waiting. */
  since: number;
  /** 1-based position when it arrived. */
  arrivedAt: number;
}

interface Waiter {
  info: WaitingRequest;
  exclude: ReadonlySet<string> | null;
  resolve: (lease: Lease) => void;
  reject: (err: AdmissionRefused) => void;
  cleanup: () => void;
}

interface Replica {
  entry: RoutableModel;
  slot: ReplicaSlot;
  limit: number;
}

export function slotKeyOf(m: RoutableModel): string {
  return m.owner.type === 'service' ? `service:${m.owner.service}` : `remote:${m.owner.remote}:${m.upstreamModel}`;
}

let pickCounter = 0;

export class ModelQueue {
  private replicas: Replica[] = [];
  private readonly waiting: Waiter[] = [];
  private maxQueue = 0;
  private timeoutMs = 0;
  /** Slots this queue has used, running or not: its in-flight count. */
  private readonly known = new Set<ReplicaSlot>();

  constructor(
    readonly model: string,
    private readonly slots: Map<string, ReplicaSlot>,
    /** The waiting list changed (or the room did): positions and ETAs moved. */
    private readonly onChange: (q: ModelQueue) => void,
  ) {}

  /**
   * The model's running replicas and the queue's limits now (called per request: an unchanged
   * set costs a walk over the replicas); new room lets waiters in.
   */
  configure(running: readonly RoutableModel[], maxQueue: number, timeoutMs: number): void {
    this.maxQueue = maxQueue;
    this.timeoutMs = timeoutMs;
    const same = running.length === this.replicas.length && running.every((m, i) => this.replicas[i]!.entry === m && this.replicas[i]!.limit === Math.max(1, m.concurrency));
    if (same) return;
    const before = this.slotCount;
    this.replicas = running.map((entry) => {
      const key = slotKeyOf(entry);
      let slot = this.slots.get(key);
      if (!slot) this.slots.set(key, (slot = { key, active: 0, lastPicked: 0, owner: this }));
      slot.owner = this;
      this.known.add(slot);
      return { entry, slot, limit: Math.max(1, entry.concurrency) };
    });
    this.drain();
    if (this.waiting.length > 0 && this.slotCount !== before) this.onChange(this);
  }

  /** Parallel slots over the running replicas. */
  get slotCount(): number {
    let n = 0;
    for (const r of this.replicas) n += r.limit;
    return n;
  }
  get queued(): number {
    return this.waiting.length;
  }
  get inFlight(): number {
    let n = 0;
    for (const s of this.known) n += s.active;
    return n;
  }
  get replicaCount(): number {
    return this.replicas.length;
  }

  /** The waiting requests in order (position = index + 1). */
  waitingList(): readonly WaitingRequest[] {
    return this.waiting.map((w) => w.info);
  }

  /** A slot now, or null when the caller must queue (nobody waits ahead and a replica has room). */
  tryAcquire(exclude: ReadonlySet<string> | null = null): Lease | null {
    if (this.waiting.length > 0) return null;
    const i = this.pick(exclude);
    return i === -1 ? null : this.grant(this.replicas[i]!);
  }

  /** Resolves with a lease once a replica has room; refuses when the queue is full, on timeout or abort. */
  acquire(info: Omit<WaitingRequest, 'arrivedAt' | 'since'>, signal: AbortSignal, exclude: ReadonlySet<string> | null = null): Promise<Lease> {
    if (signal.aborted) return Promise.reject(new AdmissionRefused({ kind: 'aborted' }));
    const now = this.tryAcquire(exclude);
    if (now) return Promise.resolve(now);
    if (this.waiting.length >= this.maxQueue) {
      return Promise.reject(new AdmissionRefused({ kind: 'queue-full', queued: this.waiting.length, limit: this.slotCount }));
    }
    return new Promise((resolve, reject) => {
      const started = Date.now();
      const timer = setTimeout(() => {
        remove();
        reject(new AdmissionRefused({ kind: 'timeout', waitedMs: Date.now() - started }));
      }, this.timeoutMs);
      const onAbort = () => {
        remove();
        reject(new AdmissionRefused({ kind: 'aborted' }));
      };
      const remove = () => {
        const i = this.waiting.indexOf(waiter);
        waiter.cleanup();
        if (i >= 0) {
          this.waiting.splice(i, 1);
          this.onChange(this);
        }
      };
      const waiter: Waiter = {
        info: { ...info, since: started, arrivedAt: this.waiting.length + 1 },
        exclude,
        resolve,
        reject,
        cleanup: () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
        },
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
      this.onChange(this);
    });
  }

  /** Lets waiters in while a replica has room (FIFO: the head waits for a replica it may use). */
  drain(): void {
    let moved = false;
    while (this.waiting.length > 0) {
      const head = this.waiting[0]!;
      const i = this.pick(head.exclude);
      if (i === -1) break;
      this.waiting.shift();
      head.cleanup();
      head.resolve(this.grant(this.replicas[i]!));
      moved = true;
    }
    if (moved) this.onChange(this);
  }

  private pick(exclude: ReadonlySet<string> | null): number {
    const rs = this.replicas;
    if (rs.length === 1) {
      const r = rs[0]!;
      return r.slot.active < r.limit && !exclude?.has(r.slot.key) ? 0 : -1;
    }
    return pickReplica(rs.map((r) => ({ inFlight: r.slot.active, limit: r.limit, lastPicked: r.slot.lastPicked, excluded: exclude?.has(r.slot.key) ?? false })));
  }

  private grant(r: Replica): Lease {
    const slot = r.slot;
    slot.active++;
    slot.lastPicked = ++pickCounter;
    let released = false;
    return {
      target: r.entry,
      slotKey: slot.key,
      release: () => {
        if (released) return;
        released = true;
        slot.active--;
        slot.owner?.drain();
      },
    };
  }
}
