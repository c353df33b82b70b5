/**
 * Schema 5: resumable downloads. A download is a set of files from one Hub repository; each file
 * is split into byte ranges (chunks) whose written length is recorded as it grows, so a resume —
 * after a pause, a crash or a lost network — asks only for the bytes not yet on disk.
 */
import type { Migration } from './types.js';

export const migration005: Migration = {
  version: 5,
  name: 'downloads',
  up(db) {
    db.exec(`
      CREATE TABLE downloads (
        id          TEXT PRIMARY KEY,
        repo        TEXT NOT NULL,
        revision    TEXT NOT NULL,
        -- the commit the revision resolved to on first contact: a resume never mixes commits
        commit_sha  TEXT,
        state       TEXT NOT NULL CHECK (state IN ('queued','downloading','paused','verifying','importing','completed','failed','cancelled')),
        error       TEXT,
        model_name  TEXT,
        -- the library name asked for at start (may be null: detection suggests one)
        wanted_name TEXT,
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL
      ) STRICT;
      CREATE TABLE download_files (
        download_id TEXT NOT NULL REFERENCES downloads(id) ON DELETE CASCADE,
        path        TEXT NOT NULL,
        size        INTEGER NOT NULL,
        sha256      TEXT,
        blob_id     TEXT,
        verified    INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (download_id, path)
      ) STRICT;
      CREATE TABLE download_chunks (
        download_id TEXT NOT NULL,
        path        TEXT NOT NULL,
        idx         INTEGER NOT NULL,
        start       INTEGER NOT NULL,
        length      INTEGER NOT NULL,
        -- bytes of this chunk known to be on disk (fdatasync'ed before being recorded)
        written     INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (download_id, path, idx),
        FOREIGN KEY (download_id, path) REFERENCES download_files(download_id, path) ON DELETE CASCADE
      ) STRICT;
    `);
  },
};
