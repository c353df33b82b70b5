#!/usr/bin/env node
// Speech benchmark: runs the BUILT workers (out/workers/asr.mjs, out/workers/tts.mjs) as real
// processes and measures ASR real-time factor (processing time / audio duration, over HTTP,
// decode included), TTS real-time factor and TTS time to the first audio chunk. Test audio comes
// from the flite CLI and sox. Prints a table, then one JSON line.
//   node scripts/build-node.mjs && node bench/speech.mjs [--threads 2] [--runs 3] [--beams 2]
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { hasCmd, requireParts } from './lib/system.mjs';

// Node 20 globals (undici); named here so the linter's globals need not know them.
const { FormData, Blob } = globalThis;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { threads: { type: 'string', default: '2' }, runs: { type: 'string', default: '3' }, beams: { type: 'string', default: '2' } } });
const threads = values.threads;
const runs = Number(values.runs);
const shared = process.env.AIMA_SHARED_DIR ?? path.resolve(root, '..', 'shared');
const whisper = path.join(shared, 'models/whisper-tiny-en-olive/whisper_cpu_int8_0_model.onnx');
requireParts('speech', [
  [`${whisper} (see ../shared/README.md)`, existsSync(whisper)],
  ['out/workers/asr.mjs and tts.mjs (run node scripts/build-node.mjs)', existsSync(path.join(root, 'out/workers/asr.mjs')) && existsSync(path.join(root, 'out/workers/tts.mjs'))],
  ['flite and sox on PATH', hasCmd('flite') && hasCmd('sox')],
]);

async function start(name, args) {
  const t0 = performance.now();
  const child = spawn(process.execPath, [path.join(root, 'out/workers', `${name}.mjs`), '--port', '0', '--threads', threads, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const url = await new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      // The worker listens before it loads; `ready:` is the line that says the model is up.
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m && /^ready: /m.test(out)) resolve(m[1]);
    });
    child.once('exit', (c) => reject(new Error(`${name} exited ${c}: ${err}`)));
  });
  return { url, child, startupMs: performance.now() - t0 };
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'aima-bench-'));
const phrases = ['turn on the kitchen lights please', 'what is the weather like today', 'set a timer for ten minutes', 'play some relaxing music', 'call my mother on her mobile'];
const wavSeconds = (buf) => (buf.length - 44) / (buf.readUInt32LE(28));

async function asrOnce(url, wav) {
  const form = new FormData();
  form.set('file', new Blob([wav], { type: 'audio/wav' }), 'a.wav');
  form.set('model', 'whisper');
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/audio/transcriptions`, { method: 'POST', body: form });
  const body = await res.json();
  if (res.status !== 200) throw new Error(JSON.stringify(body));
  return { ms: performance.now() - t0, text: body.text };
}

/** POSTs to /v1/audio/speech; returns time to the first PCM byte, total time and audio seconds. */
function ttsOnce(url, input, voice) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let first;
    let bytes = 0;
    let rate = 0;
    const req = request(`${url}/v1/audio/speech`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      rate = Number(res.headers['x-sample-rate']);
      res.on('data', (d) => {
        bytes += d.length;
        if (first === undefined && bytes > 44) first = performance.now() - t0;
      });
      res.on('end', () => (res.statusCode === 200 ? resolve({ firstMs: first, totalMs: performance.now() - t0, seconds: (bytes - 44) / 2 / rate }) : reject(new Error(`status ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(JSON.stringify({ input, voice, response_format: 'wav' }));
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = {};
try {
  // --- ASR
  const asr = await start('asr', ['--model', whisper, '--beams', values.beams]);
  results.asr_startup_ms = Math.round(asr.startupMs);
  const clips = phrases.map((p, i) => {
    const f = path.join(tmp, `p${i}.wav`);
    execFileSync('flite', ['-voice', 'slt', '-t', p, '-o', f]);
    return readFileSync(f);
  });
  await asrOnce(asr.url, clips[0]); // warm-up
  const shortRtf = [];
  for (let r = 0; r < runs; r++) {
    let ms = 0;
    let secs = 0;
    for (const c of clips) {
      ms += (await asrOnce(asr.url, c)).ms;
      secs += wavSeconds(c);
    }
    shortRtf.push(ms / 1000 / secs);
  }
  results.asr_rtf_short_clips = +median(shortRtf).toFixed(3);
  // 70+ s: the phrases twice, 5 s of silence after each, at 48 kHz stereo (resampling included).
  const sil = path.join(tmp, 'sil.wav');
  execFileSync('sox', ['-n', '-r', '16000', '-c', '1', '-b', '16', sil, 'trim', '0', '5']);
  const parts = [];
  for (let i = 0; i < 10; i++) {
    const n = path.join(tmp, `n${i}.wav`);
    execFileSync('sox', [path.join(tmp, `p${i % 5}.wav`), '-r', '16000', '-c', '1', '-b', '16', n]);
    parts.push(n, sil);
  }
  const long = path.join(tmp, 'long.wav');
  const long48 = path.join(tmp, 'long48.wav');
  execFileSync('sox', [...parts, long]);
  execFileSync('sox', [long, '-r', '48000', '-c', '2', long48]);
  const longWav = readFileSync(long48);
  const longRtf = [];
  for (let r = 0; r < runs; r++) longRtf.push((await asrOnce(asr.url, longWav)).ms / 1000 / wavSeconds(longWav));
  results.asr_rtf_long_48k_stereo = +median(longRtf).toFixed(3);
  results.asr_long_seconds = +wavSeconds(longWav).toFixed(1);
  asr.child.kill('SIGTERM');

  // --- TTS
  const tts = await start('tts', []);
  results.tts_startup_ms = Math.round(tts.startupMs);
  const paragraph =
    'The kitchen lights are now on and set to a warm white colour. Tomorrow will be cloudy in the morning with some sunshine later. Your timer for ten minutes has been started.';
  for (const voice of ['slt', 'en-gb']) {
    await ttsOnce(tts.url, 'Warm up.', voice).catch(() => undefined);
    const rtf = [];
    const first = [];
    for (let r = 0; r < runs; r++) {
      const t = await ttsOnce(tts.url, paragraph, voice);
      rtf.push(t.totalMs / 1000 / t.seconds);
      first.push(t.firstMs);
    }
    const key = voice === 'slt' ? 'flite_slt' : 'espeak_en_gb';
    results[`tts_rtf_${key}`] = +median(rtf).toFixed(3);
    results[`tts_first_chunk_ms_${key}`] = Math.round(median(first));
  }
  tts.child.kill('SIGTERM');
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

const rows = [
  ['ASR worker startup (model load)', `${results.asr_startup_ms} ms`],
  ['ASR RTF, five 2 s flite clips (16 kHz)', results.asr_rtf_short_clips],
  [`ASR RTF, ${results.asr_long_seconds} s recording (48 kHz stereo)`, results.asr_rtf_long_48k_stereo],
  ['TTS worker startup', `${results.tts_startup_ms} ms`],
  ['TTS RTF, flite slt (3 sentences)', results.tts_rtf_flite_slt],
  ['TTS first chunk, flite slt', `${results.tts_first_chunk_ms_flite_slt} ms`],
  ['TTS RTF, espeak-ng en-gb', results.tts_rtf_espeak_en_gb],
  ['TTS first chunk, espeak-ng en-gb', `${results.tts_first_chunk_ms_espeak_en_gb} ms`],
];
console.log(`speech bench (threads ${threads}, Whisper beams ${values.beams}, median of ${runs}; RTF < 1 is faster than real time)`);
for (const [k, v] of rows) console.log(`  ${k.padEnd(48)} ${v}`);
console.log(JSON.stringify({ bench: 'speech', threads: Number(threads), beams: Number(values.beams), runs, ...results }));
