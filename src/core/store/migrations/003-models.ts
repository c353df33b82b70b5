/** Schema 3: the model library. */
import type { Migration } from './types.js';

export const migration003: Migration = {
  version: 3,
  name: 'models',
  up(db) {
    db.exec(`
      CREATE TABLE models (
        id          TEXT PRIMARY KEY,
        name        TEXT NOT NULL UNIQUE,
        kind        TEXT NOT NULL,
        kind_reason TEXT NOT NULL,
        format      TEXT NOT NULL,
        path        TEXT NOT NULL,
        root_path   TEXT NOT NULL,
        source_path TEXT NOT NULL,
        -- the imported file or folder with symlinks resolved: importing it twice is refused
        source_real TEXT NOT NULL UNIQUE,
        storage     TEXT NOT NULL CHECK (storage IN ('link', 'copy')),
        size_bytes  INTEGER NOT NULL,
        missing     TEXT NOT NULL DEFAULT '[]',
        warnings    TEXT NOT NULL DEFAULT '[]',
        metadata    TEXT NOT NULL,
        created_at  INTEGER NOT NULL
      ) STRICT;
    `);
  },
};
