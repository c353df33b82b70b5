/**
 * The Docker plan's host facts for a node: image candidates are chosen by the architecture and
 * GPUs of the node a container runs on, not by the machine AIMA runs on. The limits (environment
 * and the engineResources setting) are the install's, the same on every node.
 */
import type { NodeFacts } from '../../nodes/node-facts.js';
import type { DockerHostFacts } from './plan.js';

export function dockerFactsForNode(node: NodeFacts, install: Pick<DockerHostFacts, 'env' | 'resources'>): DockerHostFacts {
  return {
    // An engine that did not say rules out every candidate that names an architecture (eligibleImages says why).
    arch: node.arch ?? 'unknown',
    // The node's GPUs are listed by nvidia-smi run through the NVIDIA runtime: they are NVIDIA's.
    gpuVendor: node.gpus.length > 0 ? 'nvidia' : null,
    // Not among the node's facts: candidates are not filtered by it on other nodes.
    computeCapability: null,
    env: install.env,
    ...(install.resources ? { resources: install.resources } : {}),
  };
}
