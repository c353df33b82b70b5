/**
 * What AIMA knows of one node (a Docker engine, local or on another machine): the shape the
 * placement step, the multi-node (Ray) plans and the Nodes views read. Filled by the nodes feature
 * from the engine's `version`/`info` and, where the NVIDIA runtime is present, from `nvidia-smi`
 * run in a short-lived container on that node.
 */
export interface NodeGpuFacts {
  index: number;
  name: string;
  memoryTotalMiB: number;
  memoryUsedMiB: number | null;
}

export interface NodeFacts {
  /** `local` for the engine the core talks to by default; otherwise the name given at `aima node add`. */
  name: string;
  reachable: boolean;
  /** Why it is not reachable, with a fix; null when reachable. */
  error: string | null;
  /** Docker's architecture name as the engine reports it (`x86_64`, `aarch64`), normalised: `x64` or `arm64`. */
  arch: 'x64' | 'arm64' | null;
  dockerVersion: string | null;
  cpus: number | null;
  memoryBytes: number | null;
  nvidiaRuntime: boolean;
  gpus: NodeGpuFacts[];
}

/** The name of the node every service used before nodes existed, and the default. */
export const LOCAL_NODE = 'local';
