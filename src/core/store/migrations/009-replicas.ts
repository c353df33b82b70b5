/**
 * Schema 9: replicas. A replica is a full service (own process, port, log and state) that belongs
 * to a primary service serving the same model; `replica_of` names the primary's id, NULL for a
 * service that is not a replica. The primary cannot be deleted while replicas point at it (the
 * services feature removes the replicas first).
 */
import type { Migration } from './types.js';

export const migration009: Migration = {
  version: 9,
  name: 'replicas',
  up(db) {
    db.exec(`
      ALTER TABLE services ADD COLUMN replica_of TEXT REFERENCES services(id);
      CREATE INDEX services_replica_of ON services(replica_of);
    `);
  },
};
