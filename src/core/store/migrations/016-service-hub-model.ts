/**
 * Schema 16: the Hugging Face id a service's engine downloads on its node(s) (`--hf-model`) and its
 * revision; NULL for a service that reads the library's files or a path on the node. A revision
 * needs an id.
 */
import type { Migration } from './types.js';

export const migration016: Migration = {
  version: 16,
  name: 'service-hub-model',
  up(db) {
    db.exec(`ALTER TABLE services ADD COLUMN hf_model TEXT CHECK (hf_model IS NULL OR hf_model LIKE '%_/_%');`);
    db.exec(`ALTER TABLE services ADD COLUMN hf_revision TEXT CHECK (hf_revision IS NULL OR hf_model IS NOT NULL);`);
  },
};
