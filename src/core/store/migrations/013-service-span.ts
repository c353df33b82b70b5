/**
 * Schema 13: a service may serve one model across nodes. `nodes` is the JSON list of node names
 * (the first is the head), `tensor_parallel` and `pipeline_parallel` the engine's parallel sizes;
 * all NULL for a service on one node.
 */
import type { Migration } from './types.js';

export const migration013: Migration = {
  version: 13,
  name: 'service-span',
  up(db) {
    db.exec(`
      ALTER TABLE services ADD COLUMN nodes TEXT;
      ALTER TABLE services ADD COLUMN tensor_parallel INTEGER CHECK (tensor_parallel IS NULL OR tensor_parallel >= 1);
      ALTER TABLE services ADD COLUMN pipeline_parallel INTEGER CHECK (pipeline_parallel IS NULL OR pipeline_parallel >= 1);
    `);
  },
};
