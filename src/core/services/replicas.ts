/**
 * Replicas: several services that serve one model, each a full service (own process, port, log
 * and state machine). The primary NAME keeps its name; its replicas are NAME-2, NAME-3, ... with
 * the primary's model, engine, device, GPUs and settings, and a port of their own (0 = auto).
 * The plan of a scale is pure; the services feature carries it out.
 */
import type { ServiceSummary } from '../../shared/contract/services.js';

/** The name of the primary's k-th service (k >= 2). */
export function replicaName(primary: string, k: number): string {
  return `${primary}-${k}`;
}

/** k when `name` is `<primary>-<k>` with k >= 2, else null. */
export function replicaIndex(primary: string, name: string): number | null {
  if (!name.startsWith(`${primary}-`)) return null;
  const k = Number(name.slice(primary.length + 1));
  return Number.isInteger(k) && k >= 2 ? k : null;
}

export interface ScalePlan {
  /** Names to create, lowest free index first. */
  add: string[];
  /** Names to stop and remove, highest-numbered first. */
  remove: string[];
}

/**
 * From the primary's current replicas to `target` services in all (the primary counts): adds fill
 * the lowest free indexes, removals take the highest-numbered replicas first.
 */
export function planScale(primary: string, replicas: readonly string[], target: number): ScalePlan {
  const want = Math.max(0, target - 1);
  const byIndex = replicas.map((name) => ({ name, k: replicaIndex(primary, name) ?? Number.MAX_SAFE_INTEGER })).sort((a, b) => a.k - b.k || a.name.localeCompare(b.name));
  if (byIndex.length > want) return { add: [], remove: byIndex.slice(want).map((r) => r.name).reverse() };
  const taken = new Set(byIndex.map((r) => r.k));
  const add: string[] = [];
  for (let k = 2; add.length < want - byIndex.length; k++) if (!taken.has(k)) add.push(replicaName(primary, k));
  return { add, remove: [] };
}

/** The replicas of `primary` among `all`, in index order. */
export function replicasOf(all: readonly ServiceSummary[], primary: string): ServiceSummary[] {
  return all.filter((s) => s.replicaOf === primary).sort((a, b) => (replicaIndex(primary, a.name) ?? 0) - (replicaIndex(primary, b.name) ?? 0));
}
