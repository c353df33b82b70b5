/**
 * Schema 8: what the scheduler keeps per service — its idle TTL (seconds; NULL = the default for
 * services started on demand, never otherwise; 0 = never), whether it is pinned (never stopped
 * to make room or for idleness), and the largest RSS its processes were seen holding (the engine's
 * own cost, which a model's estimate leaves out; kept so a core restart still knows it).
 */
import type { Migration } from './types.js';

export const migration008: Migration = {
  version: 8,
  name: 'scheduler',
  up(db) {
    db.exec(`
      ALTER TABLE services ADD COLUMN idle_ttl INTEGER CHECK (idle_ttl IS NULL OR idle_ttl >= 0);
      ALTER TABLE services ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0 CHECK (pinned IN (0, 1));
      ALTER TABLE services ADD COLUMN peak_rss INTEGER CHECK (peak_rss IS NULL OR peak_rss >= 0);
    `);
  },
};
