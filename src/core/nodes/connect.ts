/**
 * A dockerode client per node: the local engine (DOCKER_HOST or the default socket), a TCP engine
 * with mutual TLS (the node's CA and client certificate, the key from the secret store), or an SSH
 * engine through the options the SSH transport provides (host key checked against known_hosts).
 * dockerode loads on the first client, not with this module.
 */
import { createRequire } from 'node:module';
import type Docker from 'dockerode';
import { AimaError } from '../../shared/errors.js';
import type { NodeRecord } from '../store/repositories/nodes-repo.js';
import type { NodeEndpoint } from './endpoint.js';
import type { NodeTlsFiles } from './tls-files.js';

/** Where a node's TLS client key is kept in the secret store. */
export const tlsKeySecret = (node: string) => `node:${node}:tls-key`;

/**
 * dockerode options for an SSH endpoint, host key verified (the SSH transport provides it);
 * absent where this build has none, and SSH nodes are refused with that reason.
 */
export type SshDockerOptions = (endpoint: Extract<NodeEndpoint, { kind: 'ssh' }>) => Docker.DockerOptions;

/** dockerode options for a TCP engine with mutual TLS. */
export function tlsDockerOptions(endpoint: Extract<NodeEndpoint, { kind: 'tcp-tls' }>, tls: NodeTlsFiles): Docker.DockerOptions {
  return { host: endpoint.host, port: endpoint.port, protocol: 'https', ca: tls.ca, cert: tls.cert, key: tls.key };
}

/** The options to reach `endpoint`: TLS files for TCP, the SSH transport's options for SSH. */
export function nodeDockerOptions(endpoint: NodeEndpoint, tls: NodeTlsFiles | null, ssh: SshDockerOptions | undefined): Docker.DockerOptions {
  if (endpoint.kind === 'tcp-tls') {
    if (!tls) throw new AimaError('bad-request', `A TCP node needs its TLS files: Docker's API without TLS lets anyone on the network run containers.`, 'Give --tls-dir with ca.pem, cert.pem and key.pem.');
    return tlsDockerOptions(endpoint, tls);
  }
  if (!ssh) {
    throw new AimaError('unavailable', 'SSH nodes are not available in this build: AIMA checks the host key against known_hosts itself, and that check is missing here.', 'Add the node over TCP with TLS: --docker tcp://host:2376 --tls-dir DIR.');
  }
  return ssh(endpoint);
}

/** The TLS files of a stored node: certificates from its row, the key from the secret store. */
export function storedTlsFiles(record: NodeRecord, secretKey: string | null): NodeTlsFiles | null {
  if (record.transport !== 'tcp-tls') return null;
  if (!record.tlsCa || !record.tlsCert || !secretKey) {
    throw new AimaError('unavailable', `The TLS credentials of node "${record.name}" are incomplete (${!secretKey ? 'its key is missing from the secret store' : 'its certificates are missing'}).`, `Remove the node (\`aima node rm ${record.name}\`) and add it again with --tls-dir.`);
  }
  return { ca: record.tlsCa, cert: record.tlsCert, key: secretKey };
}

export function createNodeClient(options: Docker.DockerOptions): Docker {
  const Dockerode = createRequire(import.meta.url)('dockerode') as typeof Docker;
  return new Dockerode(options);
}
