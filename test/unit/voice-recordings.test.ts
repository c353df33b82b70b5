/**
 * The pieces of recorded voice turns that decide or write without a live session: the size cap's
 * oldest-first choice, the Range header of the recordings route, the stored zip of an export
 * (checked with unzip), the turn audio collector, and migration 10 upgrading a schema-9 database
 * that holds turns, and the start-up sweep of files no stored turn owns.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { recordingsOverCap } from '../../src/core/voice/recording/cap.js';
import { parseRange } from '../../src/core/voice/recording/routes.js';
import { TurnAudioCollector } from '../../src/core/voice/recording/turn-audio.js';
import { zipStore } from '../../src/lib/zip-store.js';
import { openDatabase, schemaVersion } from '../../src/core/store/database.js';
import { VoiceRepo } from '../../src/core/store/repositories/voice-repo.js';
import { RecordingStore } from '../../src/core/voice/recording/store.js';
import { hasCommand } from '../support/system.js';

const t = (turnId: string, bytes: number) => ({ conversationId: 'c', turnId, bytes });

describe('recordingsOverCap', () => {
  const cases: [string, ReturnType<typeof t>[], number, string | null, string[]][] = [
    ['under the cap: nothing', [t('a', 10), t('b', 10)], 30, null, []],
    ['exactly at the cap: nothing', [t('a', 10), t('b', 20)], 30, null, []],
    ['over: the oldest first', [t('a', 10), t('b', 10), t('c', 10)], 25, null, ['a']],
    ['far over: as many old ones as needed', [t('a', 10), t('b', 10), t('c', 10)], 12, null, ['a', 'b']],
    ['the kept (newest) turn stays even alone over the cap', [t('a', 10), t('b', 50)], 20, 'b', ['a']],
    ['without a kept turn, everything over goes', [t('a', 10), t('b', 50)], 20, null, ['a', 'b']],
    ['the kept turn is skipped wherever it is', [t('k', 40), t('a', 10), t('b', 10)], 45, 'k', ['a', 'b']],
  ];
  for (const [name, turns, cap, keep, out] of cases) {
    it(name, () => expect(recordingsOverCap(turns, cap, keep).map((x) => x.turnId)).toEqual(out));
  }
});

describe('parseRange', () => {
  const cases: [string | undefined, number, ReturnType<typeof parseRange>][] = [
    [undefined, 100, null],
    ['bytes=0-9', 100, { start: 0, end: 9 }],
    ['bytes=90-', 100, { start: 90, end: 99 }],
    ['bytes=-10', 100, { start: 90, end: 99 }],
    ['bytes=50-500', 100, { start: 50, end: 99 }],
    ['bytes=100-', 100, 'unsatisfiable'],
    ['bytes=9-3', 100, 'unsatisfiable'],
    ['bytes=0-1,5-6', 100, null],
    ['items=0-1', 100, null],
  ];
  for (const [header, size, out] of cases) it(`${header} of ${size}`, () => expect(parseRange(header, size)).toEqual(out));
});

describe('zipStore', () => {
  it.skipIf(!hasCommand('unzip'))('writes an archive unzip lists, tests and extracts byte for byte', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'aima-zip-'));
    const audio = Uint8Array.from({ length: 5000 }, (_, i) => (i * 7) & 0xff);
    const file = path.join(dir, 'x.zip');
    writeFileSync(file, zipStore([{ name: 'conv/audio/turn-001-user.flac', data: audio }, { name: 'conv/transcript.txt', data: Buffer.from('Grüße\n') }]));
    expect(execFileSync('unzip', ['-Z1', file]).toString().trim().split('\n')).toEqual(['conv/audio/turn-001-user.flac', 'conv/transcript.txt']);
    execFileSync('unzip', ['-tq', file]);
    expect(execFileSync('unzip', ['-p', file, 'conv/transcript.txt']).toString()).toBe('Grüße\n');
    expect(Buffer.compare(execFileSync('unzip', ['-p', file, 'conv/audio/turn-001-user.flac']), Buffer.from(audio))).toBe(0);
  });
});

describe('TurnAudioCollector', () => {
  it('keeps each turn apart, joins reply chunks, returns 16-bit input bit-exactly and forgets what it hands out', () => {
    const c = new TurnAudioCollector();
    const mic = Int16Array.from([0, 1, -1, 32767, -32768, 1234]);
    c.utterance('t1', 16000, Float32Array.from(mic, (s) => s / 32768));
    c.replyChunk('t1', 22050, Int16Array.from([1, 2]));
    c.replyChunk('t2', 16000, Int16Array.from([9]));
    c.replyChunk('t1', 22050, Int16Array.from([3]));
    const a = c.take('t1')!;
    expect(Array.from(a.user!.pcm)).toEqual(Array.from(mic));
    expect(a.reply).toEqual({ sampleRate: 22050, pcm: Int16Array.from([1, 2, 3]) });
    expect(c.take('t1')).toBeNull();
    expect(c.take('t2')).toEqual({ user: null, reply: { sampleRate: 16000, pcm: Int16Array.from([9]) } });
    // A chunk at another rate is resampled to the turn's first rate.
    c.replyChunk('t3', 16000, new Int16Array(1600));
    c.replyChunk('t3', 8000, new Int16Array(800));
    expect(c.take('t3')!.reply!.pcm.length).toBe(3200);
  });
});

describe('migration 10 (voice recordings)', () => {
  it('upgrades a schema-9 database with turns: they have no recording, and one can be recorded and counted', () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'aima-m10-')), 'aima.db');
    const v9 = openDatabase(file, { targetVersion: 9 });
    v9.prepare(`INSERT INTO voice_conversations (id, title, created_at, updated_at) VALUES ('c1', 'hi', 1, 1)`).run();
    v9.prepare(`INSERT INTO voice_turns (id, conversation_id, seq, user_text, assistant_text, created_at) VALUES ('t1', 'c1', 1, 'hello', 'hi there', 1)`).run();
    v9.close();
    const db = openDatabase(file, { targetVersion: 10 });
    expect(schemaVersion(db)).toBe(10);
    const repo = new VoiceRepo(db);
    expect(repo.turns('c1')).toMatchObject([{ id: 't1', user: 'hello', recording: null }]);
    expect(repo.recordingUsage()).toEqual({ bytes: 0, turns: 0 });
    repo.setRecording('t1', { userSeconds: 1.5, replySeconds: null, bytes: 1000 });
    expect(repo.turns('c1')[0]!.recording).toEqual({ userSeconds: 1.5, replySeconds: null, bytes: 1000 });
    expect(repo.recordedTurns()).toEqual([{ conversationId: 'c1', turnId: 't1', bytes: 1000 }]);
    repo.setRecording('t1', null);
    expect(repo.turns('c1')[0]!.recording).toBeNull();
    db.close();
  });
});

describe('RecordingStore.sweep', () => {
  it('removes folders of deleted conversations and files of turns without recorded audio, and keeps what the rows own', () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'aima-sweep-'));
    const db = openDatabase(path.join(home, 'aima.db'));
    const repo = new VoiceRepo(db);
    const store = new RecordingStore(path.join(home, 'recordings'));
    const c = repo.create({ title: '', systemPrompt: '', asr: null, llm: null, tts: null, voice: null });
    const kept = repo.addTurn(c.id, { user: 'a', assistant: 'b', interrupted: false, timeline: {} });
    const half = repo.addTurn(c.id, { user: 'c', assistant: 'd', interrupted: false, timeline: {} });
    const audio = { user: { sampleRate: 16000, pcm: new Int16Array(1600) }, reply: { sampleRate: 16000, pcm: new Int16Array(800) } };
    repo.setRecording(kept.id, store.write(c.id, kept.id, audio));
    // A file written whose row never said so (a stop between the two), and a deleted conversation's folder.
    store.write(c.id, half.id, audio);
    mkdirSync(path.join(home, 'recordings', '11111111-2222-3333-4444-555555555555'), { recursive: true });
    const removed = store.sweep(repo.recordingFiles());
    expect(removed.map((p) => path.basename(p)).sort()).toEqual([`${half.id}-reply.flac`, `${half.id}-user.flac`, '11111111-2222-3333-4444-555555555555'].sort());
    expect(readdirSync(path.join(home, 'recordings'))).toEqual([c.id]);
    expect(readdirSync(path.join(home, 'recordings', c.id)).sort()).toEqual([`${kept.id}-reply.flac`, `${kept.id}-user.flac`]);
    expect(existsSync(store.file(c.id, kept.id, 'user'))).toBe(true);
    db.close();
  });
});
