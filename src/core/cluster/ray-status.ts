/**
 * Reads `ray status -v` (run in the Ray head container) and judges whether the cluster is ready
 * for the engine: every node of the span joined, each showing its GPUs. Pure, so it is tested on
 * output the Ray project published (test/fixtures/ray).
 *
 * The format (Ray 2.x): a "Node status" section listing nodes under `Active:` and `Idle:` (older
 * Ray: `Healthy:`) as " COUNT NAME" lines; a "Resources" section whose `Usage:`/`Total Usage:`
 * lines read " USED/TOTAL RESOURCE"; with -v, one `Node: ...` block per node with its own usage.
 */

export interface RayStatus {
  /** Nodes that joined (active, idle or healthy). */
  nodes: number;
  /** GPUs in the whole cluster. */
  totalGpus: number;
  /** Each node's GPUs, from the per-node blocks of `-v` (null without them). */
  perNodeGpus: number[] | null;
}

const NODE_LIST_HEADERS = new Set(['Active:', 'Idle:', 'Healthy:']);
const GPU_USAGE = /^\s*[\d.]+[A-Za-z]*\/([\d.]+) GPU$/;

/** The counts of the node lists; null when the text is not `ray status` output at all. */
export function parseRayStatus(text: string): RayStatus | null {
  const lines = text.split(/\r?\n/);
  if (!lines.some((l) => l.startsWith('Node status'))) return null;
  let nodes = 0;
  let totalGpus = 0;
  let inNodeList = false;
  let inTotals = false;
  let perNode: number[] | null = null;
  for (const line of lines) {
    const trimmed = line.trim();
    if (!line.startsWith(' ')) {
      // A header line ends the section before it.
      inNodeList = NODE_LIST_HEADERS.has(trimmed);
      inTotals = trimmed === 'Usage:' || trimmed === 'Total Usage:';
      if (trimmed.startsWith('Node: ')) (perNode ??= []).push(0);
      continue;
    }
    if (inNodeList) {
      const m = /^(\d+) \S/.exec(trimmed);
      if (m) nodes += Number(m[1]);
      continue;
    }
    const gpu = GPU_USAGE.exec(line);
    if (!gpu) continue;
    if (perNode && perNode.length > 0) perNode[perNode.length - 1] = Number(gpu[1]);
    else if (inTotals) totalGpus = Number(gpu[1]);
  }
  return { nodes, totalGpus, perNodeGpus: perNode };
}

export type RayReadiness = { ready: true } | { ready: false; why: string };

/**
 * Ready when at least `expectGpus.length` nodes joined and their GPUs cover what each node of the
 * span has (`expectGpus[i]`: node i's GPUs as its engine reports them).
 */
export function rayReadiness(status: RayStatus | null, expectGpus: readonly number[]): RayReadiness {
  if (!status) return { ready: false, why: 'the Ray head does not answer `ray status` yet' };
  const want = expectGpus.reduce((a, b) => a + b, 0);
  if (status.nodes < expectGpus.length) return { ready: false, why: `${status.nodes} of ${expectGpus.length} nodes joined the Ray cluster` };
  if (status.totalGpus < want) return { ready: false, why: `the Ray cluster shows ${status.totalGpus} of ${want} GPUs` };
  if (status.perNodeGpus) {
    // Largest first on both sides: each node of the span needs a Ray node with at least its GPUs.
    const have = [...status.perNodeGpus].sort((a, b) => b - a);
    const need = [...expectGpus].sort((a, b) => b - a);
    const short = need.findIndex((n, i) => (have[i] ?? 0) < n);
    if (short >= 0) return { ready: false, why: `a node with ${need[short]} GPUs has not shown them in the Ray cluster (per node: ${status.perNodeGpus.join(', ')})` };
  }
  return { ready: true };
}
