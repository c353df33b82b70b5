/**
 * What `--docker` names: a TCP engine with TLS (`tcp://host:2376`) or one reached over SSH
 * (`ssh://user@host[:port]`). Pure: parsed and refused here with the fix, before any file is read
 * or any connection opened.
 */
import { AimaError } from '../../shared/errors.js';
import { hostForPort, unbracketHost } from '../../shared/host-port.js';

export type NodeEndpoint = { kind: 'tcp-tls'; host: string; port: number } | { kind: 'ssh'; user: string; host: string; port: number };

const EXAMPLES = 'e.g. tcp://gpu-box:2376 (with --tls-dir) or ssh://me@gpu-box';

/** Parses a node's Docker endpoint; throws a bad-request naming what is wrong. */
export function parseNodeEndpoint(raw: string): NodeEndpoint {
  let url: URL;
  try {
    if (!raw.includes('://')) throw new Error('no scheme');
    url = new URL(raw);
  } catch {
    throw new AimaError('bad-request', `"${raw}" is not a Docker endpoint URL.`, `Give --docker as a URL, ${EXAMPLES}.`);
  }
  if (!['tcp:', 'https:', 'ssh:', 'http:'].includes(url.protocol)) {
    throw new AimaError('bad-request', `"${raw}" uses ${url.protocol.replace(/:$/, '')}, which is not a Docker endpoint AIMA can use for a node.`, `Use ${EXAMPLES}.`);
  }
  const host = unbracketHost(url.hostname);
  if (!host) throw new AimaError('bad-request', `The Docker endpoint "${raw}" names no host.`, `Give the host, ${EXAMPLES}.`);
  if (url.pathname && url.pathname !== '/') throw new AimaError('bad-request', `The Docker endpoint "${raw}" has a path (${url.pathname}); an engine is a host and a port.`, `Leave out the path, ${EXAMPLES}.`);
  switch (url.protocol) {
    case 'tcp:':
    case 'https:':
      if (url.username || url.password) throw new AimaError('bad-request', `A TCP Docker endpoint takes no user name ("${raw}").`, 'TCP engines authenticate with the TLS client certificate in --tls-dir.');
      return { kind: 'tcp-tls', host, port: url.port ? Number(url.port) : 2376 };
    case 'ssh:':
      if (!url.username) throw new AimaError('bad-request', `The SSH endpoint "${raw}" names no user.`, 'Give it as ssh://user@host.');
      return { kind: 'ssh', user: decodeURIComponent(url.username), host, port: url.port ? Number(url.port) : 22 };
    default:
      throw new AimaError('bad-request', `"${raw}" is Docker's API in clear: anyone on the network could run containers there.`, 'Use tcp://host:2376 with TLS (--tls-dir), or ssh://user@host.');
  }
}

/** The endpoint as a URL again (how nodes are stored and shown). */
export function formatNodeEndpoint(e: NodeEndpoint): string {
  const host = hostForPort(e.host);
  return e.kind === 'ssh' ? `ssh://${encodeURIComponent(e.user)}@${host}${e.port === 22 ? '' : `:${e.port}`}` : `tcp://${host}:${e.port}`;
}
