/**
 * Loopback tunnels to an SSH node: a listener on this machine's 127.0.0.1 whose connections are
 * carried over the node's SSH link (ssh2 `forwardOut`, i.e. `ssh -L`) to a port on the node's own
 * loopback. An engine that listens only on the node's 127.0.0.1 is so reached from the gateway
 * without its port ever being open to a network.
 */
import net from 'node:net';
import type { SshLink } from './ssh-link.js';

export interface LoopbackForward {
  /** The port on 127.0.0.1 of this machine. */
  localPort: number;
  remotePort: number;
  close(): Promise<void>;
}

export interface SshTunnels {
  /**
   * Opens a loopback listener forwarding to `127.0.0.1:remotePort` on the node. Connects the link
   * first, so a refusal (host key, credentials, unreachable) reaches the caller.
   */
  forward(remotePort: number): Promise<LoopbackForward>;
  /** Closes every listener and the connections through them (the link stays with its owner). */
  close(): Promise<void>;
}

/** Tunnels over `link`; a connection that arrives while the link is down makes it connect again. */
export function createSshTunnels(link: SshLink): SshTunnels {
  const servers = new Set<net.Server>();
  const sockets = new Set<net.Socket>();
  let closed = false;

  const carry = (local: net.Socket, remotePort: number) => {
    sockets.add(local);
    local.once('close', () => sockets.delete(local));
    local.on('error', () => local.destroy());
    link.client().then(
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

  const closeServer = (server: net.Server) =>
    new Promise<void>((resolve) => {
      servers.delete(server);
      server.close(() => resolve());
    });

  return {
    async forward(remotePort) {
      if (closed) throw new Error('These SSH tunnels are closed.');
      await link.client();
      const server = net.createServer((socket) => carry(socket, remotePort));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve());
      });
      servers.add(server);
      return { localPort: (server.address() as net.AddressInfo).port, remotePort, close: () => closeServer(server) };
    },
    async close() {
      closed = true;
      for (const s of sockets) s.destroy();
      await Promise.all([...servers].map(closeServer));
    },
  };
}
