/**
 * Schema 7: voice conversations (system prompt and the ASR, LLM and TTS model names the chain
 * uses — any routable model: embedded, Docker or remote), their turns (what the user said, what
 * the assistant answered, whether a barge-in cut it, the timeline), and the voice settings (the
 * default chain) as key/value rows.
 */
import type { Migration } from './types.js';

export const migration007: Migration = {
  version: 7,
  name: 'voice',
  up(db) {
    db.exec(`
      CREATE TABLE voice_conversations (
        id            TEXT PRIMARY KEY,
        title         TEXT NOT NULL DEFAULT '',
        system_prompt TEXT NOT NULL DEFAULT '',
        asr_model     TEXT,
        llm_model     TEXT,
        tts_model     TEXT,
        voice         TEXT,
        created_at    INTEGER NOT NULL,
        updated_at    INTEGER NOT NULL
      ) STRICT;
      CREATE TABLE voice_turns (
        id              TEXT PRIMARY KEY,
        conversation_id TEXT NOT NULL REFERENCES voice_conversations(id) ON DELETE CASCADE,
        seq             INTEGER NOT NULL,
        user_text       TEXT NOT NULL,
        assistant_text  TEXT NOT NULL,
        interrupted     INTEGER NOT NULL DEFAULT 0 CHECK (interrupted IN (0, 1)),
        timeline        TEXT NOT NULL DEFAULT '{}',
        created_at      INTEGER NOT NULL,
        UNIQUE (conversation_id, seq)
      ) STRICT;
      CREATE TABLE voice_config (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) STRICT;
    `);
  },
};
