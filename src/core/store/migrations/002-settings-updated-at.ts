/**
 * Schema 2: remember when each setting changed (shown in Settings, and lets a client that was
 * offline tell what moved). Existing rows get the migration time.
 */
import type { Migration } from './types.js';

export const migration002: Migration = {
  version: 2,
  name: 'settings-updated-at',
  up(db) {
    db.exec(`ALTER TABLE settings ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;`);
    db.prepare(`UPDATE settings SET updated_at = ? WHERE updated_at = 0`).run(Date.now());
  },
};
