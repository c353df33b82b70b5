/**
 * The refusals of a spanning service, before any container exists on any node: an engine that
 * cannot span nodes, too few or repeated nodes, an unknown or unreachable node, a node without
 * GPUs or a cluster address, nodes of different architectures, more GPUs asked for than the
 * nodes have, a node that cannot read the model, and a head whose engine could not be reached
 * safely (its port open in clear). Pure; each refusal names its fix.
 */
import { AimaError } from '../../shared/errors.js';
import type { DockerEngineEntry, EngineEntry, MultiNode } from '../engines/catalog-schema.js';
import { LOCAL_NODE, type NodeFacts } from '../nodes/node-facts.js';
import { remoteReach, type NodeTransport } from '../nodes/reach/remote-reach.js';
import type { ModelOnNodes, NodeClusterLink, SpanReach, SpanSettings } from './span.js';
import { modelNotOnNode } from '../runtimes/docker/model-on-node.js';

export interface SpanCheckInput {
  engine: EngineEntry;
  span: SpanSettings;
  /** The registry's facts of a node, null for a name it does not know. */
  nodeFacts: (name: string) => NodeFacts | null;
  /** The node's cluster link setting, null when it has none. */
  clusterLink: (name: string) => NodeClusterLink | null;
  modelOnNodes: ModelOnNodes | null;
  /** Whether the service has a model at all (an engine whose model is optional may run without). */
  hasModel: boolean;
  /** How AIMA talks to a node's Docker engine (the nodes registry's); without it every node counts as `local`. */
  transport?: (name: string) => NodeTransport;
}

/** A node of the span as validated: its facts and cluster link. */
export interface SpanNode {
  name: string;
  facts: NodeFacts;
  link: NodeClusterLink;
}

interface CheckedSpan {
  engine: DockerEngineEntry & { multiNode: MultiNode };
  nodes: SpanNode[];
  reach: SpanReach;
}

const bad = (message: string, fix: string) => new AimaError('bad-request', message, fix);

/** Throws the first refusal; returns the engine and the nodes' facts when the span can be planned. */
export function checkSpan(input: SpanCheckInput): CheckedSpan {
  const { engine, span } = input;
  if (engine.runtime !== 'docker' || !engine.multiNode) {
    throw bad(`Engine "${engine.id}" cannot serve one model across nodes.`, 'Use an engine whose catalog entry has "multiNode" (vllm or sglang), or run the service on one node with --node.');
  }
  if (span.nodes.length < 2) {
    throw bad(`--nodes names ${span.nodes.length === 1 ? `one node (${span.nodes[0]})` : 'no node'}; a model across nodes needs two or more.`, 'Name the nodes as --nodes a,b (the first is the head), or use --node for one node.');
  }
  const repeated = span.nodes.filter((n, i) => span.nodes.indexOf(n) !== i);
  if (repeated.length > 0) throw bad(`--nodes names ${repeated[0]} more than once.`, 'Name each node once: one engine container per node uses all its GPUs.');

  const nodes: SpanNode[] = span.nodes.map((name) => {
    const facts = input.nodeFacts(name);
    if (!facts) throw new AimaError('not-found', `Node "${name}" is not known.`, `See \`aima node list\`; add it with \`aima node add ${name} --docker ssh://user@host\`.`);
    if (!facts.reachable) throw new AimaError('unavailable', `Node "${name}" is not reachable${facts.error ? `: ${facts.error}` : '.'}`, `Bring its Docker engine back (\`aima node list\` shows its state), or leave it out of --nodes.`);
    if (facts.gpus.length === 0) {
      throw bad(`Node "${name}" has no GPU that AIMA can see${facts.nvidiaRuntime ? '' : ' (its Docker engine has no NVIDIA runtime)'}.`, 'Install the NVIDIA driver and container toolkit there, or leave the node out of --nodes.');
    }
    const link = input.clusterLink(name);
    if (!link) {
      throw bad(`Node "${name}" has no cluster address: Ray, NCCL and Gloo need the address the other nodes reach it at.`, `Set it with \`aima node set ${name} --cluster-address IP --cluster-interface IF\` (the interface of the link between the nodes).`);
    }
    return { name, facts, link };
  });

  const archs = [...new Set(nodes.map((n) => n.facts.arch ?? 'unknown'))];
  if (archs.length > 1) {
    throw bad(`The nodes are of different architectures (${nodes.map((n) => `${n.name}: ${n.facts.arch ?? 'unknown'}`).join(', ')}); every node of a span runs the same engine build.`, 'Span nodes of one architecture.');
  }

  const want = span.tensorParallel * span.pipelineParallel;
  const have = nodes.reduce((sum, n) => sum + n.facts.gpus.length, 0);
  if (want > have) {
    throw bad(
      `--tensor-parallel ${span.tensorParallel} × --pipeline-parallel ${span.pipelineParallel} = ${want} GPUs, but the nodes have ${have} (${nodes.map((n) => `${n.name}: ${n.facts.gpus.length}`).join(', ')}).`,
      `Ask for at most ${have} GPUs in all (e.g. --tensor-parallel ${nodes[0]!.facts.gpus.length} --pipeline-parallel ${nodes.length}), or add nodes.`,
    );
  }

  const remote = nodes.find((n) => n.name !== LOCAL_NODE);
  if (remote && input.hasModel && !input.modelOnNodes) throw modelNotOnNode(remote.name, null);
  const reach = spanHeadReach(engine as CheckedSpan['engine'], nodes[0]!.name, input.transport?.(nodes[0]!.name) ?? 'local');
  return { engine: engine as CheckedSpan['engine'], nodes, reach };
}

/**
 * How the span's engine is reached: the head serves HTTP, so its node decides as for a single
 * container there (remote-reach.ts). Refused, before anything exists on any node, when the head is
 * a TCP node and the engine has no TLS and key flags: its port would be open to the network in clear.
 */
export function spanHeadReach(engine: DockerEngineEntry, head: string, transport: NodeTransport): SpanReach {
  const reach = remoteReach(engine, transport, head);
  switch (reach.kind) {
    case 'direct':
      return { kind: 'direct' };
    case 'ssh-tunnel':
      return { kind: 'ssh-tunnel' };
    case 'tls':
      return { kind: 'tls', access: reach.access };
    case 'refused':
      throw bad(
        `${engine.name} cannot serve TLS with a key, so on node "${head}", the head of the span (reached over TCP), its HTTP port would be open to the network in clear.`,
        `Put \`local\` or a node added over SSH first in --nodes (only the head serves HTTP; AIMA reaches an SSH node's engine through an SSH tunnel), add "${head}" over SSH (\`aima node add NAME --docker ssh://user@host\`), or pick an engine with TLS and key flags (vLLM, SGLang).`,
      );
  }
}
