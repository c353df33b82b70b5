/**
 * Recorded conversations on a real `aima serve` with the real chain (Whisper, stories260K, flite
 * through the gateway, driven by `aima voice`): with voiceRecording on, a turn stores its user
 * audio and spoken reply as FLAC beside the database, whose lengths (decoded by sox) match the turn
 * record and the timeline and whose reply is bit-exactly what the client received; off stores
 * none; the size cap removes the oldest; the files are served under /api with its auth (refusing a
 * path outside the recordings), exported as a folder and a zip, and deleted with the conversation.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAima, startServe, tempHome, type ServeHandle } from '../support/cli.js';
import { requirePart, sharedModel } from '../support/system.js';
import { fliteWav, haveFlite, haveSox, haveWhisper, pcmOfWav, whisperModel } from '../support/speech.js';

const GGUF = sharedModel('stories260K/stories260K.gguf');
const have = () => existsSync(GGUF) && haveWhisper && haveFlite && haveSox;
let serve: ServeHandle | undefined;
let home: string;
let question: string;
const aima = (args: string[], timeoutMs = 180_000) => runAima(args, { AIMA_HOME: home }, timeoutMs);

async function call<T>(name: string, params: unknown): Promise<T> {
  const res = await fetch(`${serve!.url}/api/call/${name}`, { method: 'POST', headers: { authorization: `Bearer ${serve!.token}`, 'content-type': 'application/json' }, body: JSON.stringify(params) });
  const body = (await res.json()) as { result: T; error?: unknown };
  if (!res.ok) throw new Error(JSON.stringify(body.error));
  return body.result;
}

interface Turn {
  id: string;
  seq: number;
  user: string;
  timeline: Record<string, number | null>;
  recording: { userSeconds: number | null; replySeconds: number | null; bytes: number } | null;
}
interface TurnJson {
  conversationId: string;
  audioSeconds: number;
  sampleRate: number;
}

/** Decodes a FLAC with sox: rate and 16-bit samples. */
function soxDecode(file: string): { sampleRate: number; samples: Int16Array } {
  const sampleRate = Number(execFileSync('sox', ['--i', '-r', file]).toString().trim());
  const raw = execFileSync('sox', ['-V1', file, '-t', 'raw', '-e', 'signed-integer', '-b', '16', '-L', '-'], { maxBuffer: 64 * 1024 * 1024 });
  return { sampleRate, samples: new Int16Array(raw.buffer, raw.byteOffset, raw.byteLength / 2) };
}

/** One spoken turn through `aima voice`; returns its JSON and the answer WAV's samples. */
async function turn(conversation?: string): Promise<{ out: TurnJson; answer: Int16Array }> {
  const wav = path.join(home, `answer-${Date.now()}.wav`);
  const r = await aima(['voice', '--in', question, '--out', wav, '--json', '--temperature', '0', '--seed', '1', ...(conversation ? ['--conversation', conversation] : [])]);
  expect(r.code, r.stderr).toBe(0);
  return { out: JSON.parse(r.stdout) as TurnJson, answer: pcmOfWav(readFileSync(wav)).samples };
}

const file = (conv: string, turnId: string, side: 'user' | 'reply') => path.join(home, 'recordings', conv, `${turnId}-${side}.flac`);
const turnsOf = async (id: string) => (await call<{ turns: Turn[] }>('voice.conversations.get', { id })).turns;

/** A raw GET (no URL normalisation), with optional headers. */
function rawGet(p: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Buffer; headers: http.IncomingHttpHeaders }> {
  const u = new URL(serve!.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: p, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  if (!have()) return;
  home = tempHome('aima-voice-rec-');
  question = fliteWav('what is the capital of france', path.join(home, 'question.wav'));
  serve = await startServe({ AIMA_HOME: home });
  const r = await aima(['voice', 'setup', '--asr-model', whisperModel, '--llm-model', GGUF, '--max-tokens', '40', '--start', '--json']);
  expect(r.code, r.stderr).toBe(0);
}, 240_000);
afterAll(async () => {
  await serve?.stop();
});

describe('recorded voice conversations (real services)', () => {
  let conv: string;
  let first: Turn;

  it('records nothing while the setting is off (the default)', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF) && haveWhisper);
    requirePart(ctx, 'flite', haveFlite);
    requirePart(ctx, 'sox', haveSox);
    expect((await call<{ voiceRecording: boolean }>('settings.get', {})).voiceRecording).toBe(false);
    const { out } = await turn();
    conv = out.conversationId;
    const [t] = await turnsOf(conv);
    expect(t!.recording).toBeNull();
    expect(existsSync(path.join(home, 'recordings', conv))).toBe(false);
    expect(await call('voice.recordings.usage', {})).toMatchObject({ enabled: false, bytes: 0, turns: 0 });
  }, 240_000);

  it('with voiceRecording on, stores the user audio and the spoken reply as FLAC whose lengths match the turn', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF) && haveWhisper);
    requirePart(ctx, 'flite', haveFlite);
    requirePart(ctx, 'sox', haveSox);
    expect((await aima(['settings', 'set', 'voiceRecording', 'true'])).code).toBe(0);
    const { out, answer } = await turn(conv);
    const turns = await turnsOf(conv);
    expect(turns).toHaveLength(2);
    first = turns[1]!;
    expect(turns[0]!.recording).toBeNull();
    const rec = first.recording!;
    expect(rec).not.toBeNull();

    // The reply: bit-exactly the audio the client received, as long as the turn says.
    const reply = soxDecode(file(conv, first.id, 'reply'));
    expect(reply.sampleRate).toBe(out.sampleRate);
    expect(Buffer.from(reply.samples.buffer, reply.samples.byteOffset, reply.samples.byteLength).equals(Buffer.from(answer.buffer, answer.byteOffset, answer.byteLength))).toBe(true);
    expect(rec.replySeconds).toBeCloseTo(reply.samples.length / reply.sampleRate, 6);
    expect(rec.replySeconds).toBeCloseTo(out.audioSeconds, 3);

    // The user's utterance: 16 kHz, covering the speech the VAD placed on the timeline (plus its padding).
    const user = soxDecode(file(conv, first.id, 'user'));
    expect(user.sampleRate).toBe(16000);
    expect(rec.userSeconds).toBeCloseTo(user.samples.length / 16000, 6);
    const spoken = (first.timeline.speechEnd! - first.timeline.speechStart!) / 1000;
    expect(rec.userSeconds!).toBeGreaterThanOrEqual(spoken);
    expect(rec.userSeconds!).toBeLessThan(spoken + 1.5);
    let peak = 0;
    for (const s of user.samples) peak = Math.max(peak, Math.abs(s));
    expect(peak).toBeGreaterThan(3000);

    // The row's bytes are the files' sizes; usage adds them up.
    const bytes = readFileSync(file(conv, first.id, 'user')).length + readFileSync(file(conv, first.id, 'reply')).length;
    expect(rec.bytes).toBe(bytes);
    expect(await call('voice.recordings.usage', {})).toMatchObject({ enabled: true, bytes, turns: 1, capBytes: 1024 * 1024 * 1024, dir: path.join(home, 'recordings') });
  }, 240_000);

  it('serves a recording under /api with its auth, ranges included, and refuses paths outside the recordings', async (ctx) => {
    requirePart(ctx, 'sox', haveSox);
    expect(first, 'the previous test ran').toBeDefined();
    const p = `/api/voice/recordings/${conv}/${first.id}-reply.flac`;
    const auth = { authorization: `Bearer ${serve!.token}` };
    const ok = await rawGet(p, auth);
    expect(ok.status).toBe(200);
    expect(ok.headers['content-type']).toBe('audio/flac');
    expect(ok.body.equals(readFileSync(file(conv, first.id, 'reply')))).toBe(true);
    const cookie = await rawGet(p, { cookie: `aima_token=${serve!.token}` });
    expect(cookie.status).toBe(200);
    const part = await rawGet(p, { ...auth, range: 'bytes=4-9' });
    expect(part.status).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 4-9/${ok.body.length}`);
    expect(part.body.equals(ok.body.subarray(4, 10))).toBe(true);

    expect((await rawGet(p)).status).toBe(401);
    expect((await rawGet(p, { authorization: 'Bearer wrong' })).status).toBe(401);
    for (const bad of [
      `/api/voice/recordings/${conv}/..%2F..%2Faima.db`,
      `/api/voice/recordings/..%2F..%2F/token`,
      `/api/voice/recordings/${conv}/%2e%2e%2f%2e%2e%2ftoken`,
      `/api/voice/recordings/${conv}/${first.id}-reply.wav`,
      `/api/voice/recordings/${conv}/${first.id}-reply.flac/x`,
    ]) {
      const r = await rawGet(bad, auth);
      expect(r.status, bad).toBe(400);
      expect(r.body.toString()).toContain('Not a recording path');
    }
    // A path the URL parser folds out of /api/ never reaches the route: it is the UI's (or nothing).
    const dots = await rawGet(`/api/voice/recordings/${conv}/../../../token`, auth);
    expect(dots.body.toString()).not.toContain(readFileSync(path.join(home, 'token'), 'utf8').trim());
    expect((await rawGet(`/api/voice/recordings/${conv}/${'0'.repeat(8)}-reply.flac`, auth)).status).toBe(404);
  });

  it('exports the conversation as a folder (aima voice export) and as a zip', async (ctx) => {
    requirePart(ctx, 'sox', haveSox);
    expect(first, 'the earlier tests ran').toBeDefined();
    const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'aima-export-')), 'out');
    const r = await aima(['voice', 'export', conv, dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(dir);
    expect(readdirSync(dir).sort()).toEqual(['audio', 'conversation.json', 'transcript.txt']);
    expect(readdirSync(path.join(dir, 'audio')).sort()).toEqual(['turn-002-reply.flac', 'turn-002-user.flac']);
    expect(readFileSync(path.join(dir, 'audio', 'turn-002-reply.flac')).equals(readFileSync(file(conv, first.id, 'reply')))).toBe(true);
    const json = JSON.parse(readFileSync(path.join(dir, 'conversation.json'), 'utf8')) as { conversation: { id: string }; turns: (Turn & { audio: { user?: { file: string; seconds: number } } })[] };
    expect(json.conversation.id).toBe(conv);
    expect(json.turns.map((t) => t.seq)).toEqual([1, 2]);
    expect(json.turns[1]!.timeline.speechEnd).toBe(first.timeline.speechEnd);
    expect(json.turns[1]!.audio.user).toEqual({ file: 'audio/turn-002-user.flac', seconds: first.recording!.userSeconds });
    const transcript = readFileSync(path.join(dir, 'transcript.txt'), 'utf8');
    expect(transcript).toContain(`[2] You: ${first.user}`);

    const zip = await rawGet(`/api/voice/export/${conv}.zip`, { authorization: `Bearer ${serve!.token}` });
    expect(zip.status).toBe(200);
    expect(zip.headers['content-disposition']).toContain(`voice-${conv}.zip`);
    const zipFile = path.join(path.dirname(dir), 'c.zip');
    writeFileSync(zipFile, zip.body);
    const listing = execFileSync('unzip', ['-Z1', zipFile]).toString().trim().split('\n').sort();
    expect(listing).toEqual([`voice-${conv}/audio/turn-002-reply.flac`, `voice-${conv}/audio/turn-002-user.flac`, `voice-${conv}/conversation.json`, `voice-${conv}/transcript.txt`]);
    execFileSync('unzip', ['-tq', zipFile]);
    expect((await rawGet(`/api/voice/export/${conv}.zip`)).status).toBe(401);
  });

  it('the size cap removes the oldest recorded turn first', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF) && haveWhisper);
    requirePart(ctx, 'flite', haveFlite);
    requirePart(ctx, 'sox', haveSox);
    expect(first, 'the earlier tests ran').toBeDefined();
    // Room for about one turn: the next turn's audio pushes the older one out.
    const cap = (first.recording!.bytes * 1.5) / (1024 * 1024);
    expect((await aima(['settings', 'set', 'voiceRecordingCapMiB', String(Math.max(0.1, cap))])).code).toBe(0);
    await turn(conv);
    const turns = await turnsOf(conv);
    expect(turns).toHaveLength(3);
    expect(turns[1]!.recording).toBeNull();
    expect(existsSync(file(conv, first.id, 'user'))).toBe(false);
    expect(existsSync(file(conv, first.id, 'reply'))).toBe(false);
    const newest = turns[2]!;
    expect(newest.recording).not.toBeNull();
    expect(existsSync(file(conv, newest.id, 'reply'))).toBe(true);
    expect(await call('voice.recordings.usage', {})).toMatchObject({ bytes: newest.recording!.bytes, turns: 1 });
  }, 240_000);

  it('deleting the conversation removes its recordings', async (ctx) => {
    requirePart(ctx, 'sox', haveSox);
    expect(first, 'the earlier tests ran').toBeDefined();
    expect(existsSync(path.join(home, 'recordings', conv))).toBe(true);
    expect(await call('voice.conversations.delete', { id: conv })).toEqual({ deleted: true });
    expect(existsSync(path.join(home, 'recordings', conv))).toBe(false);
    expect(await call('voice.recordings.usage', {})).toMatchObject({ bytes: 0, turns: 0 });
  });
});
