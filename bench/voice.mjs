#!/usr/bin/env node
// Voice benchmark: a real `aima serve` (the BUILT CLI) with the embedded chain (Whisper on
// aima-asr, stories260K on aima-llm, flite on aima-tts) set up by `aima voice setup`, driven over
// the /api/voice WebSocket as a client would (20 ms frames of a flite-spoken question in real time).
// Per round, side by side on the same inputs:
//  1. a voice turn: voice-to-voice latency = last voiced frame → first audio out (the silence
//     window included, and shown apart), and the pipeline part after the end of turn;
//  2. the stages alone, over the gateway: ASR of the question, LLM to the first sentence the turn
//     spoke (same messages, seed, temperature), TTS of that sentence to its first audio byte;
//     app overhead = pipeline − their sum (target ≤ 30 ms);
//  3. non-streaming time to first audio: whole LLM reply, then the whole reply synthesised
//     (streaming = LLM start → first audio in the turn; target ratio ≤ 0.4);
//  4. barge-in: a second utterance spoken while the reply plays; stop time = onset detection →
//     every request of the cut turn settled and its audio stopped (target ≤ 100 ms);
//  5. the Realtime path: the same question over /v1/realtime (GA events, 24 kHz, server VAD) in
//     real time; its pipeline = `speech_stopped` → first `response.output_audio.delta` as the
//     client sees them, against the stages alone for that turn's transcript and first sentence
//     (Realtime app overhead = pipeline − their sum; target ≤ 30 ms). The turn's stored timeline
//     splits it into the core's pipeline and what the client sees beyond it (the adapter's
//     resampling, encoding and sending); the Voice page's turn gets the same split.
// Parts 1-5 run with speculation off (what they measure is the chain after the end of turn).
//  6. speculative turns (--part speculation runs only this): per round, interleaved, the question
//     with and without speculation at base windows of 300, 540 and 800 ms (the adaptive window
//     pinned to the base), then speculation with the adaptive window at 540 ms; and a pause set
//     (sentences with a 400 ms pause after a word that leaves them hanging) with and without
//     speculation: false commits (a turn that ends in the pause), and the CPU seconds the
//     discarded speculations cost (the whole `aima serve` process tree, against the same turn
//     without speculation).
// Prints medians, then one JSON line.
//   node scripts/build-node.mjs && node bench/voice.mjs [--rounds 10] [--part all|chain|speculation]
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { hasCmd, requireParts } from './lib/system.mjs';

const { FormData, Blob } = globalThis;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { rounds: { type: 'string', default: '10' }, part: { type: 'string', default: 'all' } } });
const rounds = Number(values.rounds);
if (!['all', 'chain', 'speculation'].includes(values.part)) throw new Error(`--part takes all, chain or speculation; got "${values.part}"`);
const runChain = values.part !== 'speculation';
const runSpeculation = values.part !== 'chain';
const shared = process.env.AIMA_SHARED_DIR ?? path.resolve(root, '..', 'shared');
const whisper = path.join(shared, 'models/whisper-tiny-en-olive/whisper_cpu_int8_0_model.onnx');
const stories = path.join(shared, 'models/stories260K/stories260K.gguf');
const aimaBin = path.join(root, 'bin', 'aima.mjs');
requireParts('voice', [
  [`${whisper} and ${stories} (see ../shared/README.md)`, existsSync(whisper) && existsSync(stories)],
  ['out/cli/aima.mjs (run node scripts/build-node.mjs)', existsSync(path.join(root, 'out/cli/aima.mjs'))],
  ['flite on PATH', hasCmd('flite')],
]);

const RATE = 16000;
const FRAME = 320;
const QUESTION = 'what is the capital of france';
const BARGE = 'please stop and tell me a joke';
const LLM = { temperature: 0, seed: 1 };
const MAX_TOKENS = 160;
const home = mkdtempSync(path.join(os.tmpdir(), 'aima-bench-voice-'));
const env = { ...process.env, AIMA_HOME: home };
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const r1 = (x) => Math.round(x * 10) / 10;

function aima(...args) {
  return execFileSync(process.execPath, [aimaBin, ...args], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });
}

/** 16-bit mono PCM of a flite (slt, 16 kHz) utterance. */
function spoken(text) {
  const file = path.join(home, `${text.replace(/\W+/g, '-')}.wav`);
  execFileSync('flite', ['-voice', 'slt', '-t', text, '-o', file]);
  const b = readFileSync(file);
  let off = 12;
  while (b.toString('ascii', off, off + 4) !== 'data') off += 8 + b.readUInt32LE(off + 4);
  return { wav: b, pcm: b.subarray(off + 8, off + 8 + b.readUInt32LE(off + 4)) };
}

const serve = spawn(process.execPath, [...(process.env.AIMA_BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.AIMA_BENCH_PROFILE}`] : []), aimaBin, 'serve', '--port', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
let serveOut = '';
serve.stdout.on('data', (d) => (serveOut += d));
serve.stderr.on('data', (d) => (serveOut += d));
const cleanup = () => {
  serve.kill('SIGTERM');
};
process.on('exit', cleanup);
// Stopped early (Ctrl+C): the core stops its engines before the bench goes, so none outlive it.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    const done = () => process.exit(130);
    serve.once('exit', done);
    serve.kill('SIGTERM');
    setTimeout(done, 15_000).unref();
  });
}
const login = await new Promise((resolve, reject) => {
  const t = setTimeout(() => reject(new Error(`aima serve did not start:\n${serveOut}`)), 30_000);
  serve.stdout.on('data', () => {
    const m = /Log in:\s+(\S+)/.exec(serveOut);
    if (m) {
      clearTimeout(t);
      resolve(new URL(m[1]));
    }
  });
});
const base = login.origin;
const token = login.searchParams.get('token');
const auth = { authorization: `Bearer ${token}` };
const chain = JSON.parse(aima('voice', 'setup', '--asr-model', whisper, '--llm-model', stories, '--max-tokens', String(MAX_TOKENS), '--json'));
for (const s of ['voice-asr', 'voice-llm', 'voice-tts']) aima('service', 'start', s, '--wait', '--timeout', '280');
console.error(`chain: ${chain.asr} → ${chain.llm} → ${chain.tts}; ${rounds} rounds`);
const q = spoken(QUESTION);
// ASR alone hears what the turn's ASR hears: the speech with the VAD's padding (0.3 s before the
// onset, 0.1 s after the end), cut from the same audio by its energy.
q.segmentWav = (() => {
  const n = q.pcm.length >> 1;
  const at = (i) => Math.abs(q.pcm.readInt16LE(i * 2)) / 32768;
  let a = 0;
  while (a < n && at(a) < 0.01) a++;
  let b = n;
  while (b > a && at(b - 1) < 0.01) b--;
  const from = Math.max(0, a - 0.3 * RATE);
  const to = Math.min(n, b + 0.1 * RATE);
  const data = q.pcm.subarray(from * 2, to * 2);
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVEfmt ', 8, 'ascii');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(RATE, 24);
  h.writeUInt32LE(RATE * 2, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
})();
const barge = spoken(BARGE);
// The question at 24 kHz for Realtime (linear interpolation: what is heard matters, not fidelity).
q.pcm24 = (() => {
  const n = q.pcm.length >> 1;
  const m = Math.floor((n * 3) / 2);
  const out = Buffer.alloc(m * 2);
  for (let j = 0; j < m; j++) {
    const x = (j * 2) / 3;
    const i = Math.floor(x);
    const a = q.pcm.readInt16LE(Math.min(i, n - 1) * 2);
    const b = q.pcm.readInt16LE(Math.min(i + 1, n - 1) * 2);
    out.writeInt16LE(Math.round(a + (b - a) * (x - i)), j * 2);
  }
  return out;
})();

/** The first chunk the session's sentence segmenter would speak (its rules, simplified). */
function firstChunk(text) {
  const t = text.trimStart();
  for (let i = 0; i < t.length; i++) {
    const c = t[i];
    if ('.!?…'.includes(c) && (i + 1 === t.length || /\s/.test(t[i + 1]))) return t.slice(0, i + 1);
    if (',;:'.includes(c) && i + 1 >= 24) return t.slice(0, i + 1);
  }
  return t;
}

/**
 * One Realtime turn over /v1/realtime (GA): the question streamed in 20 ms appends in real time,
 * then silence until response.done. Times are the client's arrival times of the events.
 */
function realtimeTurn(pcm24) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${base.replace('http', 'ws')}/v1/realtime?model=default`, { headers: auth });
    const out = { stoppedAt: null, firstAudioAt: null, transcript: '', reply: '', status: null };
    let feeding = null;
    const finish = () => {
      clearInterval(feeding);
      ws.close();
      resolve(out);
    };
    const step = 480 * 2;
    const silence = Buffer.alloc(step);
    ws.on('error', reject);
    ws.on('message', (data) => {
      const m = JSON.parse(String(data));
      switch (m.type) {
        case 'session.created':
          ws.send(JSON.stringify({ type: 'session.update', session: { type: 'realtime', audio: { input: { transcription: { model: 'asr' } } } } }));
          break;
        case 'session.updated': {
          const t0 = performance.now();
          let sent = 0;
          feeding = setInterval(() => {
            while (sent * 20 <= performance.now() - t0 && ws.readyState === ws.OPEN) {
              const o = sent * step;
              ws.send(JSON.stringify({ type: 'input_audio_buffer.append', audio: (o < pcm24.length ? pcm24.subarray(o, o + step) : silence).toString('base64') }));
              sent++;
            }
          }, 5);
          break;
        }
        case 'input_audio_buffer.speech_stopped':
          out.stoppedAt ??= performance.now();
          break;
        case 'conversation.item.input_audio_transcription.completed':
          out.transcript = m.transcript;
          break;
        case 'response.output_audio.delta':
          out.firstAudioAt ??= performance.now();
          break;
        case 'response.output_audio_transcript.done':
          out.reply = m.transcript;
          break;
        case 'response.done':
          out.status = m.response.status;
          finish();
          break;
        case 'error':
          reject(new Error(m.error.message));
          break;
      }
    });
    setTimeout(finish, 30_000);
  });
}

/**
 * One session over /api/voice: streams `pcm` in real time then silence; with `bargeAfterAudio`,
 * streams the barge-in utterance once the first reply audio arrives. Resolves with what happened.
 */
function session({ pcm, bargePcm = null, playback = false, chainOverride = undefined }) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${base.replace('http', 'ws')}/api/voice`, { headers: auth });
    const out = { turns: [], sentences: [], bargeIns: [], audioTimes: new Map(), stopAt: null, transcribing: new Map() };
    let feeding = null;
    let bargeStarted = false;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearInterval(feeding);
      ws.close();
      resolve(out);
    };
    const frames = (buf) => {
      const list = [];
      for (let o = 0; o < buf.length; o += FRAME * 2) list.push(buf.subarray(o, Math.min(buf.length, o + FRAME * 2)));
      return list;
    };
    let queue = frames(pcm);
    const silence = Buffer.alloc(FRAME * 2);
    ws.on('error', reject);
    ws.on('open', () => ws.send(JSON.stringify({ type: 'start', persist: false, playback, llm: LLM, format: 's16le', chain: chainOverride })));
    let expectBinary = null;
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const m = JSON.parse(String(data));
      switch (m.type) {
        case 'sync':
          ws.send(JSON.stringify({ type: 'sync', coreTime: m.coreTime, clientTime: performance.now() }));
          break;
        case 'ready': {
          const t0 = performance.now();
          let sent = 0;
          feeding = setInterval(() => {
            // Real time: send every frame that is due.
            while (sent * 20 <= performance.now() - t0 && ws.readyState === ws.OPEN) {
              ws.send(queue.shift() ?? silence);
              sent++;
            }
          }, 5);
          break;
        }
        case 'sentence':
          out.sentences.push(m);
          break;
        case 'state':
          // The turn began (core time m.at), as the client hears of it.
          if (m.state === 'transcribing' && !out.transcribing.has(m.turnId)) out.transcribing.set(m.turnId, { at: m.at, arrived: performance.now() });
          break;
        case 'audio': {
          if (!out.audioTimes.has(m.turnId)) out.audioTimes.set(m.turnId, []);
          out.audioTimes.get(m.turnId).push(performance.now());
          expectBinary = m.turnId;
          if (playback && out.audioTimes.get(m.turnId).length === 1) ws.send(JSON.stringify({ type: 'playback', turnId: m.turnId, event: 'start', clientTime: performance.now() }));
          if (bargePcm && !bargeStarted) {
            bargeStarted = true;
            queue = frames(bargePcm);
          }
          break;
        }
        case 'audio.stop':
          out.stopAt = performance.now();
          break;
        case 'barge-in':
          out.bargeIns.push(m);
          break;
        case 'turn':
          out.turns.push(m);
          if (!bargePcm && m.transcript) finish();
          if (bargePcm && out.turns.length >= 1 && out.bargeIns.length >= 1) setTimeout(finish, 200);
          break;
        case 'error':
          reject(new Error(m.message));
          break;
      }
      void expectBinary;
    });
    setTimeout(finish, 20_000);
  });
}

async function apiCall(name, params) {
  const res = await fetch(`${base}/api/call/${name}`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(params) });
  const body = await res.json();
  if (!res.ok) throw new Error(body.error?.message ?? `${name}: HTTP ${res.status}`);
  return body.result;
}

const seenRealtime = new Set();
/** The core's timeline of the newest Realtime session's turn (each session is stored as a voice conversation). */
async function lastRealtimeTimeline() {
  const list = await apiCall('voice.conversations.list', {});
  const rt = list.find((c) => c.title.startsWith('Realtime') && !seenRealtime.has(c.id));
  if (!rt) return null;
  seenRealtime.add(rt.id);
  return (await apiCall('voice.conversations.get', { id: rt.id })).turns.at(-1)?.timeline ?? null;
}

async function asrAlone(wav) {
  const form = new FormData();
  form.set('file', new Blob([wav], { type: 'audio/wav' }), 'q.wav');
  form.set('model', chain.asr);
  const t0 = performance.now();
  const res = await fetch(`${base}/v1/audio/transcriptions`, { method: 'POST', body: form, headers: auth });
  const body = await res.json();
  return { ms: performance.now() - t0, text: body.text };
}

function messages(transcript) {
  return [
    { role: 'system', content: chain.systemPrompt },
    { role: 'user', content: transcript },
  ];
}

/** Streams the reply and times the moment its text covers `firstSentence`. */
async function llmToFirstSentence(transcript, firstSentence) {
  const t0 = performance.now();
  const res = await fetch(`${base}/v1/chat/completions`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ model: chain.llm, messages: messages(transcript), max_tokens: MAX_TOKENS, stream: true, ...LLM }),
  });
  const decoder = new TextDecoder();
  let text = '';
  let buf = '';
  let at = null;
  for await (const chunk of res.body) {
    buf += decoder.decode(chunk, { stream: true });
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (!line.startsWith('data:') || line === 'data: [DONE]') continue;
      text += JSON.parse(line.slice(5)).choices?.[0]?.delta?.content ?? '';
      // The segmenter needs one look-ahead character after the sentence.
      if (at === null && text.trimStart().length > firstSentence.length) at = performance.now() - t0;
    }
  }
  return { ms: at ?? performance.now() - t0, text };
}

async function llmWhole(transcript) {
  const t0 = performance.now();
  const res = await fetch(`${base}/v1/chat/completions`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ model: chain.llm, messages: messages(transcript), max_tokens: MAX_TOKENS, ...LLM }),
  });
  const body = await res.json();
  return { ms: performance.now() - t0, text: body.choices[0].message.content };
}

/** TTS of `text`: time to the first audio byte, and to the whole answer. */
async function tts(text) {
  const t0 = performance.now();
  const res = await fetch(`${base}/v1/audio/speech`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ model: chain.tts, input: text, response_format: 'pcm' }),
  });
  let first = null;
  for await (const chunk of res.body) if (first === null && chunk.length > 0) first = performance.now() - t0;
  return { firstMs: first, wholeMs: performance.now() - t0 };
}

/** Changes settings over the API (sessions opened afterwards read them). */
async function settings(patch) {
  const res = await fetch(`${base}/api/call/settings.update`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(patch) });
  if (!res.ok) throw new Error(`settings.update: HTTP ${res.status}: ${await res.text()}`);
}

const rows = [];
const failures = [];
if (runChain) {
  await settings({ voiceSpeculation: false });
  for (let round = -2; round < rounds; round++) {
    try {
      await oneRound(round);
    } catch (err) {
      failures.push(`round ${round + 1}: ${err.message}`);
      console.error(`round ${round + 1} failed: ${err.message}`);
    }
  }
}

async function oneRound(round) {
  await sleep(1000); // let the previous round's cut synthesis drain
  const turn = await session({ pcm: q.pcm });
  const t = turn.turns[0];
  const tl = t.timeline;
  const first = turn.sentences[0]?.text ?? '';
  const asr = await asrAlone(q.segmentWav);
  const llm = await llmToFirstSentence(t.transcript, first);
  const ttsFirst = await tts(first);
  const whole = await llmWhole(t.transcript);
  const ttsWhole = await tts(whole.text);
  const b = await session({ pcm: q.pcm, bargePcm: barge.pcm, playback: true });
  const rt = await realtimeTurn(q.pcm24);
  await sleep(200); // the turn is stored when it ends
  const rtTl = await lastRealtimeTimeline();
  const rtFirst = firstChunk(rt.reply);
  const rtAsr = await asrAlone(q.segmentWav);
  const rtLlm = await llmToFirstSentence(rt.transcript, rtFirst);
  const rtTts = await tts(rtFirst);
  if (round < 0) return; // warm-up
  const cut = b.bargeIns[0];
  const lastAudioOfCut = cut ? Math.max(...(b.audioTimes.get(cut.turnId) ?? [0])) : null;
  const row = {
    transcript: t.transcript,
    v2v: tl.voiceToVoiceMs,
    silence: tl.endOfTurn - tl.speechEnd,
    pipeline: tl.firstAudio - tl.endOfTurn,
    asr: asr.ms,
    llmFirstSentence: llm.ms,
    ttsFirstAudio: ttsFirst.firstMs,
    stageSum: asr.ms + llm.ms + ttsFirst.firstMs,
    inTurnAsr: tl.asrDone - tl.endOfTurn,
    inTurnLlm: tl.firstSentence - tl.asrDone,
    inTurnTts: tl.firstAudio - tl.firstSentence,
    streamingTtfa: tl.firstAudio - tl.asrDone,
    nonStreamingTtfa: whole.ms + ttsWhole.wholeMs,
    bargeStopMs: cut ? cut.stopMs : null,
    bargeAudioAfterStop: cut && lastAudioOfCut !== null && b.stopAt !== null ? lastAudioOfCut > b.stopAt : null,
  };
  row.overhead = row.pipeline - row.stageSum;
  // What the Voice page's client sees beyond the core (as for Realtime below): from the turn's
  // start to its first audio, the client's interval minus the core's.
  const began = turn.transcribing.get(t.turnId);
  const firstAudioArrived = turn.audioTimes.get(t.turnId)?.[0];
  row.beyondCore = began && firstAudioArrived !== undefined ? firstAudioArrived - began.arrived - (tl.firstAudio - began.at) : null;
  row.rtPipeline = rt.stoppedAt !== null && rt.firstAudioAt !== null ? rt.firstAudioAt - rt.stoppedAt : null;
  row.rtAsrAlone = rtAsr.ms;
  row.rtLlmAlone = rtLlm.ms;
  row.rtTtsAlone = rtTts.firstMs;
  row.rtFirstChunkChars = rtFirst.length;
  row.rtStageSum = rtAsr.ms + rtLlm.ms + rtTts.firstMs;
  row.rtOverhead = row.rtPipeline === null ? null : row.rtPipeline - row.rtStageSum;
  // The same turn as the core timed it (end of turn → first audio handed to the adapter), its
  // stages inside the turn, and what the client saw beyond the core's pipeline (the adapter's
  // resampling, encoding and sending, both events' way to the client).
  if (rtTl) {
    row.rtCorePipeline = rtTl.firstAudio - rtTl.endOfTurn;
    row.rtInTurnAsr = rtTl.asrDone - rtTl.endOfTurn;
    row.rtInTurnLlm = rtTl.firstSentence - rtTl.asrDone;
    row.rtInTurnTts = rtTl.firstAudio - rtTl.firstSentence;
    row.rtBeyondCore = row.rtPipeline === null ? null : row.rtPipeline - row.rtCorePipeline;
  }
  row.ratio = row.streamingTtfa / row.nonStreamingTtfa;
  rows.push(row);
  console.error(
    `round ${round + 1}: v2v ${r1(row.v2v)} ms (silence ${r1(row.silence)}, pipeline ${r1(row.pipeline)}) | stages ${r1(row.asr)} + ${r1(row.llmFirstSentence)} + ${r1(row.ttsFirstAudio)} = ${r1(row.stageSum)} | in the turn ${r1(row.inTurnAsr)} + ${r1(row.inTurnLlm)} + ${r1(row.inTurnTts)} | overhead ${r1(row.overhead)} ms (beyond the core ${r1(row.beyondCore)}) | TTFA ${r1(row.streamingTtfa)} vs ${r1(row.nonStreamingTtfa)} ms | barge-in stop ${row.bargeStopMs === null ? '-' : r1(row.bargeStopMs)} ms | realtime ${r1(row.rtPipeline)} vs stages ${r1(row.rtAsrAlone)} + ${r1(row.rtLlmAlone)} + ${r1(row.rtTtsAlone)} = ${r1(row.rtStageSum)} (first chunk ${row.rtFirstChunkChars} chars): overhead ${r1(row.rtOverhead)} ms (core ${r1(row.rtCorePipeline)}: ${r1(row.rtInTurnAsr)} + ${r1(row.rtInTurnLlm)} + ${r1(row.rtInTurnTts)}, beyond the core ${r1(row.rtBeyondCore)})`,
  );
}

// --- 6. speculative turns ---------------------------------------------------------------------

const WINDOWS = [300, 540, 800];
const ADAPTIVE = { voiceEarlyMarkMs: 200, voiceWindowMinMs: 300, voiceWindowMaxMs: 1200 };
/** Sentences a speaker pauses in (400 ms) after a word that leaves them hanging; the turn must not end there. */
const PAUSE_SET = [
  ['set a timer for', 'ten minutes'],
  ['turn on the lights in the', 'kitchen'],
  ['i would like a pizza and', 'a salad'],
];

/** flite's speech without its leading and trailing silence (16-bit PCM). */
function trimmedPcm(text) {
  const { pcm } = spoken(text);
  const n = pcm.length >> 1;
  const at = (i) => Math.abs(pcm.readInt16LE(i * 2)) / 32768;
  let a = 0;
  while (a < n && at(a) < 0.01) a++;
  let b = n;
  while (b > a && at(b - 1) < 0.01) b--;
  return pcm.subarray(a * 2, b * 2);
}
const pausePcm = PAUSE_SET.map(([x, y]) => ({ text: `${x} ${y}`, pcm: Buffer.concat([trimmedPcm(x), Buffer.alloc(0.4 * RATE * 2), trimmedPcm(y)]) }));

/**
 * CPU seconds used so far by `pid` and every process below it (Linux /proc; null elsewhere). Each
 * process counts its own time and that of its children it has reaped (cutime, cstime): an ASR
 * inference process killed and replaced when its request is aborted would otherwise take its
 * whole CPU time out of the sum when it ends.
 */
function treeCpuSeconds(pid) {
  if (!existsSync('/proc/self/stat')) return null;
  const parent = new Map();
  const ticks = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(d), Number(f[1]));
      ticks.set(Number(d), Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]));
    } catch {
      /* the process ended meanwhile */
    }
  }
  let sum = 0;
  for (const [p, t] of ticks) {
    for (let a = p; a > 1; a = parent.get(a) ?? 0) {
      if (a === pid) {
        sum += t;
        break;
      }
    }
  }
  return sum / 100; // USER_HZ
}

const words = (t) => t.toLowerCase().replace(/[^a-z ]/g, ' ').split(/\s+/).filter(Boolean).join(' ');

/** One turn with the given settings and base window: its timeline, transcript, and the CPU the serve tree spent on it. */
async function specTurn(pcm, patch, silenceMs) {
  await settings(patch);
  await sleep(300);
  const cpu0 = treeCpuSeconds(serve.pid);
  const s = await session({ pcm, chainOverride: { silenceMs } });
  await sleep(300); // aborted requests settle
  const cpu1 = treeCpuSeconds(serve.pid);
  const t = s.turns[0];
  if (!t) throw new Error('no turn');
  return { tl: t.timeline, transcript: t.transcript, v2v: t.timeline.voiceToVoiceMs, cpu: cpu0 === null ? null : cpu1 - cpu0 };
}

const specRows = [];
if (runSpeculation) {
  for (let round = -1; round < rounds; round++) {
    try {
      const row = { windows: {}, pause: [] };
      for (const w of WINDOWS) {
        const off = await specTurn(q.pcm, { voiceSpeculation: false }, w);
        const on = await specTurn(q.pcm, { voiceSpeculation: true, voiceEarlyMarkMs: ADAPTIVE.voiceEarlyMarkMs, voiceWindowMinMs: w, voiceWindowMaxMs: w }, w);
        // The stages alone, for the bound max(window, early mark + stages) + 30 ms.
        const first = firstChunk((await llmWhole(off.transcript)).text);
        const stages = (await asrAlone(q.segmentWav)).ms + (await llmToFirstSentence(off.transcript, first)).ms + (await tts(first)).firstMs;
        // Where the time went with speculation: silence until the turn was committed, and from
        // there to the first audio (zero when the held audio was ready; else the stages' rest).
        const parts = { silence: on.tl.endOfTurn - on.tl.speechEnd, afterCommit: on.tl.firstAudio - on.tl.endOfTurn, mark: on.tl.speculationStart === null ? null : on.tl.speculationStart - on.tl.speechEnd };
        row.windows[w] = { off: off.v2v, on: on.v2v, stages, parts, kept: on.tl.speculation === 'kept', right: words(on.transcript) === QUESTION && words(off.transcript) === QUESTION };
      }
      const adaptive = await specTurn(q.pcm, { voiceSpeculation: true, ...ADAPTIVE }, 540);
      // Where its time went: the early mark, the speculation's ASR, and from its transcript to the first audio (LLM + TTS).
      const atl = adaptive.tl;
      const inTurn = { mark: atl.speculationStart - atl.speechEnd, asr: atl.asrDone - atl.speculationStart, toAudio: atl.firstAudio - atl.asrDone };
      row.adaptive = { v2v: adaptive.v2v, window: atl.silenceWindowMs, rule: atl.windowRule, right: words(adaptive.transcript) === QUESTION, inTurn };
      for (const p of pausePcm) {
        const off = await specTurn(p.pcm, { voiceSpeculation: false }, 540);
        const on = await specTurn(p.pcm, { voiceSpeculation: true, ...ADAPTIVE }, 540);
        // A turn that ended in the pause lacks the sentence's last word (Whisper may write numbers as digits).
        const last = p.text.split(' ').at(-1);
        const endedEarly = (transcript) => !words(transcript).split(' ').includes(last);
        row.pause.push({ text: p.text, falseCommit: endedEarly(on.transcript), falseCommitOff: endedEarly(off.transcript), transcripts: [on.transcript, off.transcript], discarded: on.tl.speculationsDiscarded, wastedCpu: on.cpu === null ? null : on.cpu - off.cpu });
      }
      if (round < 0) continue; // warm-up
      specRows.push(row);
      console.error(
        `speculation round ${round + 1}: ` +
          WINDOWS.map((w) => { const x = row.windows[w]; return `${w} ms: ${r1(x.on)} (mark ${r1(x.parts.mark)}, commit ${r1(x.parts.silence)}, then ${r1(x.parts.afterCommit)}; stages ${r1(x.stages)}) vs ${r1(x.off)}`; }).join(' | ') +
          ` | adaptive ${r1(row.adaptive.v2v)} (${row.adaptive.rule} ${row.adaptive.window} ms; mark ${r1(row.adaptive.inTurn.mark)}, ASR ${r1(row.adaptive.inTurn.asr)}, then ${r1(row.adaptive.inTurn.toAudio)} to audio) | pause set: ${row.pause.filter((p) => p.falseCommit).length} false commits, wasted CPU ${row.pause.map((p) => r1(p.wastedCpu ?? NaN)).join(', ')} s`,
      );
    } catch (err) {
      failures.push(`speculation round ${round + 1}: ${err.message}`);
      console.error(`speculation round ${round + 1} failed: ${err.message}`);
    }
  }
}

const specMedian = (f) => r1(median(specRows.map(f).filter((x) => typeof x === 'number')));
const speculationResult = {
  rounds: specRows.length,
  earlyMarkMs: ADAPTIVE.voiceEarlyMarkMs,
  windows: Object.fromEntries(
    WINDOWS.map((w) => {
      const on = specMedian((r) => r.windows[w].on);
      const off = specMedian((r) => r.windows[w].off);
      const stages = specMedian((r) => r.windows[w].stages);
      const bound = Math.max(w, ADAPTIVE.voiceEarlyMarkMs + stages) + 30;
      return [w, { speculationMs: on, withoutMs: off, ratio: Math.round((on / off) * 1000) / 1000, stagesAloneMs: stages, boundMs: r1(bound), withinBound: on <= bound, kept: specRows.filter((r) => r.windows[w].kept).length, transcriptsRight: specRows.filter((r) => r.windows[w].right).length }];
    }),
  ),
  adaptive: {
    baseWindowMs: 540,
    voiceToVoiceMs: specMedian((r) => r.adaptive.v2v),
    withoutMs: specMedian((r) => r.windows[540].off),
    windowMs: specMedian((r) => r.adaptive.window),
    transcriptsRight: specRows.filter((r) => r.adaptive.right).length,
  },
  pauseSet: {
    turns: specRows.length * PAUSE_SET.length,
    falseCommits: specRows.flatMap((r) => r.pause).filter((p) => p.falseCommit).length,
    falseCommitsWithout: specRows.flatMap((r) => r.pause).filter((p) => p.falseCommitOff).length,
    discardedPerTurn: r1(median(specRows.flatMap((r) => r.pause.map((p) => p.discarded)))),
    wastedCpuSecondsPerTurn: Math.round(median(specRows.flatMap((r) => r.pause.map((p) => p.wastedCpu)).filter((x) => typeof x === 'number')) * 1000) / 1000,
  },
  failedRounds: failures.filter((f) => f.startsWith('speculation')),
};
speculationResult.adaptive.ratio = Math.round((speculationResult.adaptive.voiceToVoiceMs / speculationResult.adaptive.withoutMs) * 1000) / 1000;

function printSpeculation(r) {
  console.log(`\nspeculative turns, medians over ${r.rounds} rounds (early mark ${r.earlyMarkMs} ms):`);
  for (const [w, x] of Object.entries(r.windows)) {
    console.log(`  window ${w} ms: voice-to-voice ${x.speculationMs} ms with speculation vs ${x.withoutMs} ms without = ${x.ratio}x; bound max(window, early mark + stages ${x.stagesAloneMs}) + 30 = ${x.boundMs} ms ${x.withinBound ? 'met' : 'MISSED'}; kept ${x.kept}/${r.rounds}, transcripts right ${x.transcriptsRight}/${r.rounds}`);
  }
  const a = r.adaptive;
  console.log(`  speculation + adaptive window (base 540 ms): ${a.voiceToVoiceMs} ms vs ${a.withoutMs} ms without = ${a.ratio}x (target ≤ 0.6), window ${a.windowMs} ms, transcripts right ${a.transcriptsRight}/${r.rounds}`);
  const p = r.pauseSet;
  console.log(`  pause set: ${p.falseCommits}/${p.turns} false commits with speculation (${p.falseCommitsWithout} without); ${p.discardedPerTurn} speculations discarded per turn, ${p.wastedCpuSecondsPerTurn} CPU s wasted per turn`);
}

const m = (k) => r1(median(rows.map((r) => r[k]).filter((x) => typeof x === 'number')));
let chainResult = {};
if (runChain) {
  chainResult = {
    rounds: rows.length,
    transcriptsRight: rows.filter((r) => r.transcript.toLowerCase().replace(/[^a-z ]/g, '') === QUESTION).length,
    voiceToVoiceMs: m('v2v'),
    silenceWindowMs: m('silence'),
    pipelineMs: m('pipeline'),
    stages: { asrMs: m('asr'), llmFirstSentenceMs: m('llmFirstSentence'), ttsFirstAudioMs: m('ttsFirstAudio'), sumMs: m('stageSum') },
    inTurn: { asrMs: m('inTurnAsr'), llmFirstSentenceMs: m('inTurnLlm'), ttsFirstAudioMs: m('inTurnTts') },
    overheadMs: m('overhead'),
    beyondCoreMs: m('beyondCore'),
    streamingTtfaMs: m('streamingTtfa'),
    nonStreamingTtfaMs: m('nonStreamingTtfa'),
    streamingRatio: Math.round(median(rows.map((r) => r.ratio)) * 1000) / 1000,
    bargeInStopMs: m('bargeStopMs'),
    bargeInsDetected: rows.filter((r) => r.bargeStopMs !== null).length,
    failedRounds: failures,
    audioAfterStop: rows.filter((r) => r.bargeAudioAfterStop).length,
    realtime: {
      pipelineMs: m('rtPipeline'),
      stageSumMs: m('rtStageSum'),
      stages: { asrMs: m('rtAsrAlone'), llmFirstSentenceMs: m('rtLlmAlone'), ttsFirstAudioMs: m('rtTtsAlone') },
      overheadMs: m('rtOverhead'),
      corePipelineMs: m('rtCorePipeline'),
      inTurn: { asrMs: m('rtInTurnAsr'), llmFirstSentenceMs: m('rtInTurnLlm'), ttsFirstAudioMs: m('rtInTurnTts') },
      beyondCoreMs: m('rtBeyondCore'),
    },
    targets: { overheadMs: 30, streamingRatio: 0.4, bargeInStopMs: 100, realtimeOverheadMs: 30 },
  };
  console.log(`\nmedians over ${rows.length} rounds (after 2 warm-up rounds):`);
  console.log(`  voice-to-voice            ${chainResult.voiceToVoiceMs} ms  (silence window ${chainResult.silenceWindowMs} ms + pipeline ${chainResult.pipelineMs} ms)`);
  console.log(`  stages alone              ASR ${chainResult.stages.asrMs} + LLM→1st sentence ${chainResult.stages.llmFirstSentenceMs} + TTS→1st audio ${chainResult.stages.ttsFirstAudioMs} = ${chainResult.stages.sumMs} ms`);
  console.log(`  the same inside the turn  ASR ${chainResult.inTurn.asrMs} + LLM→1st sentence ${chainResult.inTurn.llmFirstSentenceMs} + TTS→1st audio ${chainResult.inTurn.ttsFirstAudioMs} ms`);
  console.log(`  app overhead              ${chainResult.overheadMs} ms (target ≤ 30); the client sees ${chainResult.beyondCoreMs} ms more than the core`);
  console.log(`  time to first audio       streaming ${chainResult.streamingTtfaMs} ms vs non-streaming ${chainResult.nonStreamingTtfaMs} ms = ${chainResult.streamingRatio}x (target ≤ 0.4)`);
  console.log(`  barge-in stop             ${chainResult.bargeInStopMs} ms (target ≤ 100), ${chainResult.bargeInsDetected}/${rows.length} detected, audio after stop in ${chainResult.audioAfterStop}`);
  console.log(`  realtime                  speech_stopped → first audio ${chainResult.realtime.pipelineMs} ms vs stages ${chainResult.realtime.stages.asrMs} + ${chainResult.realtime.stages.llmFirstSentenceMs} + ${chainResult.realtime.stages.ttsFirstAudioMs} = ${chainResult.realtime.stageSumMs} ms: overhead ${chainResult.realtime.overheadMs} ms (target ≤ 30)`);
  const rt = chainResult.realtime;
  console.log(`  realtime inside the core  pipeline ${rt.corePipelineMs} ms = ASR ${rt.inTurn.asrMs} + LLM→1st sentence ${rt.inTurn.llmFirstSentenceMs} + TTS→1st audio ${rt.inTurn.ttsFirstAudioMs}; client sees ${rt.beyondCoreMs} ms more`);
}
if (runSpeculation) printSpeculation(speculationResult);
console.log(JSON.stringify({ bench: 'voice', ...chainResult, ...(runSpeculation ? { speculation: speculationResult } : {}) }));
serve.kill('SIGTERM');
await sleep(500);
rmSync(home, { recursive: true, force: true });
process.exit(0);
