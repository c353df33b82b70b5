/**
 * Where a service's container publishes its port and where the gateway reaches it — the one
 * place that decides it per node. Locally: the loopback address the core binds engines to. On
 * another machine's node: that node's address (from its Docker endpoint), so the gateway on this
 * machine can reach the engine; how that path is secured (a TLS engine with a per-service key, or
 * an SSH tunnel to the node's loopback) is decided here too.
 */
import { LOCAL_NODE } from './node-facts.js';

export interface ServiceEndpoint {
  /** The host address the container's port is published on. */
  publishHost: string;
  /** The address the gateway and the health probe connect to. */
  upstreamHost: string;
}

/** `nodeAddress`: the node's host as its Docker endpoint names it (null for the local node). */
export function serviceEndpointOn(node: string, nodeAddress: string | null, localBindHost: string): ServiceEndpoint {
  if (node === LOCAL_NODE || nodeAddress === null) return { publishHost: localBindHost, upstreamHost: localBindHost };
  return { publishHost: nodeAddress, upstreamHost: nodeAddress };
}
