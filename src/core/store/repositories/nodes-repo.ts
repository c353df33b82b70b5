/**
 * The nodes table: Docker engines on other machines (the TLS client key is not here: secret
 * store); and every node's cluster link, `local`'s included (node_cluster_links).
 */
import type { NodeClusterLink } from '../../../shared/contract/nodes.js';
import type { Db } from '../database.js';

export type NodeTransport = 'tcp-tls' | 'ssh';

export interface NodeRecord {
  name: string;
  /** `tcp://host:port` or `ssh://user@host[:port]`. */
  dockerUrl: string;
  transport: NodeTransport;
  /** PEM of the CA that signed the engine's certificate, and of AIMA's client certificate (TLS nodes). */
  tlsCa: string | null;
  tlsCert: string | null;
  /** SSH nodes: the known_hosts file the host key is checked against (null: ~/.ssh/known_hosts). */
  sshKnownHosts: string | null;
  createdAt: number;
}

interface Row {
  name: string;
  docker_url: string;
  transport: NodeTransport;
  tls_ca: string | null;
  tls_cert: string | null;
  ssh_known_hosts: string | null;
  created_at: number;
}

const toRecord = (r: Row): NodeRecord => ({ name: r.name, dockerUrl: r.docker_url, transport: r.transport, tlsCa: r.tls_ca, tlsCert: r.tls_cert, sshKnownHosts: r.ssh_known_hosts, createdAt: r.created_at });

export class NodesRepo {
  constructor(private readonly db: Db) {}

  list(): NodeRecord[] {
    return (this.db.prepare('SELECT * FROM nodes ORDER BY name').all() as Row[]).map(toRecord);
  }

  get(name: string): NodeRecord | null {
    const row = this.db.prepare('SELECT * FROM nodes WHERE name = ?').get(name) as Row | undefined;
    return row ? toRecord(row) : null;
  }

  /** Saves a node and, when given, its cluster link, in one transaction. */
  insert(n: Omit<NodeRecord, 'createdAt'>, link: NodeClusterLink | null = null): NodeRecord {
    this.db.transaction(() => {
      this.db
        .prepare('INSERT INTO nodes (name, docker_url, transport, tls_ca, tls_cert, ssh_known_hosts, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(n.name, n.dockerUrl, n.transport, n.tlsCa, n.tlsCert, n.sshKnownHosts, Date.now());
      if (link) this.setLink(n.name, link);
    })();
    return this.get(n.name)!;
  }

  /** Forgets a node and its cluster link. */
  delete(name: string): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM nodes WHERE name = ?').run(name);
      this.setLink(name, null);
    })();
  }

  /** Every node's cluster link, by node name (`local` included). */
  links(): Map<string, NodeClusterLink> {
    const rows = this.db.prepare('SELECT node, address, interface FROM node_cluster_links').all() as { node: string; address: string; interface: string | null }[];
    return new Map(rows.map((r) => [r.node, { address: r.address, interface: r.interface }]));
  }

  /** Sets a node's cluster link; null removes it. */
  setLink(name: string, link: NodeClusterLink | null): void {
    if (!link) {
      this.db.prepare('DELETE FROM node_cluster_links WHERE node = ?').run(name);
      return;
    }
    this.db
      .prepare('INSERT INTO node_cluster_links (node, address, interface) VALUES (?, ?, ?) ON CONFLICT(node) DO UPDATE SET address = excluded.address, interface = excluded.interface')
      .run(name, link.address, link.interface);
  }

  /** Names of the services placed on a node, those spanning it among them. */
  servicesOn(name: string): string[] {
    return (
      this.db
        .prepare('SELECT name FROM services WHERE node = ? OR (nodes IS NOT NULL AND EXISTS (SELECT 1 FROM json_each(services.nodes) WHERE value = ?)) ORDER BY name')
        .all(name, name) as { name: string }[]
    ).map((r) => r.name);
  }
}
