/**
 * Schema 12: nodes — Docker engines on other machines that services may run on. A node is its
 * name, the Docker endpoint (`tcp://host:2376` with TLS, or `ssh://user@host`) and, for TLS, the
 * CA and client certificates (public; the client key lives in the secret store under
 * `node:<name>:tls-key`, never here); for SSH, the known_hosts file its host key is checked
 * against (the identity file's path is in the secret store, `node:<name>:ssh-identity`). The local engine is the node `local` and has no row. Every
 * service gains `node`, the node it runs on; services made before are on `local`.
 */
import type { Migration } from './types.js';

export const migration012: Migration = {
  version: 12,
  name: 'nodes',
  up(db) {
    db.exec(`
      CREATE TABLE nodes (
        name TEXT PRIMARY KEY CHECK (name <> 'local'),
        docker_url TEXT NOT NULL,
        transport TEXT NOT NULL CHECK (transport IN ('tcp-tls','ssh')),
        tls_ca TEXT,
        tls_cert TEXT,
        ssh_known_hosts TEXT,
        created_at INTEGER NOT NULL
      );
      ALTER TABLE services ADD COLUMN node TEXT NOT NULL DEFAULT 'local';
      CREATE INDEX services_node ON services(node);
    `);
  },
};
