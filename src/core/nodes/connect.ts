/**
 * A dockerode client per node: the local engine (DOCKER_HOST or the default socket), a TCP engine
 * with mutual TLS (the node's CA and client certificate, the key from the secret store), or an SSH
 * engine through ssh/docker-ssh.ts (the user's agent or key, the host key checked against
 * known_hosts by AIMA). dockerode loads on the first client, not with this module.
 */
import { createRequire } from 'node:module';
import type Docker from 'dockerode';
import { AimaError } from '../../shared/errors.js';
import type { NodeRecord } from '../store/repositories/nodes-repo.js';
import { formatNodeEndpoint, type NodeEndpoint } from './endpoint.js';
import type { SshNodes } from './ssh/ssh-nodes.js';
import type { SshNodeTarget } from './ssh/ssh-target.js';
import type { NodeTlsFiles } from './tls-files.js';

/** Where a node's TLS client key, and an SSH node's identity file path, are kept in the secret store. */
export const tlsKeySecret = (node: string) => `node:${node}:tls-key`;
export const sshIdentitySecret = (node: string) => `node:${node}:ssh-identity`;

/** What an SSH node's connection uses besides its address. */
export type NodeSshOptions = Pick<SshNodeTarget, 'identityFile' | 'knownHostsFile'>;

/** The SSH target of an SSH endpoint. */
export function sshTarget(endpoint: Extract<NodeEndpoint, { kind: 'ssh' }>, ssh: NodeSshOptions): SshNodeTarget {
  return { url: formatNodeEndpoint(endpoint), ...(ssh.identityFile ? { identityFile: ssh.identityFile } : {}), ...(ssh.knownHostsFile ? { knownHostsFile: ssh.knownHostsFile } : {}) };
}

/** dockerode options for a TCP engine with mutual TLS. */
function tlsDockerOptions(endpoint: Extract<NodeEndpoint, { kind: 'tcp-tls' }>, tls: NodeTlsFiles): Docker.DockerOptions {
  return { host: endpoint.host, port: endpoint.port, protocol: 'https', ca: tls.ca, cert: tls.cert, key: tls.key };
}

/** The options to reach `endpoint`: TLS files for TCP; for SSH, the node's shared link (host key checked). */
export function nodeDockerOptions(endpoint: NodeEndpoint, tls: NodeTlsFiles | null, ssh: NodeSshOptions, sshNodes: SshNodes): Docker.DockerOptions {
  if (endpoint.kind === 'ssh') return sshNodes.get(sshTarget(endpoint, ssh)).options;
  if (!tls) throw new AimaError('bad-request', `A TCP node needs its TLS files: Docker's API without TLS lets anyone on the network run containers.`, 'Give --tls-dir with ca.pem, cert.pem and key.pem.');
  return tlsDockerOptions(endpoint, tls);
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
