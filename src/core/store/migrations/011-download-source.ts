/**
 * Schema 11: a download records the hub its files come from (`huggingface` or `modelscope`), so a
 * resume, a restart and the Downloads list go back to the same hub. Downloads made before are
 * Hugging Face ones.
 */
import type { Migration } from './types.js';

export const migration011: Migration = {
  version: 11,
  name: 'download-source',
  up(db) {
    db.exec(`ALTER TABLE downloads ADD COLUMN source TEXT NOT NULL DEFAULT 'huggingface' CHECK (source IN ('huggingface','modelscope'));`);
  },
};
