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

/**
 * Why a cluster address is refused, or null for an IPv4 or IPv6 address or a host name: the
 * address alone (no scheme, port or brackets) that the other nodes of a span reach this node at.
 */
function clusterAddressProblem(address: string): string | null {
  const fix = 'give the address the other nodes reach this node at, alone (e.g. 10.0.0.2, fd00::2 or spark-2.lan), or "none" to clear it';
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(address)) return `"${address}" is a URL, not an address: ${fix}`;
  if (/^\[.*\](:\d+)?$/.test(address) || /^[^:]+:\d+$/.test(address)) return `"${address}" has a port or brackets (AIMA adds the ports Ray uses): ${fix}`;
  if (z.ipv4().safeParse(address).success) return address === '0.0.0.0' ? `0.0.0.0 means "every interface", which no other node can reach: ${fix}` : null;
  if (z.ipv6().safeParse(address).success) return /^[0:]+$/.test(address) ? `:: means "every interface", which no other node can reach: ${fix}` : null;
  // A host name's last label is never all digits: "10.0.0.300" is a mistyped IPv4 address.
  if (/(^|\.)\d+$/.test(address)) return `"${address}" is not a valid IPv4 address: ${fix}`;
  if (z.hostname().safeParse(address).success) return null;
  return `"${address}" is neither an IPv4 or IPv6 address nor a host name: ${fix}`;
}

/** The interface names Linux allows (IFNAMSIZ: at most 15 characters), less the rare ones NCCL's and Gloo's settings cannot hold. */
const interfaceName = /^[A-Za-z0-9][A-Za-z0-9._-]{0,14}$/;

/** `none` or empty: clears a cluster link setting (the CLI's `--cluster-address none`). */
const clears = (s: string) => /^(none)?$/i.test(s);

/** A cluster address as sent: a string (`none` or empty clears it) or null (clears it); parsed to the address or null. */
const ClusterAddressInput = z
  .string()
  .trim()
  .max(300)
  .nullable()
  .transform((s) => (s === null || clears(s) ? null : s))
  .superRefine((s, ctx) => {
    const problem = s === null ? null : clusterAddressProblem(s);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/** A cluster interface as sent: a name as `ip link` lists it (`none` or empty clears it) or null. */
const ClusterInterfaceInput = z
  .string()
  .trim()
  .max(100)
  .nullable()
  .transform((s) => (s === null || clears(s) ? null : s))
  .refine((s) => s === null || interfaceName.test(s), {
    message: 'not an interface name: give the name of the network interface of the link between the nodes as `ip link` lists it (up to 15 letters, digits, ".", "_" or "-", e.g. enp1s0f1np1), or "none" to clear it',
  });

/**
 * How the other nodes of a span reach a node (Ray, NCCL and Gloo traffic goes over this link):
 * set with `aima node set NAME --cluster-address IP --cluster-interface IF` or at `aima node add`.
 */
export const NodeClusterLink = z.object({
  /** The node's address on the cluster link (e.g. the IP of a DGX Spark's QSFP port). */
  address: z.string(),
  /** The interface NCCL and Gloo use (NCCL_SOCKET_IFNAME, GLOO_SOCKET_IFNAME); null leaves them their own choice. */
  interface: z.string().nullable(),
});
export type NodeClusterLink = z.infer<typeof NodeClusterLink>;

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
  /** How the other nodes of a span reach it; null while none is set. */
  cluster: NodeClusterLink.nullable(),
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
    /** The node's cluster link (as `nodes.set`); needed before a service spans it. */
    clusterAddress: ClusterAddressInput.optional(),
    clusterInterface: ClusterInterfaceInput.optional(),
    /** Reports the add's steps as `operation.progress` under this id; `operations.cancel` with it cancels the add (nothing is saved). */
    operationId: z.string().max(100).optional(),
  })
  .strict();
export type NodeAddParams = z.input<typeof NodeAddParams>;

export const NodeListParams = z
  .object({
    /** Read every node's facts again now (else the last read, refreshed when older than a minute). */
    refresh: z.boolean().optional(),
  })
  .strict();

/**
 * Changes a node's settings (`local` included): only the fields given. A null or `none` address
 * clears the link; an interface alone changes the interface of a link that has an address.
 */
export const NodeSetParams = z
  .object({
    name: z.string().min(1),
    clusterAddress: ClusterAddressInput.optional(),
    clusterInterface: ClusterInterfaceInput.optional(),
  })
  .strict();
export type NodeSetParams = z.input<typeof NodeSetParams>;

export const NodeRef = z.object({ name: z.string().min(1) }).strict();
export const NodeRemoveResult = z.object({ name: z.string(), removed: z.boolean() });
