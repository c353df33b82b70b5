/**
 * Where a Docker service reads its model: on `local`, the library's own files; on any other node,
 * the path the service names there (`modelPathOnNode`), since AIMA does not copy weights between
 * machines. The refusals are checked when a service is created (before any node is contacted) and
 * again when it is planned (pure; test/unit/model-on-node.test.ts).
 */
import { AimaError } from '../../../shared/errors.js';
import { LOCAL_NODE } from '../../nodes/node-facts.js';
import type { ModelOnNodes } from '../../cluster/span.js';

export interface ModelOnNodeInput {
  /** The node it runs on, or every node of a span. */
  nodes: readonly string[];
  /** The library model's name, or null for a service without a model. */
  model: string | null;
  modelPathOnNode: string | null;
}

/** A service's `modelPathOnNode` as the plans take it. */
export function modelOnNodesOf(modelPathOnNode: string | null | undefined): ModelOnNodes | null {
  return modelPathOnNode ? { kind: 'path', path: modelPathOnNode } : null;
}

/** The refusal for a node that would have to read this machine's files. */
export function modelNotOnNode(node: string, model: string | null): AimaError {
  return new AimaError(
    'bad-request',
    `Node "${node}" cannot read this machine's model files${model ? ` (model "${model}" is in this machine's library)` : ''}, and AIMA does not copy weights between machines.`,
    `Give --model-path-on-node PATH: where the model's files already are on node "${node}" (a file or a folder, as the engine loads the model; for a service across nodes, the same path on every node).`,
  );
}

/**
 * Throws when the model's place does not fit the nodes: a path without a model, a path for a
 * service on `local` alone (it reads the library's files), a model on another node without a path.
 */
export function checkModelOnNode(input: ModelOnNodeInput): void {
  const remote = input.nodes.find((n) => n !== LOCAL_NODE);
  if (input.modelPathOnNode !== null) {
    if (input.model === null) {
      throw new AimaError('bad-request', '--model-path-on-node says where the files of the service\'s model are on the node, but no --model was given.', 'Add --model NAME (the library entry that names the model and its format), or leave out --model-path-on-node.');
    }
    if (remote === undefined) {
      throw new AimaError('bad-request', `--model-path-on-node is for a service on another node: on "${LOCAL_NODE}" the service reads the library's files of model "${input.model}".`, 'Leave out --model-path-on-node, or give --node NAME for another node.');
    }
  } else if (remote !== undefined && input.model !== null) {
    throw modelNotOnNode(remote, input.model);
  }
}
