/** Migration 7 (voice): upgrade from a schema-6 database holding rows; conversations, turns and the chain config. */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase, schemaVersion } from '../../src/core/store/database.js';
import { SettingsRepo } from '../../src/core/store/repositories/settings-repo.js';
import { DEFAULT_VOICE_CONFIG, VoiceRepo } from '../../src/core/store/repositories/voice-repo.js';

describe('migration 7 (voice)', () => {
  it('upgrades a schema-6 database with settings and an API key; conversations, turns and config work and cascade', () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'aima-m7-')), 'aima.db');
    const v6 = openDatabase(file, { targetVersion: 6 });
    expect(schemaVersion(v6)).toBe(6);
    new SettingsRepo(v6).update({ theme: 'dark' });
    v6.prepare(`INSERT INTO api_keys (id, name, prefix, hash, created_at) VALUES ('k1', 'ci', 'aima-ab', 'h', 1)`).run();
    v6.close();

    const db = openDatabase(file, { targetVersion: 7 });
    expect(schemaVersion(db)).toBe(7);
    expect(new SettingsRepo(db).getAll()).toMatchObject({ theme: 'dark' });
    expect(db.prepare('SELECT name FROM api_keys').all()).toEqual([{ name: 'ci' }]);

    const repo = new VoiceRepo(db);
    expect(repo.config()).toEqual(DEFAULT_VOICE_CONFIG);
    expect(repo.setConfig({ asr: 'whisper', llm: 'remote/gpt', tts: 'voice-tts', silenceMs: 700 })).toEqual({
      ...DEFAULT_VOICE_CONFIG,
      asr: 'whisper',
      llm: 'remote/gpt',
      tts: 'voice-tts',
      silenceMs: 700,
    });
    // A stored value this version does not accept falls back to the defaults instead of failing.
    db.prepare(`UPDATE voice_config SET value = '"soon"' WHERE key = 'silenceMs'`).run();
    expect(repo.config().silenceMs).toBe(DEFAULT_VOICE_CONFIG.silenceMs);

    const c = repo.create({ title: '', systemPrompt: 'Be brief.', asr: 'whisper', llm: 'stories', tts: 'voice-tts', voice: 'slt' });
    expect(c).toMatchObject({ title: '', systemPrompt: 'Be brief.', llm: 'stories', voice: 'slt', turnCount: 0 });
    const t1 = repo.addTurn(c.id, { user: 'Hello there', assistant: 'Hi.', interrupted: false, timeline: { voiceToVoiceMs: 812.5 } });
    repo.addTurn(c.id, { user: 'And then?', assistant: 'Once', interrupted: true, timeline: {} });
    expect(t1).toMatchObject({ seq: 1, user: 'Hello there', timeline: { voiceToVoiceMs: 812.5 } });
    expect(repo.turns(c.id).map((t) => [t.seq, t.user, t.assistant, t.interrupted])).toEqual([
      [1, 'Hello there', 'Hi.', false],
      [2, 'And then?', 'Once', true],
    ]);
    expect(repo.get(c.id)).toMatchObject({ title: 'Hello there', turnCount: 2 });
    const other = repo.create({ title: 'Second', systemPrompt: '', asr: null, llm: null, tts: null, voice: null });
    expect(repo.list().map((x) => x.id)).toContain(other.id);
    // Turn numbers are unique per conversation, enforced by the schema.
    expect(() => db.prepare(`INSERT INTO voice_turns (id, conversation_id, seq, user_text, assistant_text, created_at) VALUES ('x', ?, 1, 'a', 'b', 1)`).run(c.id)).toThrow(/UNIQUE/);
    expect(repo.delete(c.id)).toBe(true);
    expect(repo.delete(c.id)).toBe(false);
    expect(db.prepare('SELECT COUNT(*) AS n FROM voice_turns').get()).toEqual({ n: 0 });
    expect(repo.list().map((x) => x.id)).toEqual([other.id]);
    db.close();
  });
});
