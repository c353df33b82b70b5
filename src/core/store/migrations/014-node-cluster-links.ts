/**
 * Schema 14: each node's cluster link — the address the other nodes of a span reach it at (Ray,
 * NCCL, Gloo) and, optionally, the interface NCCL and Gloo use. Its own table keyed by node name
 * rather than columns of `nodes`, because the node `local` has no row there (schema 12) and a
 * span with `local` as its head is the common case. A node without a row here has no link.
 */
import type { Migration } from './types.js';

export const migration014: Migration = {
  version: 14,
  name: 'node-cluster-links',
  up(db) {
    db.exec(`
      CREATE TABLE node_cluster_links (
        node TEXT PRIMARY KEY,
        address TEXT NOT NULL CHECK (address <> ''),
        interface TEXT CHECK (interface IS NULL OR interface <> '')
      );
    `);
  },
};
