/**
 * What the scheduler needs to know about use, reported by those who see it (no polling):
 * - the gateway reports each request's start and end on the service that serves it (the replica
 *   its model's queue chose, the next one on a retry, and the service starting on demand for it
 *   while it starts); the end is the service's last use;
 * - the voice feature reports which models its live sessions hold.
 * Both are created by the core before the features and handed to the gateway, the voice feature
 * and the services' scheduler.
 */
export class ServiceActivity {
  private readonly inFlight = new Map<string, number>();
  private readonly lastUsed = new Map<string, number>();

  /** `service` began serving a request (or starting for one); call the returned function once it ends. */
  begin(service: string): () => void {
    this.inFlight.set(service, (this.inFlight.get(service) ?? 0) + 1);
    this.lastUsed.set(service, Date.now());
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      const n = (this.inFlight.get(service) ?? 1) - 1;
      if (n <= 0) this.inFlight.delete(service);
      else this.inFlight.set(service, n);
      this.lastUsed.set(service, Date.now());
    };
  }

  requests(service: string): number {
    return this.inFlight.get(service) ?? 0;
  }

  /** Epoch ms of the last request's start or end, or null when none was seen since the core started. */
  lastUsedAt(service: string): number | null {
    return this.lastUsed.get(service) ?? null;
  }

  /** Marks a service as used now (a start counts as use, so a fresh start is not the LRU one). */
  touch(service: string): void {
    this.lastUsed.set(service, Date.now());
  }
}

/** Models held by live voice sessions: their services are never stopped to make room or for idleness. */
export class VoiceUsage {
  private readonly held = new Map<object, string[]>();

  hold(owner: object, models: string[]): void {
    this.held.set(owner, models);
  }

  release(owner: object): void {
    this.held.delete(owner);
  }

  models(): Set<string> {
    return new Set([...this.held.values()].flat());
  }
}
