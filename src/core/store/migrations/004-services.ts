/**
 * Schema 4: services (a model on an engine, device and port, with the state the user wants it in)
 * and service_events (every lifecycle transition, for "why did it stop?" and the UI's history).
 * The actual state is not stored: it is derived from the live process at every core start.
 */
import type { Migration } from './types.js';

export const migration004: Migration = {
  version: 4,
  name: 'services',
  up(db) {
    db.exec(`
      CREATE TABLE services (
        id             TEXT PRIMARY KEY,
        name           TEXT NOT NULL UNIQUE,
        -- NULL for engines that need no model; a model in use by a service cannot be removed
        model_id       TEXT REFERENCES models(id) ON DELETE RESTRICT,
        engine_id      TEXT NOT NULL,
        device         TEXT NOT NULL CHECK (device IN ('cpu', 'gpu')),
        gpus           TEXT NOT NULL DEFAULT '[]',
        -- 0 = allocate a free port at each start
        port           INTEGER NOT NULL CHECK (port BETWEEN 0 AND 65535),
        threads        INTEGER,
        ctx_size       INTEGER,
        concurrency    INTEGER NOT NULL DEFAULT 1 CHECK (concurrency >= 1),
        desired_state  TEXT NOT NULL DEFAULT 'stopped' CHECK (desired_state IN ('running', 'stopped')),
        restart_policy TEXT NOT NULL DEFAULT 'on-failure' CHECK (restart_policy IN ('always', 'on-failure', 'never')),
        created_at     INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX services_model ON services(model_id);
      CREATE TABLE service_events (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        service_id TEXT NOT NULL REFERENCES services(id) ON DELETE CASCADE,
        at         INTEGER NOT NULL,
        from_state TEXT NOT NULL,
        to_state   TEXT NOT NULL,
        event      TEXT NOT NULL,
        reason     TEXT
      ) STRICT;
      CREATE INDEX service_events_service ON service_events(service_id, id);
    `);
  },
};
