/**
 * Schema 17: the Hugging Face id a service's engine was given at its last start — what a running
 * engine serves, which the gateway routes by until the service is started again, whatever
 * `services.update` has stored in `hf_model` since. Existing rows start from `hf_model`: before
 * this schema the engine of a running service was started with the id then stored, and a change
 * since cannot be told apart.
 */
import type { Migration } from './types.js';

export const migration017: Migration = {
  version: 17,
  name: 'service-started-hub-model',
  up(db) {
    db.exec(`ALTER TABLE services ADD COLUMN started_hf_model TEXT CHECK (started_hf_model IS NULL OR started_hf_model LIKE '%_/_%');`);
    db.exec(`UPDATE services SET started_hf_model = hf_model;`);
  },
};
