#!/usr/bin/env node
// Benchmark: the core's memory while large audio uploads pass through its gateway. Starts a built
// `aima serve` with its own AIMA_HOME and a real ASR service (the embedded Whisper worker with the
// model from ../shared/models; a fake ASR upstream when that is missing or AIMA_BENCH_UPLOAD_FAKE=1),
// sends concurrent multipart uploads with the file part BEFORE the model part (as curl -F and the
// OpenAI SDK may), and samples the core's RSS from /proc every 50 ms.
//
//   npm run build && node bench/upload-memory.mjs
//   AIMA_BENCH_UPLOADS=8 AIMA_BENCH_UPLOAD_MB=115 AIMA_BENCH_SETTLE_S=60 node bench/upload-memory.mjs
//
// Idle RSS is taken after one small warm-up upload. The upload bytes are a test pattern, not audio: the worker answers 400 invalid_audio, which
// still makes the gateway route, queue, spool and forward every byte. Targets: peak RSS under
// 300 MB, and RSS within 20 MB of idle AIMA_BENCH_SETTLE_S seconds after. Prints readable lines,
// then one JSON line with every number.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadTs, repoRoot as root } from './lib/load-ts.mjs';
import { rssKiB } from './lib/system.mjs';

const UPLOADS = Number(process.env.AIMA_BENCH_UPLOADS ?? 8);
const UPLOAD_MB = Number(process.env.AIMA_BENCH_UPLOAD_MB ?? 115);
const SETTLE_S = Number(process.env.AIMA_BENCH_SETTLE_S ?? 60);
const WHISPER = path.resolve(root, '..', 'shared', 'models', 'whisper-tiny-en-olive', 'whisper_cpu_int8_0_model.onnx');
const useWorker = existsSync(WHISPER) && process.env.AIMA_BENCH_UPLOAD_FAKE !== '1';
const aimaBin = path.join(root, 'bin', 'aima.mjs');

if (!existsSync(path.join(root, 'out', 'cli', 'aima.mjs'))) {
  console.error('bench/upload-memory: build first (npm run build)');
  process.exit(1);
}
const { sendUpload, startFakeAsr } = await loadTs('test/support/uploads.ts', 'uploads');

const work = mkdtempSync(path.join(os.tmpdir(), 'aima-bench-upload-'));
const home = path.join(work, 'home');
const env = { ...process.env, AIMA_HOME: home };
const cleanup = () => rmSync(work, { recursive: true, force: true });
process.on('exit', cleanup);

const aima = (...args) =>
  new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [aimaBin, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`aima ${args.join(' ')}: ${err}`))));
  });

const serve = spawn(process.execPath, [aimaBin, 'serve', '--port', '0'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
const url = await new Promise((resolve, reject) => {
  let out = '';
  serve.stdout.on('data', (d) => {
    out += d;
    const m = /API and UI: (\S+)/.exec(out);
    if (m) resolve(m[1]);
  });
  serve.on('exit', (code) => reject(new Error(`aima serve exited with ${code}:\n${out}`)));
});
let fake = null;
let model;
if (useWorker) {
  await aima('model', 'import', WHISPER, '--name', 'whisper-tiny');
  await aima('service', 'create', 'ears', '--model', 'whisper-tiny', '--engine', 'aima-asr');
  await aima('service', 'start', 'ears', '--wait', '--timeout', '150');
  model = 'whisper-tiny';
} else {
  fake = await startFakeAsr(0);
  await aima('remote', 'add', 'fake', '--url', `${fake.url}/v1`, '--model', 'fake-asr', '--kind', 'asr');
  model = 'fake-asr';
}
const pid = serve.pid;
const mib = (kib) => Math.round(kib / 1024);
const hwmKiB = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);

// Idle: after one small upload (first-use allocations: JIT, sockets, the spool path) and a pause.
await sendUpload(`${url}/v1/audio/transcriptions`, model, 2 * 1024 * 1024, 'file-first');
await new Promise((r) => setTimeout(r, 10_000));
const idle = rssKiB(pid);
const hwmBefore = hwmKiB();
console.log(`core pid ${pid}, upstream: ${useWorker ? 'embedded Whisper worker (aima-asr)' : 'fake ASR'}, idle RSS ${mib(idle)} MB (VmHWM so far ${mib(hwmBefore)} MB)`);

let peak = idle;
const sampler = setInterval(() => (peak = Math.max(peak, rssKiB(pid))), 50);
const started = performance.now();
const answers = await Promise.all(Array.from({ length: UPLOADS }, () => sendUpload(`${url}/v1/audio/transcriptions`, model, UPLOAD_MB * 1024 * 1024, 'file-first')));
const seconds = (performance.now() - started) / 1000;
clearInterval(sampler);
const hwm = hwmKiB();
const statuses = {};
for (const a of answers) {
  const key = `${a.status} ${a.status === 200 ? 'ok' : (JSON.parse(a.body).error?.code ?? '')}`;
  statuses[key] = (statuses[key] ?? 0) + 1;
}
console.log(`${UPLOADS} x ${UPLOAD_MB} MB uploads (file part first) in ${seconds.toFixed(1)} s: ${Object.entries(statuses).map(([k, n]) => `${n} x ${k}`).join(', ')}`);
console.log(`peak RSS ${mib(peak)} MB sampled, VmHWM ${mib(hwm)} MB`);
const spoolDir = path.join(home, 'tmp');
const leftover = existsSync(spoolDir) ? readdirSync(spoolDir).length : 0;

await new Promise((r) => setTimeout(r, SETTLE_S * 1000));
const after = rssKiB(pid);
console.log(`RSS ${SETTLE_S} s later ${mib(after)} MB (${after >= idle ? '+' : ''}${mib(after - idle)} MB over idle); spool files left: ${leftover}`);

const peakOk = Math.max(peak, hwm) < 300 * 1024;
const settleOk = after - idle < 20 * 1024;
console.log(`targets: peak < 300 MB ${peakOk ? 'met' : 'MISSED'}; within 20 MB of idle after ${SETTLE_S} s ${settleOk ? 'met' : 'MISSED'}`);
console.log(
  JSON.stringify({
    bench: 'upload-memory',
    upstream: useWorker ? 'aima-asr' : 'fake',
    uploads: UPLOADS,
    uploadMB: UPLOAD_MB,
    seconds: Math.round(seconds * 10) / 10,
    statuses,
    idleMB: mib(idle),
    peakMB: mib(peak),
    hwmMB: mib(hwm),
    afterMB: mib(after),
    settleSeconds: SETTLE_S,
    spoolLeft: leftover,
    peakOk,
    settleOk,
  }),
);
serve.kill('SIGTERM');
await new Promise((r) => serve.once('exit', r));
await fake?.close();
