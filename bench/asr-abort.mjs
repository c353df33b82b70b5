#!/usr/bin/env node
// ASR abort benchmark: how long a short transcription takes when it arrives right after a long one
// was abandoned, under each way of not waiting behind the abandoned run, side by side in one run
// (interleaved rounds, medians):
//   undisturbed      one inference process, nothing else running
//   kill, reload     the running process is killed and a fresh one loads; the short run waits for it
//   kill, spare      the running process is killed; a warm spare takes the short run (what the worker does)
//   second instance  the abandoned run finishes in its process while a second one takes the short run
// plus the resident memory each costs (the whole worker's too: HTTP process, active and spare), the replacement's load time and CPU, the same comparison
// through the real worker over HTTP (a fetch aborted by its client), and a check of the option the
// processes replaced: terminating a worker thread inside onnxruntime-node's run.
//   node scripts/build-node.mjs && node bench/asr-abort.mjs [--rounds 5] [--threads 2] [--abort-after 150]
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { isMainThread, parentPort, Worker } from 'node:worker_threads';
import { loadTs, repoRoot as root } from './lib/load-ts.mjs';
import { cpuSeconds, hasCmd, requireParts, rssKiB } from './lib/system.mjs';

const { FormData, Blob } = globalThis;
const shared = process.env.AIMA_SHARED_DIR ?? path.resolve(root, '..', 'shared');
const whisper = path.join(shared, 'models/whisper-tiny-en-olive/whisper_cpu_int8_0_model.onnx');
const entry = path.join(root, 'out/workers/asr.mjs');
const SHORT = 'turn on the kitchen lights please';
const LONG =
  'The quick brown fox jumps over the lazy dog while the farmer walks slowly to the market to sell his apples and pears. ' +
  'In the afternoon the children play in the park near the river, and their parents sit on the benches and talk about the weather, ' +
  'the news and the price of bread. Later that evening everyone goes home for dinner and the town becomes quiet again until the morning.';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function pcm16k(file) {
  const b = readFileSync(file);
  return Float32Array.from(new Int16Array(b.buffer, b.byteOffset + 44, (b.length - 44) / 2), (v) => v / 32768);
}

// The thread check's thread: load the model, then transcribe what it is sent.
if (!isMainThread) {
  const { WhisperOnnx } = await loadTs('src/workers/asr/whisper-onnx.ts', 'asr-abort-whisper');
  const model = await WhisperOnnx.load(whisper, { threads: 2, numBeams: 2 });
  parentPort.on('message', (samples) => void model.transcribe(samples).then(() => parentPort.postMessage('done')));
  parentPort.postMessage('ready');
} else if (process.argv[2] === '--thread-check') {
  // Run in a child of its own: the outcome being checked is that the process dies.
  const thread = new Worker(new URL(import.meta.url));
  await new Promise((r) => thread.once('message', r));
  thread.postMessage(pcm16k(process.argv[3]));
  await sleep(150);
  await thread.terminate();
  console.log('terminated cleanly');
} else {
  await main();
}

async function main() {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, threads: { type: 'string', default: '2' }, 'abort-after': { type: 'string', default: '150' } } });
  const rounds = Number(values.rounds);
  const abortAfter = Number(values['abort-after']);
  requireParts('asr-abort', [
    [`${whisper} (see ../shared/README.md)`, existsSync(whisper)],
    ['out/workers/asr.mjs (run node scripts/build-node.mjs)', existsSync(entry)],
    ['flite and sox on PATH', hasCmd('flite') && hasCmd('sox')],
  ]);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'aima-asr-abort-'));
  const wav = (text, name) => {
    const raw = path.join(tmp, `${name}-raw.wav`);
    const out = path.join(tmp, `${name}.wav`);
    execFileSync('flite', ['-voice', 'slt', '-t', text, '-o', raw]);
    execFileSync('sox', [raw, '-r', '16000', '-c', '1', '-b', '16', out]);
    return out;
  };
  const shortWav = wav(SHORT, 'short');
  const longWav = wav(LONG, 'long');
  const short = pcm16k(shortWav);
  const long = pcm16k(longWav);

  const { InferenceProcess } = await loadTs('src/workers/asr/inference-process.ts', 'asr-abort-inference');
  const opts = { model: whisper, threads: Number(values.threads), beams: 2 };
  const start = () => InferenceProcess.start(entry, opts);
  const timed = async (from, run) => {
    const text = await run;
    if (!/kitchen lights/i.test(text)) throw new Error(`wrong transcript: ${text}`);
    return performance.now() - from;
  };
  /** Starts the long run on `unit` and resolves once it has run `abortAfter` ms. */
  const longRunning = async (unit) => {
    const run = unit.transcribe(long).catch(() => undefined);
    await sleep(abortAfter);
    return run;
  };

  const ms = { undisturbed: [], killReload: [], killSpare: [], second: [], reloadMs: [], reloadCpu: [], longMs: [] };
  const rss = { one: [], two: [] };
  let a = await start();
  let b = await start();
  await a.transcribe(short);
  await b.transcribe(short);
  for (let r = 0; r < rounds; r++) {
    ms.undisturbed.push(await timed(performance.now(), a.transcribe(short)));
    let t = performance.now();
    await a.transcribe(long);
    ms.longMs.push(performance.now() - t);
    rss.one.push(rssKiB(a.pid));
    rss.two.push(rssKiB(a.pid) + rssKiB(b.pid));

    // Kill and reload: the short run waits for a fresh process.
    await longRunning(a);
    a.kill();
    t = performance.now();
    ms.killReload.push(await timed(t, start().then((fresh) => ((a = fresh), fresh.transcribe(short)))));

    // Kill and take the warm spare; the replacement spare loads afterwards, measured on its own.
    await longRunning(a);
    a.kill();
    ms.killSpare.push(await timed(performance.now(), b.transcribe(short)));
    [a, b] = [b, undefined];
    t = performance.now();
    b = await start();
    ms.reloadMs.push(performance.now() - t);
    ms.reloadCpu.push(cpuSeconds(b.pid) * 1000);

    // Second instance: the abandoned run goes on beside the short one.
    const abandoned = await longRunning(a);
    ms.second.push(await timed(performance.now(), b.transcribe(short)));
    await abandoned;
  }
  a.kill();
  b.kill();

  // The same through the real worker: a short request right after a long one aborted by its client.
  const worker = spawn(process.execPath, [entry, '--model', whisper, '--port', '0', '--threads', values.threads], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    worker.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m && /^ready: /m.test(out)) resolve(m[1]);
    });
    worker.once('exit', (c) => reject(new Error(`asr worker exited ${c}`)));
  });
  const post = (file, signal) => {
    const form = new FormData();
    form.set('file', new Blob([readFileSync(file)], { type: 'audio/wav' }), 'a.wav');
    return fetch(`${url}/v1/audio/transcriptions`, { method: 'POST', body: form, signal }).then((res) => res.json());
  };
  const spareReady = async () => {
    while ((await (await fetch(`${url}/health`)).json()).spare !== 'ready') await sleep(50);
  };
  const http = { undisturbed: [], afterAbort: [] };
  await post(shortWav);
  for (let r = 0; r < rounds; r++) {
    await spareReady();
    let t = performance.now();
    http.undisturbed.push(await timed(t, post(shortWav).then((j) => j.text)));
    const ac = new AbortController();
    const abandoned = post(longWav, ac.signal).catch(() => undefined);
    await sleep(abortAfter);
    ac.abort();
    await abandoned;
    t = performance.now();
    http.afterAbort.push(await timed(t, post(shortWav).then((j) => j.text)));
  }
  const health = await (await fetch(`${url}/health`)).json();
  await spareReady();
  const children = readFileSync(`/proc/${worker.pid}/task/${worker.pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
  const workerRss = [worker.pid, ...children].reduce((sum, pid) => sum + rssKiB(pid), 0);
  worker.kill('SIGTERM');

  const check = spawnSync(process.execPath, [new URL(import.meta.url).pathname, '--thread-check', longWav], { encoding: 'utf8' });
  const threadOutcome = check.signal ? `process killed by ${check.signal}` : check.stdout.includes('terminated cleanly') ? 'terminated cleanly' : `exit ${check.status}`;
  rmSync(tmp, { recursive: true, force: true });

  const m = Object.fromEntries(Object.entries(ms).map(([k, v]) => [k, Math.round(median(v))]));
  const ratio = (x) => (x / m.undisturbed).toFixed(2);
  const mib = (kib) => Math.round(median(kib) / 1024);
  const h = { undisturbed: Math.round(median(http.undisturbed)), afterAbort: Math.round(median(http.afterAbort)) };
  const rows = [
    ['undisturbed short run', `${m.undisturbed} ms`, '1.00', `${mib(rss.one)} MiB`],
    ['after abort: kill, reload', `${m.killReload} ms`, ratio(m.killReload), `${mib(rss.one)} MiB`],
    ['after abort: kill, warm spare', `${m.killSpare} ms`, ratio(m.killSpare), `${mib(rss.two)} MiB`],
    ['after abort: second instance', `${m.second} ms`, ratio(m.second), `${mib(rss.two)} MiB`],
    ['worker over HTTP, undisturbed', `${h.undisturbed} ms`, '1.00', ''],
    ['worker over HTTP, after an aborted request', `${h.afterAbort} ms`, (h.afterAbort / h.undisturbed).toFixed(2), `${Math.round(workerRss / 1024)} MiB`],
  ];
  console.log(`ASR abort bench: ${rounds} rounds, threads ${values.threads}, long run (${(long.length / 16000).toFixed(1)} s audio, ${m.longMs} ms) abandoned after ${abortAfter} ms`);
  console.log(`${'short run (2 s audio), start to result'.padEnd(44)} ${'median'.padStart(9)} ${'ratio'.padStart(6)} ${'memory'.padStart(9)}`);
  for (const [k, v, r, mem] of rows) console.log(`${k.padEnd(44)} ${v.padStart(9)} ${r.padStart(6)} ${mem.padStart(9)}`);
  console.log(`replacement process load: ${m.reloadMs} ms wall, ${m.reloadCpu} ms CPU; worker counted ${JSON.stringify(health.aborted)}`);
  console.log(`worker thread terminated inside onnxruntime's run: ${threadOutcome}`);
  console.log(JSON.stringify({ rounds, threads: Number(values.threads), abort_after_ms: abortAfter, medians_ms: m, http_ms: h, rss_mib: { one: mib(rss.one), two: mib(rss.two), worker: Math.round(workerRss / 1024) }, thread_terminate: threadOutcome }));
}
