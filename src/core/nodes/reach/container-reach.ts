/**
 * How the Docker runtime of another machine's node makes its engines reachable, as remote-reach.ts
 * decides, for every container it starts or adopts:
 * - an SSH node: the port is published on the node's 127.0.0.1 and reached through a loopback
 *   tunnel over the node's kept SSH connection (../ssh/tunnel.ts); the tunnel's listener outlives
 *   a lost connection (the next request connects again) and closes with the container;
 * - a TCP node: the engine serves TLS with a certificate from the install CA for the node's address
 *   and requires a per-service key; the key is kept in the secret store (so a later core adopting
 *   the container can still call it), the certificate and its key go into the container only.
 */
import type { EngineEntry, RemoteAccess } from '../../engines/catalog-schema.js';
import type { SecretStore } from '../../secrets/secret-store.js';
import { ensureInstallCa } from '../../server/tls/install-ca.js';
import type { SshTunnels } from '../ssh/tunnel.js';
import type { ContainerFile } from './container-files.js';
import { prepareTlsReach } from './engine-credentials.js';
import { remoteReach, type NodeTransport } from './remote-reach.js';

/** TLS to an engine: the CA its certificate is checked against and the key it requires. */
export interface EngineTls {
  ca: string;
  apiKey: string;
}

/** Where the gateway and the health probe reach an engine. */
export interface EngineUpstream {
  host: string;
  port: number;
  tls: EngineTls | null;
  /** Ends what was opened for it (an SSH tunnel's listener); idempotent. */
  close(): Promise<void>;
}

/** What a start of a TLS engine adds: its arguments (the key among them) and files. */
interface TlsStart {
  args: string[];
  files: ContainerFile[];
  /** The key in `args` (so a log can leave it out). */
  apiKey: string;
}

/** An engine reached where its port is published (this machine's node): nothing to open or close. */
export const directUpstream = (host: string, port: number): EngineUpstream => ({ host, port, tls: null, close: async () => {} });

export interface ContainerReach {
  /**
   * The TLS flags to turn on for `engine` on this node (null: none needed); throws the refusal for
   * an engine that cannot be reached safely here.
   */
  check(engine: Pick<EngineEntry, 'id' | 'name' | 'runtime'> & { remoteAccess?: RemoteAccess }): RemoteAccess | null;
  /** New credentials for a start of a TLS engine; the key replaces the service's stored one. */
  issue(serviceId: string, access: RemoteAccess): TlsStart;
  /** The upstream of a container's published port (`tls`: it serves TLS with the stored key). */
  open(serviceId: string, port: number, tls: boolean): Promise<EngineUpstream>;
  /** Forgets a removed service's key. */
  forget(serviceId: string): void;
  /** Closes every upstream opened (the core closes, or the node is removed). */
  close(): Promise<void>;
}

/** Where a service's engine key is kept in the secret store. */
export const engineKeySecret = (serviceId: string) => `service:${serviceId}:engine-key`;

export interface ContainerReachOptions {
  node: string;
  transport: Exclude<NodeTransport, 'local'>;
  /** The node's host as its Docker endpoint names it: what the gateway dials on a TCP node. */
  address: string;
  /** An SSH node's tunnels (made on first use, over the node's kept connection). */
  tunnels: () => SshTunnels;
  /** The data directory: the install CA lives there. */
  dataDir: string;
  secrets: SecretStore;
}

export function createContainerReach(opts: ContainerReachOptions): ContainerReach {
  let tunnels: SshTunnels | null = null;
  const open = new Set<EngineUpstream>();

  const storedTls = (serviceId: string): EngineTls => {
    const apiKey = opts.secrets.get(engineKeySecret(serviceId));
    if (!apiKey) throw new Error(`The engine key of service ${serviceId} on node "${opts.node}" is missing from the secret store; restart the service to issue a new one.`);
    return { ca: ensureInstallCa(opts.dataDir).certPem, apiKey };
  };

  const track = (up: Omit<EngineUpstream, 'close'>, end: () => Promise<void>): EngineUpstream => {
    let closing: Promise<void> | null = null;
    const upstream: EngineUpstream = {
      ...up,
      close: () => {
        open.delete(upstream);
        return (closing ??= end());
      },
    };
    open.add(upstream);
    return upstream;
  };

  return {
    check(engine) {
      const reach = remoteReach(engine, opts.transport, opts.node);
      if (reach.kind === 'refused') throw reach.error;
      return reach.kind === 'tls' ? reach.access : null;
    },
    issue(serviceId, access) {
      const tls = prepareTlsReach(access, opts.dataDir, opts.address);
      opts.secrets.set(engineKeySecret(serviceId), tls.apiKey);
      return { args: tls.args, files: tls.files, apiKey: tls.apiKey };
    },
    async open(serviceId, port, tls) {
      if (opts.transport === 'ssh') {
        const fwd = await (tunnels ??= opts.tunnels()).forward(port);
        return track({ host: '127.0.0.1', port: fwd.localPort, tls: null }, () => fwd.close());
      }
      return track({ host: opts.address, port, tls: tls ? storedTls(serviceId) : null }, async () => {});
    },
    forget(serviceId) {
      opts.secrets.delete(engineKeySecret(serviceId));
    },
    async close() {
      await Promise.all([...open].map((u) => u.close()));
      await tunnels?.close();
      tunnels = null;
    },
  };
}
