/**
 * Schema 8: what the scheduler keeps per service — its idle TTL (seconds; NULL = the default for
 * services started on demand, never otherwise; 0 = never) and whether it is pinned (never stopped
 * to make room or for idleness).
 */
import type { Migration } from './types.js';

export const migration008: Migration = {
  version: 8,
  name: 'scheduler',
  up(db) {
    db.exec(`
      ALTER TABLE services ADD COLUMN idle_ttl INTEGER CHECK (idle_ttl IS NULL OR idle_ttl >= 0);
      ALTER TABLE services ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0 CHECK (pinned IN (0, 1));
    `);
  },
};
