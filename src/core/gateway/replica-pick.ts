/**
 * Which replica of a model takes the next request: the pure decision, table-tested. Fewest
 * requests in flight first, so a slow replica (whose requests pile up) gets fewer new ones than a
 * fast one — a round-robin would hand both the same number; ties go to the replica picked least
 * recently, so an idle pair alternates.
 */

export interface ReplicaLoad {
  inFlight: number;
  /** Parallel slots (the service's concurrency). */
  limit: number;
  /** When it was last picked (a counter; 0 = never). */
  lastPicked: number;
  /** Left out of this pick (it refused this request's connection a moment ago). */
  excluded?: boolean;
}

/** The index of the replica to use, or -1 when every eligible replica is full (the request waits). */
export function pickReplica(replicas: readonly ReplicaLoad[]): number {
  let best = -1;
  for (let i = 0; i < replicas.length; i++) {
    const r = replicas[i]!;
    if (r.excluded || r.inFlight >= r.limit) continue;
    if (best === -1) {
      best = i;
      continue;
    }
    const b = replicas[best]!;
    if (r.inFlight < b.inFlight || (r.inFlight === b.inFlight && r.lastPicked < b.lastPicked)) best = i;
  }
  return best;
}
