/**
 * Schema 10: recorded voice turns. The audio itself is in files beside the database
 * (<data dir>/recordings/<conversation>/<turn>-user.flac and -reply.flac); a turn's row says which
 * of them exist, how long each lasts (seconds) and the bytes both take, so the space used and the
 * oldest recordings are found without reading the disk. Null seconds: no such file.
 */
import type { Migration } from './types.js';

export const migration010: Migration = {
  version: 10,
  name: 'voice-recordings',
  up(db) {
    db.exec(`
      ALTER TABLE voice_turns ADD COLUMN user_audio_seconds REAL;
      ALTER TABLE voice_turns ADD COLUMN reply_audio_seconds REAL;
      ALTER TABLE voice_turns ADD COLUMN audio_bytes INTEGER NOT NULL DEFAULT 0;
      CREATE INDEX voice_turns_recorded ON voice_turns(created_at) WHERE audio_bytes > 0;
    `);
  },
};
