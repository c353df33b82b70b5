/**
 * Schema 15: where a service's model is on the node(s) it runs on (`--model-path-on-node`), an
 * absolute path there; NULL for a service on `local`, which reads the library's own files.
 */
import type { Migration } from './types.js';

export const migration015: Migration = {
  version: 15,
  name: 'service-model-path-on-node',
  up(db) {
    db.exec(`ALTER TABLE services ADD COLUMN model_path_on_node TEXT CHECK (model_path_on_node IS NULL OR model_path_on_node LIKE '/%');`);
  },
};
