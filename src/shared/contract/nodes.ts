/**
 * Nodes as the API shows them: Docker engines services may run on — the local one (`local`,
 * always listed) and engines on other machines added with `nodes.add`. The facts are the shape
 * of src/core/nodes/node-facts.ts (what the engine and, with the NVIDIA runtime, nvidia-smi report).
 */
import { z } from 'zod';

/** A node name: letters, digits, ".", "_", "-"; `local` is the local engine's. */
export const nodeName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a node name uses letters, digits, ".", "_" and "-", starting with a letter or digit');

export const nodeTransports = ['local', 'tcp-tls', 'ssh'] as const;

export const NodeGpu = z.object({ index: z.number().int(), name: z.string(), memoryTotalMiB: z.number(), memoryUsedMiB: z.number().nullable() });

export const NodeSummary = z.object({
  name: z.string(),
  /** How AIMA reaches the engine: its socket (`local`), `tcp://host:2376` with TLS, or `ssh://user@host`. */
  docker: z.string(),
  transport: z.enum(nodeTransports),
  reachable: z.boolean(),
  /** Why it is not reachable, with a fix; null when it is. */
  error: z.string().nullable(),
  arch: z.enum(['x64', 'arm64']).nullable(),
  dockerVersion: z.string().nullable(),
  cpus: z.number().int().nullable(),
  memoryBytes: z.number().nullable(),
  nvidiaRuntime: z.boolean(),
  gpus: z.array(NodeGpu),
  /** Why the GPU list may be incomplete (no image to run nvidia-smi in, nvidia-smi failed); null otherwise. */
  gpuNote: z.string().nullable(),
  /** The services placed on it. */
  services: z.array(z.string()),
  /** When the facts were last read (reachability changes between reads come as `nodes.changed`). */
  checkedAt: z.string().nullable(),
  createdAt: z.string().nullable(),
});
export type NodeSummary = z.infer<typeof NodeSummary>;

export const NodeAddParams = z
  .object({
    name: nodeName,
    /** `tcp://host:2376` (with tlsDir) or `ssh://user@host[:port]`. */
    docker: z.string().min(1).max(500),
    /** A folder on the core's machine holding ca.pem, cert.pem and key.pem (TCP nodes). */
    tlsDir: z.string().min(1).max(4096).optional(),
    /** SSH nodes: the private key file (default: the agent, then ~/.ssh/id_ed25519, id_ecdsa, id_rsa). */
    identityFile: z.string().min(1).max(4096).optional(),
    /** SSH nodes: the known_hosts file the host key must be in (default ~/.ssh/known_hosts). */
    knownHostsFile: z.string().min(1).max(4096).optional(),
  })
  .strict();
export type NodeAddParams = z.input<typeof NodeAddParams>;

export const NodeListParams = z
  .object({
    /** Read every node's facts again now (else the last read, refreshed when older than a minute). */
    refresh: z.boolean().optional(),
  })
  .strict();

export const NodeRef = z.object({ name: z.string().min(1) }).strict();
export const NodeRemoveResult = z.object({ name: z.string(), removed: z.boolean() });
