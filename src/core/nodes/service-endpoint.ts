/**
 * Where a service's container publishes its port and where the gateway reaches it — the one
 * place that decides it per node (remote-reach.ts decides the same per engine). Locally: the
 * loopback address the core binds engines to. On an SSH node: the node's own 127.0.0.1, reached
 * through an SSH tunnel whose listener is on this machine's 127.0.0.1 (the tunnel's port is known
 * once it opens). On a TCP node: the node's address (from its Docker endpoint), where the engine
 * serves TLS and requires a per-service key.
 */
import { LOCAL_NODE } from './node-facts.js';
import type { NodeTransport } from './reach/remote-reach.js';

export interface ServiceEndpoint {
  /** The host address the container's port is published on (on the node). */
  publishHost: string;
  /** The address the gateway and the health probe connect to (from this machine). */
  upstreamHost: string;
}

/** `nodeAddress`: the node's host as its Docker endpoint names it (null for the local node). */
export function serviceEndpointOn(node: string, transport: NodeTransport, nodeAddress: string | null, localBindHost: string): ServiceEndpoint {
  if (node === LOCAL_NODE || transport === 'local' || nodeAddress === null) return { publishHost: localBindHost, upstreamHost: localBindHost };
  if (transport === 'ssh') return { publishHost: '127.0.0.1', upstreamHost: '127.0.0.1' };
  return { publishHost: nodeAddress, upstreamHost: nodeAddress };
}
