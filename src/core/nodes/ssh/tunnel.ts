/**
 * Loopback tunnels to an SSH node: a listener on this machine's 127.0.0.1 whose connections are
 * carried over one SSH connection per node (ssh2 `forwardOut`, i.e. `ssh -L`) to a port on the
 * node's own loopback. An engine that listens only on the node's 127.0.0.1 is so reached from the
 * gateway without its port ever being open to the LAN.
 *
 * The SSH connection is a small state machine:
 *
 *   idle ──connect──▶ connecting ──ready──▶ ready
 *    ▲                    │                   │
 *    └──── failed / lost (backoff) ◀──────────┘        any ──close()──▶ closed
 *
 * It connects when the first tunnel opens (so a refusal reaches the caller of `forward`), and
 * again on the next incoming connection after a loss, no sooner than the backoff allows.
 */
import net from 'node:net';
import type * as Ssh2 from 'ssh2';
import { loadSsh2, sshConnection, type SshNodeTarget } from './ssh-target.js';

export type SshLinkState = 'idle' | 'connecting' | 'ready' | 'closed';

export interface LoopbackForward {
  /** The port on 127.0.0.1 of this machine. */
  localPort: number;
  remotePort: number;
  close(): Promise<void>;
}

export interface SshTunnels {
  /** Opens a loopback listener forwarding to `127.0.0.1:remotePort` on the node. */
  forward(remotePort: number): Promise<LoopbackForward>;
  state(): SshLinkState;
  /** Why the last connection failed or ended; null while none did. */
  lastError(): Error | null;
  /** Closes every listener and the SSH connection. */
  close(): Promise<void>;
}

export interface SshTunnelOptions {
  onState?: (state: SshLinkState, error: Error | null) => void;
  /** First wait after a failed connection; doubles up to maxBackoffMs. Default 1 s. */
  backoffMs?: number;
  maxBackoffMs?: number;
}

/** One SSH connection to the node and the loopback tunnels carried over it. */
export function createSshTunnels(target: SshNodeTarget, opts: SshTunnelOptions = {}): SshTunnels {
  const conn = sshConnection(target);
  const ssh2 = loadSsh2();
  const firstBackoff = opts.backoffMs ?? 1000;
  const maxBackoff = opts.maxBackoffMs ?? 30_000;
  let state: SshLinkState = 'idle';
  let error: Error | null = null;
  let client: Ssh2.Client | null = null;
  let connecting: Promise<Ssh2.Client> | null = null;
  let backoff = 0;
  let retryAt = 0;
  const servers = new Set<net.Server>();
  const sockets = new Set<net.Socket>();

  const setState = (next: SshLinkState, err: Error | null = error) => {
    error = err;
    if (state === next) return;
    state = next;
    opts.onState?.(next, err);
  };

  const lost = (err: Error) => {
    client = null;
    connecting = null;
    if (state === 'closed') return;
    backoff = backoff ? Math.min(backoff * 2, maxBackoff) : firstBackoff;
    retryAt = Date.now() + backoff;
    setState('idle', err);
  };

  const connect = (): Promise<Ssh2.Client> => {
    if (state === 'closed') return Promise.reject(new Error('The SSH tunnels to this node are closed.'));
    if (client) return Promise.resolve(client);
    if (connecting) return connecting;
    if (Date.now() < retryAt) return Promise.reject(error ?? new Error('Waiting before connecting again.'));
    setState('connecting');
    const c = new ssh2.Client();
    connecting = new Promise<Ssh2.Client>((resolve, reject) => {
      let ready = false;
      c.once('ready', () => {
        ready = true;
        client = c;
        connecting = null;
        backoff = 0;
        setState('ready', null);
        resolve(c);
      });
      let failure: Error | null = null;
      c.on('error', (err) => (failure = conn.explain(err)));
      // ssh2 always ends with 'close', after 'error' when there was one.
      c.once('close', () => {
        const why = failure ?? new Error(ready ? 'The SSH connection to the node was lost.' : 'The SSH connection closed during the handshake.');
        if (!ready) reject(why);
        if (client === c || !ready) lost(why);
      });
      c.connect(conn.config);
    });
    return connecting;
  };

  const carry = (local: net.Socket, remotePort: number) => {
    sockets.add(local);
    local.once('close', () => sockets.delete(local));
    local.on('error', () => local.destroy());
    connect().then(
      (c) => {
        c.forwardOut('127.0.0.1', local.remotePort ?? 0, '127.0.0.1', remotePort, (err, channel) => {
          if (err || local.destroyed) {
            channel?.close();
            return local.destroy();
          }
          local.pipe(channel).pipe(local);
          channel.on('error', () => local.destroy());
          channel.once('close', () => local.destroy());
          local.once('close', () => channel.close());
        });
      },
      () => local.destroy(),
    );
  };

  return {
    async forward(remotePort) {
      await connect();
      const server = net.createServer((socket) => carry(socket, remotePort));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve());
      });
      servers.add(server);
      const closeServer = () =>
        new Promise<void>((resolve) => {
          servers.delete(server);
          server.close(() => resolve());
        });
      return { localPort: (server.address() as net.AddressInfo).port, remotePort, close: closeServer };
    },
    state: () => state,
    lastError: () => error,
    async close() {
      if (state === 'closed') return;
      setState('closed');
      for (const s of sockets) s.destroy();
      await Promise.all([...servers].map((s) => new Promise<void>((r) => s.close(() => r()))));
      servers.clear();
      client?.end();
      client = null;
    },
  };
}
