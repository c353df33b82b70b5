/** The nodes table: Docker engines on other machines. The TLS client key is not here (secret store). */
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

  insert(n: Omit<NodeRecord, 'createdAt'>): NodeRecord {
    this.db
      .prepare('INSERT INTO nodes (name, docker_url, transport, tls_ca, tls_cert, ssh_known_hosts, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(n.name, n.dockerUrl, n.transport, n.tlsCa, n.tlsCert, n.sshKnownHosts, Date.now());
    return this.get(n.name)!;
  }

  delete(name: string): void {
    this.db.prepare('DELETE FROM nodes WHERE name = ?').run(name);
  }

  /** Names of the services placed on a node. */
  servicesOn(name: string): string[] {
    return (this.db.prepare('SELECT name FROM services WHERE node = ? ORDER BY name').all(name) as { name: string }[]).map((r) => r.name);
  }
}
