/**
 * How the gateway reaches a service's engine on a node, decided from the engine's catalog data and
 * how AIMA talks to the node's Docker engine. Pure (table-tested). An engine's port is never open
 * to a network in clear:
 * - the local node: published on the core's loopback, as before nodes existed;
 * - an SSH node: published on the node's own loopback and reached through an SSH tunnel
 *   (../ssh/tunnel.ts) over the connection AIMA already trusts;
 * - a TCP node (Docker's API with TLS): the engine serves TLS with a certificate from the install
 *   CA and requires a per-service key, which the gateway adds; an engine without such flags is refused.
 */
import { AimaError } from '../../../shared/errors.js';
import type { EngineEntry, RemoteAccess } from '../../engines/catalog-schema.js';

/** How AIMA talks to a node's Docker engine (the nodes contract's transports). */
export type NodeTransport = 'local' | 'tcp-tls' | 'ssh';

/** Where the TLS files are put inside the engine's container (see container-files.ts). */
const ENGINE_TLS_DIR = '/run/aima-tls';
export const ENGINE_TLS_KEY = `${ENGINE_TLS_DIR}/key.pem`;
export const ENGINE_TLS_CERT = `${ENGINE_TLS_DIR}/cert.pem`;

export type RemoteReach =
  /** The local node: the engine's port on the core's loopback, as for every service before nodes. */
  | { kind: 'direct' }
  /** Publish on the node's 127.0.0.1; the gateway reaches it through an SSH tunnel to that port. */
  | { kind: 'ssh-tunnel'; publishHost: '127.0.0.1' }
  /** Publish on the node's address; the engine serves TLS and requires the per-service key. */
  | { kind: 'tls'; access: RemoteAccess }
  | { kind: 'refused'; error: AimaError };

/** Decides how a service of `engine` on a node reached over `transport` is reached safely. */
export function remoteReach(engine: Pick<EngineEntry, 'id' | 'name' | 'runtime'> & { remoteAccess?: RemoteAccess }, transport: NodeTransport, node: string): RemoteReach {
  if (transport === 'local') return { kind: 'direct' };
  if (engine.runtime !== 'docker') {
    return {
      kind: 'refused',
      error: new AimaError('bad-request', `${engine.name} runs as a process on this machine, so it cannot run on node "${node}".`, 'Pick a Docker engine for services on other nodes (vLLM, SGLang, llama.cpp server).'),
    };
  }
  if (transport === 'ssh') return { kind: 'ssh-tunnel', publishHost: '127.0.0.1' };
  if (engine.remoteAccess) return { kind: 'tls', access: engine.remoteAccess };
  return {
    kind: 'refused',
    error: new AimaError(
      'bad-request',
      `${engine.name} cannot serve TLS with a key, so on node "${node}" (reached over TCP) its port would be open to the network in clear.`,
      `Add the node over SSH (\`aima node add NAME --docker ssh://user@host\`): AIMA then reaches the engine through an SSH tunnel to the node's loopback. Or pick an engine with TLS and key flags (vLLM, SGLang, llama.cpp server).`,
    ),
  };
}

/** The engine arguments that turn on TLS from the files in ENGINE_TLS_DIR and require `apiKey`. */
export function tlsEngineArgs(access: RemoteAccess, apiKey: string): string[] {
  return [access.tlsKeyFileFlag, ENGINE_TLS_KEY, access.tlsCertFileFlag, ENGINE_TLS_CERT, access.apiKeyFlag, apiKey];
}
