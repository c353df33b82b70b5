/**
 * Whether a group an earlier core left can be adopted (pure; test/unit/span-adoption.test.ts):
 * one running member per node of the span, carrying that node's rank, and the labels adoption
 * reads (where the engine serves and logs). Anything else has failed while no core watched.
 */
import { LABEL_HOST, LABEL_LOG, LABEL_PORT, LABEL_REACH } from '../runtimes/docker/docker-runtime.js';

/** On the head member when the engine runs as an exec in it (Ray): adoption looks for that exec. */
export const ENGINE_EXEC_LABEL = 'aima.span.exec';

/** A member as its node lists it (the node it was listed on, its labels, whether it runs). */
export interface FoundMember {
  node: string;
  labels: Record<string, string>;
  running: boolean;
}

export type GroupVerdict =
  /** `tls`: the engine serves TLS with the service's stored key (a head on a TCP node). */
  | { whole: true; host: string; port: number; logFile: string; engineExec: boolean; tls: boolean }
  | { whole: false; why: string; logFile: string | null };

/** `nodes`: the span's nodes, the head first; `found`: every member listed on them. */
export function judgeFoundGroup(nodes: readonly string[], found: readonly FoundMember[]): GroupVerdict {
  const logFile = found.find((f) => f.labels[LABEL_LOG])?.labels[LABEL_LOG] ?? null;
  const missing = nodes.filter((node, rank) => !found.some((f) => f.node === node && f.labels['aima.rank'] === String(rank) && f.running));
  if (missing.length > 0) return { whole: false, why: `its member${missing.length > 1 ? 's' : ''} on ${missing.join(', ')} ended or went while no AIMA core watched`, logFile };
  if (found.length !== nodes.length) return { whole: false, why: 'a node has more than one member', logFile };
  const head = found.find((f) => f.node === nodes[0])!; // every node has its member by now
  const port = Number(head.labels[LABEL_PORT]);
  if (!logFile || !Number.isInteger(port) || port <= 0) return { whole: false, why: 'it was started without the labels adoption reads', logFile };
  return { whole: true, host: head.labels[LABEL_HOST] ?? '127.0.0.1', port, logFile, engineExec: head.labels[ENGINE_EXEC_LABEL] !== undefined, tls: head.labels[LABEL_REACH] === 'tls' };
}
