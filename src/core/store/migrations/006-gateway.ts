/**
 * Schema 6: the gateway's API keys (only a SHA-256 of each key is stored; the key itself is shown
 * once) and remote OpenAI-compatible endpoints (their keys live in the secret store, not here).
 */
import type { Migration } from './types.js';

export const migration006: Migration = {
  version: 6,
  name: 'gateway',
  up(db) {
    db.exec(`
      CREATE TABLE api_keys (
        id           TEXT PRIMARY KEY,
        name         TEXT NOT NULL,
        prefix       TEXT NOT NULL,
        hash         TEXT NOT NULL UNIQUE,
        created_at   INTEGER NOT NULL,
        last_used_at INTEGER,
        revoked_at   INTEGER
      ) STRICT;
      CREATE TABLE remote_endpoints (
        id         TEXT PRIMARY KEY,
        name       TEXT NOT NULL UNIQUE,
        base_url   TEXT NOT NULL,
        models     TEXT NOT NULL,
        kind       TEXT NOT NULL DEFAULT 'llm',
        has_key    INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL
      ) STRICT;
    `);
  },
};
