#!/usr/bin/env node
// ASR thread-count benchmark: the time of one short transcription (Whisper tiny.en, a 2 s flite
// clip) at several onnxruntime intra-op thread counts, alone and beside what a live voice session
// runs next to it: an LLM worker generating (stories260K, threads 1, requests back to back) or a
// busy loop on one core. Each session is its own model in this process; runs are interleaved by
// thread count within each condition; medians. Prints a table, then one JSON line.
//   node scripts/build-node.mjs && node bench/asr-threads.mjs [--rounds 7] [--threads 1,2,4]
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadTs, repoRoot as root } from './lib/load-ts.mjs';
import { cpuSeconds, hasCmd, requireParts } from './lib/system.mjs';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '7' }, threads: { type: 'string', default: '1,2,4' } } });
const rounds = Number(values.rounds);
const shared = process.env.AIMA_SHARED_DIR ?? path.resolve(root, '..', 'shared');
const whisper = path.join(shared, 'models/whisper-tiny-en-olive/whisper_cpu_int8_0_model.onnx');
const stories = path.join(shared, 'models/stories260K/stories260K.gguf');
const llmWorker = path.join(root, 'out/workers/llm.mjs');
requireParts('asr-threads', [
  [`${whisper} and ${stories} (see ../shared/README.md)`, existsSync(whisper) && existsSync(stories)],
  ['out/workers/llm.mjs (run node scripts/build-node.mjs)', existsSync(llmWorker)],
  ['flite and sox on PATH', hasCmd('flite') && hasCmd('sox')],
]);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const tmp = mkdtempSync(path.join(os.tmpdir(), 'aima-asr-threads-'));
execFileSync('flite', ['-voice', 'slt', '-t', 'turn on the kitchen lights please', '-o', path.join(tmp, 'raw.wav')]);
execFileSync('sox', [path.join(tmp, 'raw.wav'), '-r', '16000', '-c', '1', '-b', '16', path.join(tmp, 'short.wav')]);
const b = readFileSync(path.join(tmp, 'short.wav'));
const clip = Float32Array.from(new Int16Array(b.buffer, b.byteOffset + 44, (b.length - 44) / 2), (v) => v / 32768);

const { WhisperOnnx } = await loadTs('src/workers/asr/whisper-onnx.ts', 'asr-threads-whisper');
const variants = [
  ...values.threads.split(',').map((t) => ({ name: `threads ${t}`, opts: { threads: Number(t), numBeams: 2 } })),
  { name: 'threads 2, no spinning', opts: { threads: 2, numBeams: 2, spinning: false } },
];
for (const v of variants) {
  v.model = await WhisperOnnx.load(whisper, v.opts);
  await v.model.transcribe(clip);
}

/** What runs beside the ASR in each condition: start() returns a stop function. */
const conditions = [
  { name: 'alone', start: async () => () => {} },
  {
    name: 'beside a busy loop on one core',
    start: async () => {
      const busy = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
      return () => busy.kill();
    },
  },
  {
    name: 'beside an LLM generating',
    start: async () => {
      const llm = spawn(process.execPath, [llmWorker, '--model', stories, '--port', '0', '--threads', '1', '--parallel', '1', '--ctx-size', '512'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      llm.stdout.setEncoding('utf8').on('data', (d) => (out += d));
      // Read, and shown only if it fails to start: stopping it mid-request logs a disposal error.
      llm.stderr.setEncoding('utf8').on('data', (d) => (err += d));
      while (!/ready:/.test(out)) {
        if (llm.exitCode !== null) throw new Error(`llm worker exited: ${out}${err}`);
        await sleep(20);
      }
      const url = /listening on (http:\/\/\S+)/.exec(out)[1];
      // The client loop runs in a process of its own, so this one's transcriptions do not pause it.
      const client = spawn(
        process.execPath,
        ['-e', `(async () => { for (;;) await (await fetch('${url}/v1/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'Once upon a time', max_tokens: 400, temperature: 0 }) })).json(); })()`],
        { stdio: 'ignore' },
      );
      await sleep(500);
      return () => {
        client.kill();
        llm.kill();
      };
    },
  },
];

const results = {};
for (const c of conditions) {
  const stop = await c.start();
  const ms = Object.fromEntries(variants.map((v) => [v.name, []]));
  const cpu = Object.fromEntries(variants.map((v) => [v.name, []]));
  for (let r = 0; r < rounds; r++) {
    for (const v of variants) {
      const c0 = cpuSeconds(process.pid);
      const t0 = performance.now();
      const { text } = await v.model.transcribe(clip);
      ms[v.name].push(performance.now() - t0);
      cpu[v.name].push((cpuSeconds(process.pid) - c0) * 1000);
      if (!/kitchen lights/i.test(text)) throw new Error(`wrong transcript: ${text}`);
    }
  }
  stop();
  results[c.name] = Object.fromEntries(variants.map((v) => [v.name, { ms: Math.round(median(ms[v.name])), cpu_ms: Math.round(median(cpu[v.name])) }]));
  await sleep(300);
}
rmSync(tmp, { recursive: true, force: true });

console.log(`ASR thread counts: a 2 s clip, ${rounds} rounds, median ms (CPU ms); ratio to threads 2`);
console.log(['condition'.padEnd(32), ...variants.map((v) => v.name.padStart(24))].join(' '));
for (const [cond, row] of Object.entries(results)) {
  const base = row['threads 2'].ms;
  console.log([cond.padEnd(32), ...variants.map((v) => `${row[v.name].ms} (${row[v.name].cpu_ms}) ${(row[v.name].ms / base).toFixed(2)}`.padStart(24))].join(' '));
}
console.log(JSON.stringify({ rounds, results }));
