/** Voice conversations, their turns (with their recorded audio's lengths), and the voice chain's settings (schemas 7 and 10). */
import { randomUUID } from 'node:crypto';
import type { Db } from '../database.js';
import { VoiceConfig, voiceRecordingFile, type VoiceConfigPatch, type VoiceConversation, type VoiceTimeline, type VoiceTurn, type VoiceTurnRecording } from '../../../shared/contract/voice.js';

export const DEFAULT_VOICE_CONFIG: VoiceConfig = {
  asr: null,
  llm: null,
  tts: null,
  voice: null,
  systemPrompt: 'You are a helpful voice assistant. Answer briefly, in plain spoken sentences.',
  silenceMs: 500,
  maxTokens: 160,
};

interface ConversationRow {
  id: string;
  title: string;
  system_prompt: string;
  asr_model: string | null;
  llm_model: string | null;
  tts_model: string | null;
  voice: string | null;
  created_at: number;
  updated_at: number;
  turn_count: number;
}

interface TurnRow {
  id: string;
  seq: number;
  user_text: string;
  assistant_text: string;
  interrupted: number;
  timeline: string;
  created_at: number;
  user_audio_seconds: number | null;
  reply_audio_seconds: number | null;
  audio_bytes: number;
}

/** A turn whose audio takes space, for the size cap (oldest first). */
export interface RecordedTurn {
  conversationId: string;
  turnId: string;
  bytes: number;
}

const toConversation = (r: ConversationRow): VoiceConversation => ({
  id: r.id,
  title: r.title,
  systemPrompt: r.system_prompt,
  asr: r.asr_model,
  llm: r.llm_model,
  tts: r.tts_model,
  voice: r.voice,
  createdAt: new Date(r.created_at).toISOString(),
  updatedAt: new Date(r.updated_at).toISOString(),
  turnCount: r.turn_count,
});

const toTurn = (r: TurnRow): VoiceTurn => ({
  id: r.id,
  seq: r.seq,
  user: r.user_text,
  assistant: r.assistant_text,
  interrupted: r.interrupted === 1,
  timeline: JSON.parse(r.timeline) as Partial<VoiceTimeline>,
  recording: r.audio_bytes > 0 ? { userSeconds: r.user_audio_seconds, replySeconds: r.reply_audio_seconds, bytes: r.audio_bytes } : null,
  createdAt: new Date(r.created_at).toISOString(),
});

const SELECT_CONVERSATION = `SELECT c.*, (SELECT COUNT(*) FROM voice_turns t WHERE t.conversation_id = c.id) AS turn_count FROM voice_conversations c`;

export class VoiceRepo {
  constructor(private readonly db: Db) {}

  config(): VoiceConfig {
    const rows = this.db.prepare('SELECT key, value FROM voice_config').all() as { key: string; value: string }[];
    const stored: Record<string, unknown> = {};
    for (const r of rows) stored[r.key] = JSON.parse(r.value);
    // A value a newer AIMA wrote that this one does not accept falls back to the default.
    const parsed = VoiceConfig.safeParse({ ...DEFAULT_VOICE_CONFIG, ...stored });
    return parsed.success ? parsed.data : DEFAULT_VOICE_CONFIG;
  }

  setConfig(patch: VoiceConfigPatch): VoiceConfig {
    const upsert = this.db.prepare('INSERT INTO voice_config (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
    this.db.transaction(() => {
      for (const [k, v] of Object.entries(patch)) if (v !== undefined) upsert.run(k, JSON.stringify(v));
    })();
    return this.config();
  }

  list(): VoiceConversation[] {
    return (this.db.prepare(`${SELECT_CONVERSATION} ORDER BY c.updated_at DESC, c.created_at DESC`).all() as ConversationRow[]).map(toConversation);
  }

  get(id: string): VoiceConversation | null {
    const row = this.db.prepare(`${SELECT_CONVERSATION} WHERE c.id = ?`).get(id) as ConversationRow | undefined;
    return row ? toConversation(row) : null;
  }

  create(c: Omit<VoiceConversation, 'id' | 'createdAt' | 'updatedAt' | 'turnCount'>): VoiceConversation {
    const id = randomUUID();
    const now = Date.now();
    this.db
      .prepare(
        'INSERT INTO voice_conversations (id, title, system_prompt, asr_model, llm_model, tts_model, voice, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(id, c.title, c.systemPrompt, c.asr, c.llm, c.tts, c.voice, now, now);
    return this.get(id)!;
  }

  delete(id: string): boolean {
    return this.db.prepare('DELETE FROM voice_conversations WHERE id = ?').run(id).changes > 0;
  }

  turns(conversationId: string): VoiceTurn[] {
    return (this.db.prepare('SELECT * FROM voice_turns WHERE conversation_id = ? ORDER BY seq').all(conversationId) as TurnRow[]).map(toTurn);
  }

  addTurn(conversationId: string, t: { user: string; assistant: string; interrupted: boolean; timeline: Partial<VoiceTimeline> }): VoiceTurn {
    const id = randomUUID();
    const now = Date.now();
    this.db.transaction(() => {
      const { n } = this.db.prepare('SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM voice_turns WHERE conversation_id = ?').get(conversationId) as { n: number };
      this.db
        .prepare('INSERT INTO voice_turns (id, conversation_id, seq, user_text, assistant_text, interrupted, timeline, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
        .run(id, conversationId, n, t.user, t.assistant, t.interrupted ? 1 : 0, JSON.stringify(t.timeline), now);
      this.db.prepare('UPDATE voice_conversations SET updated_at = ?, title = CASE WHEN title = \'\' THEN ? ELSE title END WHERE id = ?').run(now, t.user.slice(0, 80), conversationId);
    })();
    return toTurn(this.db.prepare('SELECT * FROM voice_turns WHERE id = ?').get(id) as TurnRow);
  }

  /** Records which audio a turn has (null: none; its files are gone). */
  setRecording(turnId: string, rec: VoiceTurnRecording | null): void {
    this.db
      .prepare('UPDATE voice_turns SET user_audio_seconds = ?, reply_audio_seconds = ?, audio_bytes = ? WHERE id = ?')
      .run(rec?.userSeconds ?? null, rec?.replySeconds ?? null, rec?.bytes ?? 0, turnId);
  }

  /** Bytes and number of turns with recorded audio. */
  recordingUsage(): { bytes: number; turns: number } {
    const r = this.db.prepare('SELECT COALESCE(SUM(audio_bytes), 0) AS bytes, COUNT(*) AS turns FROM voice_turns WHERE audio_bytes > 0').get() as { bytes: number; turns: number };
    return r;
  }

  /** Every conversation's id with the recording file names its turns' rows say exist. */
  recordingFiles(): Map<string, Set<string>> {
    const out = new Map<string, Set<string>>();
    for (const c of this.db.prepare('SELECT id FROM voice_conversations').all() as { id: string }[]) out.set(c.id, new Set());
    const rows = this.db.prepare('SELECT conversation_id, id, user_audio_seconds, reply_audio_seconds FROM voice_turns WHERE audio_bytes > 0').all() as {
      conversation_id: string;
      id: string;
      user_audio_seconds: number | null;
      reply_audio_seconds: number | null;
    }[];
    for (const r of rows) {
      const files = out.get(r.conversation_id)!;
      if (r.user_audio_seconds !== null) files.add(voiceRecordingFile(r.id, 'user'));
      if (r.reply_audio_seconds !== null) files.add(voiceRecordingFile(r.id, 'reply'));
    }
    return out;
  }

  /** Turns with recorded audio, oldest first. */
  recordedTurns(): RecordedTurn[] {
    return (
      this.db.prepare('SELECT conversation_id, id, audio_bytes FROM voice_turns WHERE audio_bytes > 0 ORDER BY created_at, seq').all() as { conversation_id: string; id: string; audio_bytes: number }[]
    ).map((r) => ({ conversationId: r.conversation_id, turnId: r.id, bytes: r.audio_bytes }));
  }
}
