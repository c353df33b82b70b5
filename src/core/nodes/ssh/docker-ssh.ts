/**
 * Docker engines on SSH nodes: dockerode options for `ssh://user@host[:port]` whose SSH connections
 * (docker-modem opens one per request and runs `docker system dial-stdio` on the node) use the
 * user's agent or keys and AIMA's known_hosts check, and a first check of a node that says exactly
 * what is missing (host key, credentials, the docker CLI or the daemon on the node).
 */
import type Docker from 'dockerode';
import { SshNodeError, describeEndpoint, loadSsh2, sshConnection, type SshEndpoint, type SshNodeTarget } from './ssh-target.js';

export interface SshDocker {
  endpoint: SshEndpoint;
  /** For `new Docker(options)`. */
  options: Docker.DockerOptions;
  /** Turns an error from a Docker call over these options into a refusal with a fix, when it can tell. */
  explain(err: unknown): Error;
}

/** dockerode options for a Docker engine reached over SSH, with the host key checked against known_hosts. */
export function sshDockerOptions(target: SshNodeTarget): SshDocker {
  const conn = sshConnection(target);
  // docker-modem adds host, port and username from the options below to every SSH connection.
  const { host: _host, port: _port, username: _user, ...sshOptions } = conn.config;
  return {
    endpoint: conn.endpoint,
    options: { protocol: 'ssh', host: conn.endpoint.host, port: conn.endpoint.port, username: conn.endpoint.user, sshOptions },
    explain: conn.explain,
  };
}

export interface SshDockerCheck {
  /** The node engine's version as `docker version` reports it. */
  serverVersion: string;
}

const CHECK_COMMAND = "docker version --format '{{.Server.Version}}'";

/**
 * Connects once and runs `docker version` on the node, so `node add` can refuse with the precise
 * reason (host key, credentials, no docker CLI for that user, no access to the daemon) before it
 * stores anything. The same command docker-modem's `docker system dial-stdio` needs must work.
 */
export async function checkSshDocker(target: SshNodeTarget, signal?: AbortSignal): Promise<SshDockerCheck> {
  const conn = sshConnection(target);
  const where = describeEndpoint(conn.endpoint);
  const client = new (loadSsh2().Client)();
  const onAbort = () => client.end();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      client
        .once('ready', () => {
          client.exec(CHECK_COMMAND, (err, stream) => {
            if (err) return reject(err);
            let stdout = '';
            let stderr = '';
            stream.on('data', (d: Buffer) => (stdout += d.toString()));
            stream.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
            stream.once('close', (exit: number | null) => resolve({ code: exit, stdout, stderr }));
          });
        })
        .once('error', reject)
        .once('close', () => reject(new Error(signal?.aborted ? 'cancelled' : `the SSH connection to ${where} closed`)))
        .connect(conn.config);
    }).catch((err: unknown) => {
      throw conn.explain(err);
    });
    if (code === 0 && stdout.trim()) return { serverVersion: stdout.trim() };
    const said = stderr.trim().split('\n').pop() ?? '';
    if (code === 127 || /not found/i.test(said)) {
      throw new SshNodeError('docker-missing', 'unavailable', `The docker CLI is not on PATH for ${where} (${said || `exit ${code}`}).`, 'Install Docker on the node (the docker CLI included), in a directory on the PATH of non-interactive SSH sessions (e.g. /usr/bin).');
    }
    if (/permission denied/i.test(said)) {
      throw new SshNodeError('docker-denied', 'forbidden', `${where} may not use the node's Docker daemon: ${said}`, `Add ${conn.endpoint.user} to the docker group on the node (\`sudo usermod -aG docker ${conn.endpoint.user}\`, then log in again), or connect as a user that may.`);
    }
    throw new SshNodeError('docker-down', 'unavailable', `Docker on ${where} did not answer \`docker version\`: ${said || `exit ${code}`}.`, 'Start the Docker daemon on the node (`sudo systemctl start docker`) and check `docker version` there.');
  } finally {
    signal?.removeEventListener('abort', onAbort);
    client.end();
  }
}
