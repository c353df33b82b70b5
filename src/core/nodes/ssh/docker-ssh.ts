/**
 * Docker engines on SSH nodes: dockerode options whose HTTP connections are exec channels running
 * `docker system dial-stdio` on the node, over the node's one SSH link (AIMA's known_hosts check,
 * the user's agent or keys), kept alive between requests so a Docker call costs one round trip,
 * not an SSH handshake and a process start. And a first check of a node that says exactly what is
 * missing (host key, credentials, the docker CLI or the daemon on the node).
 */
import http from 'node:http';
import { createRequire } from 'node:module';
import { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import type * as Ssh2 from 'ssh2';
import { createSshLink, type SshLink, type SshLinkOptions } from './ssh-link.js';
import { AimaError } from '../../../shared/errors.js';
import { SshNodeError, sshAddress, type SshEndpoint, type SshNodeTarget } from './ssh-target.js';

export interface SshDocker {
  endpoint: SshEndpoint;
  /** The node's SSH link; tunnels to the node's engines share it (createSshTunnels). */
  link: SshLink;
  /** For `new Docker(options)`. */
  options: Docker.DockerOptions;
  /** Turns an error from a Docker call over these options into a refusal with a fix, when it can tell. */
  explain(err: unknown): Error;
  /** Ends the kept-alive Docker connections and the SSH link. */
  close(): void;
}

const DIAL_STDIO = 'docker system dial-stdio';
/** Under sshd's default MaxSessions (10), leaving room for the first check and a user's own sessions. */
const MAX_DOCKER_CHANNELS = 6;
/** A kept-alive Docker connection unused this long is closed (its dial-stdio process ends). */
const IDLE_MS = 30_000;

/** Why `docker …` run over SSH on the node failed, from its exit code and last stderr line. */
export function dockerCliRefusal(where: string, user: string, code: number | null, stderr: string): SshNodeError {
  const said = stderr.trim().split('\n').pop() ?? '';
  if (code === 127 || /not found/i.test(said)) {
    return new SshNodeError('docker-missing', 'unavailable', `The docker CLI is not on PATH for ${where} (${said || `exit ${code}`}).`, 'Install Docker on the node (the docker CLI included), in a directory on the PATH of non-interactive SSH sessions (e.g. /usr/bin).');
  }
  if (/permission denied/i.test(said)) {
    return new SshNodeError('docker-denied', 'forbidden', `${where} may not use the node's Docker daemon: ${said}`, `Add ${user} to the docker group on the node (\`sudo usermod -aG docker ${user}\`, then log in again), or connect as a user that may.`);
  }
  return new SshNodeError('docker-down', 'unavailable', `Docker on ${where} did not answer: ${said || `exit ${code}`}.`, 'Start the Docker daemon on the node (`sudo systemctl start docker`) and check `docker version` there.');
}

/**
 * A dial-stdio channel as the socket http.Agent expects. The end of its output is passed on only
 * when the channel closes, after the command's exit status: a dial-stdio that failed (no docker
 * CLI, no access to the daemon) then fails the request with `failed(code, stderr)` instead of a
 * bare "socket hang up". Keep-alive and timeouts are SSH's own, so those socket methods do nothing.
 */
function dialStdioSocket(channel: Ssh2.ClientChannel, failed: (code: number, stderr: string) => Error): Duplex {
  let stderr = '';
  let exitCode: number | null = null;
  const socket = new Duplex({
    read: () => void channel.resume(),
    write: (chunk: Buffer, _enc, done) => void channel.write(chunk, done),
    final: (done) => {
      channel.end();
      done();
    },
    destroy: (err, done) => {
      channel.close();
      done(err);
    },
  });
  channel.on('data', (d: Buffer) => {
    if (!socket.push(d)) channel.pause();
  });
  channel.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  channel.once('exit', (code: number | null) => (exitCode = code));
  // Destroyed either way, so the agent drops it from its pool (a lost link closes every channel).
  channel.once('close', () => {
    if (exitCode) return socket.destroy(failed(exitCode, stderr));
    socket.push(null);
    socket.destroy();
  });
  channel.on('error', (err: Error) => socket.destroy(err));
  const self = () => socket;
  return Object.assign(socket, { setKeepAlive: self, setNoDelay: self, setTimeout: self, ref: self, unref: self });
}

/** An http.Agent whose connections are `docker system dial-stdio` channels over the link. */
class DialStdioAgent extends http.Agent {
  private idle = new WeakMap<Duplex, NodeJS.Timeout>();

  constructor(private readonly link: SshLink) {
    super({ keepAlive: true, maxSockets: MAX_DOCKER_CHANNELS, maxFreeSockets: 2 });
  }

  override createConnection(_options: unknown, done: (err: Error | null, socket?: Duplex) => void): undefined {
    const { endpoint } = this.link.connection;
    this.link.client().then(
      (client) =>
        client.exec(DIAL_STDIO, (err, channel) => {
          if (err) return done(this.link.connection.explain(err));
          done(null, dialStdioSocket(channel, (code, stderr) => dockerCliRefusal(sshAddress(endpoint), endpoint.user, code, stderr)));
        }),
      (err: Error) => done(err),
    );
    return undefined;
  }

  override keepSocketAlive(socket: Duplex): boolean {
    const timer = setTimeout(() => socket.destroy(), IDLE_MS);
    timer.unref();
    this.idle.set(socket, timer);
    return true;
  }

  override reuseSocket(socket: Duplex, req: http.ClientRequest): void {
    clearTimeout(this.idle.get(socket));
    super.reuseSocket(socket as never, req);
  }
}

/** dockerode options for a Docker engine reached over SSH, with the host key checked against known_hosts. */
export function sshDockerOptions(target: SshNodeTarget, linkOptions?: SshLinkOptions): SshDocker {
  const link = createSshLink(target, linkOptions);
  const agent = new DialStdioAgent(link);
  const { endpoint } = link.connection;
  return {
    endpoint,
    link,
    // Plain HTTP over the agent's channels: docker-modem's own SSH transport is not used. docker-modem
    // takes `agent` for every request, though dockerode's typings do not declare it.
    options: { protocol: 'http', host: endpoint.host, port: endpoint.port, agent } as Docker.DockerOptions,
    explain: link.connection.explain,
    close() {
      agent.destroy();
      link.close();
    },
  };
}

export interface SshDockerCheck {
  /** The node engine's version as `docker version` reports it. */
  serverVersion: string;
}

/**
 * Connects once and asks the node's engine for its version the way every later call goes, so
 * `node add` can refuse with the precise reason (host key, credentials, no docker CLI for that
 * user, no access to the daemon) before it stores anything.
 */
export async function checkSshDocker(target: SshNodeTarget, signal?: AbortSignal): Promise<SshDockerCheck> {
  const ssh = sshDockerOptions(target);
  const onAbort = () => ssh.close();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const Dockerode = createRequire(import.meta.url)('dockerode') as typeof Docker;
    return { serverVersion: (await new Dockerode(ssh.options).version()).Version };
  } catch (err) {
    if (signal?.aborted) throw new AimaError('cancelled', `The check of ${sshAddress(ssh.endpoint)} was cancelled.`);
    throw ssh.explain(err);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    ssh.close();
  }
}
