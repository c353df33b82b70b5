#!/usr/bin/env node
// Benchmark: `aima gpu --json` wall time through the real CLI against a running core (with the
// fake nvidia-smi replaying the H100 recording, and without any nvidia-smi), side by side with
// `aima --version` (the CLI's own start-up) so the hardware part can be told apart; the core's
// CPU while a hardware.watch lease keeps telemetry at 1 Hz vs idle; and bench/telemetry.mjs's
// numbers (run as a child, its JSON line reused).
//
//   npm run build && node bench/hardware.mjs
//   AIMA_BENCH_RUNS=15 AIMA_BENCH_SECONDS=20 node bench/hardware.mjs
//
// Prints readable lines, then one JSON line with every number.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const aima = path.join(root, 'bin', 'aima.mjs');
const fake = path.join(root, 'test/fixtures/bin/fake-nvidia-smi');
const h100 = path.resolve(process.env.AIMA_SHARED_DIR ?? path.resolve(root, '..', 'shared'), 'fixtures', 'nvidia-smi', 'h100-80gb');
const runs = Number(process.env.AIMA_BENCH_RUNS ?? 9);
const seconds = Number(process.env.AIMA_BENCH_SECONDS ?? 10);

if (!existsSync(path.join(root, 'out', 'cli', 'aima.mjs'))) {
  console.error('bench/hardware.mjs: run `npm run build` first (out/cli/aima.mjs is missing).');
  process.exit(1);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Starts `aima serve --port 0` with `env`; resolves with its pid, origin and token. */
function startServe(env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [aima, 'serve', '--port', '0'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const onData = (d) => {
      out += d;
      const m = /Log in:\s+(\S+)/.exec(out);
      if (m) {
        const u = new URL(m[1]);
        resolve({ child, url: u.origin, token: u.searchParams.get('token') });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (d) => (out += d));
    child.once('exit', (code) => reject(new Error(`aima serve exited with ${code}: ${out}`)));
  });
}

async function stopServe(s) {
  const exited = new Promise((r) => s.child.once('exit', r));
  s.child.kill('SIGTERM');
  await exited;
}

/** Wall time of one `aima ARGS` run, in ms. */
function timeCli(args, env) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const c = spawn(process.execPath, [aima, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (out += d));
    c.once('exit', (code) => (code === 0 ? resolve({ ms: performance.now() - t0, out }) : reject(new Error(`aima ${args.join(' ')}: exit ${code}: ${out}`))));
  });
}

/** utime + stime of a process (not its children) in ms (Linux /proc; USER_HZ 100). */
function processCpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields after the name: 0 state … 11 utime, 12 stime
  return { own: (Number(f[11]) + Number(f[12])) * 10 };
}

const call = (s, name, params) =>
  fetch(`${s.url}/api/call/${name}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${s.token}` }, body: JSON.stringify(params) }).then((r) =>
    r.json(),
  );

async function cliRuns(label, env) {
  const home = mkdtempSync(path.join(os.tmpdir(), 'aima-bench-hw-'));
  const fullEnv = { AIMA_HOME: home, ...env };
  const s = await startServe(fullEnv);
  try {
    await timeCli(['gpu', '--json'], fullEnv); // warm-up: first detection, page cache
    const version = [];
    const gpu = [];
    let report;
    // Interleaved, so background load affects both alike.
    for (let i = 0; i < runs; i++) {
      version.push((await timeCli(['--version'], fullEnv)).ms);
      const r = await timeCli(['gpu', '--json'], fullEnv);
      gpu.push(r.ms);
      report = JSON.parse(r.out);
    }
    const res = {
      label,
      runs,
      gpuJsonMsMedian: Math.round(median(gpu)),
      versionMsMedian: Math.round(median(version)),
      hardwareMsMedian: Math.round(median(gpu) - median(version)),
      coreDetectMsLast: report.durationMs,
      gpus: report.gpus.map((g) => g.name),
      nvidiaProbe: report.gpuProbes.find((p) => p.tool === 'nvidia-smi')?.status,
    };
    console.log(
      `aima gpu --json (${label}): median ${res.gpuJsonMsMedian} ms over ${runs} runs; aima --version ${res.versionMsMedian} ms; ` +
        `difference (the API call + detection + printing) ${res.hardwareMsMedian} ms; core's detection ${res.coreDetectMsLast} ms; ` +
        `GPUs: ${res.gpus.join(', ') || 'none'} (nvidia-smi ${res.nvidiaProbe})`,
    );
    return { res, s, home };
  } catch (err) {
    await stopServe(s);
    throw err;
  }
}

// 1. CLI wall time, with the fake nvidia-smi and without one.
const withFake = await cliRuns('fake nvidia-smi, H100 recording', { AIMA_NVIDIA_SMI: fake, AIMA_NVIDIA_SMI_FIXTURE: h100 });

// 2. The core's CPU: idle vs. a watch lease (telemetry at 1 Hz), on the same warm core.
const s = withFake.s;
const pid = s.child.pid;
await sleep(1000);
let c0 = processCpuMs(pid);
let t0 = performance.now();
await sleep(seconds * 1000);
let c1 = processCpuMs(pid);
const idle = { ms: c1.own - c0.own, wallMs: performance.now() - t0 };
const samples = [];
const ws = await import('ws').then((m) => m.default).catch(() => null);
let sock;
if (ws) {
  sock = new ws(`${s.url.replace('http', 'ws')}/api/events`, { headers: { authorization: `Bearer ${s.token}` } });
  sock.on('message', (d) => {
    const m = JSON.parse(String(d));
    if (m.event === 'hardware.sample') samples.push(m.payload);
  });
  await new Promise((r) => sock.once('open', r));
}
const lease = (await call(s, 'hardware.watch', { ttlMs: (seconds + 10) * 1000 })).result;
await sleep(1500); // the stream child starts
c0 = processCpuMs(pid);
t0 = performance.now();
const samples0 = samples.length;
await sleep(seconds * 1000);
c1 = processCpuMs(pid);
const samplesInWindow = samples.slice(samples0).filter((x) => x.type === 'sample').length;
const watching = { ms: c1.own - c0.own, wallMs: performance.now() - t0 };
await call(s, 'hardware.unwatch', { leaseId: lease.leaseId });
sock?.close();
let leftover = 0;
await sleep(1000);
try {
  leftover = execFileSync('pgrep', ['-P', String(pid), '-f', 'fake-nvidia-smi'], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).length;
} catch {
  leftover = 0; // pgrep exits 1 when nothing matches
}
const corePct = (x) => Number(((x.ms / x.wallMs) * 100).toFixed(2));
const coreCpu = {
  seconds,
  idlePctOfCore: corePct(idle),
  watchingPctOfCore: corePct(watching),
  telemetryPctOfCore: Number((corePct(watching) - corePct(idle)).toFixed(2)),
  samplesInWindow,
  nvidiaSmiLeftAfterUnwatch: leftover,
};
console.log(
  `core CPU (serve process only): idle ${coreCpu.idlePctOfCore} % of one core; with a watch lease ${coreCpu.watchingPctOfCore} % ` +
    `(telemetry ≈ ${coreCpu.telemetryPctOfCore} %); ${coreCpu.samplesInWindow} hardware.sample events in ${seconds} s; ` +
    `nvidia-smi processes left after unwatch: ${leftover}`,
);
await stopServe(s);
rmSync(withFake.home, { recursive: true, force: true });

const without = await cliRuns('no nvidia-smi', { AIMA_NVIDIA_SMI: '/nonexistent/nvidia-smi' });
await stopServe(without.s);
rmSync(without.home, { recursive: true, force: true });

// 3. bench/telemetry.mjs (library level: loop CPU per sampler mode, detection time), reused as is.
let telemetry = null;
if (process.env.AIMA_BENCH_SKIP_TELEMETRY !== '1') {
  const out = execFileSync(process.execPath, [path.join(root, 'bench', 'telemetry.mjs')], {
    encoding: 'utf8',
    env: { ...process.env, AIMA_BENCH_SECONDS: String(seconds) },
    maxBuffer: 16 * 1024 * 1024,
  });
  const lines = out.trim().split('\n');
  for (const l of lines.slice(0, -1)) console.log(`  [telemetry.mjs] ${l}`);
  telemetry = JSON.parse(lines.at(-1));
}

console.log(
  JSON.stringify({
    bench: 'hardware',
    host: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, loadAverage1m: os.loadavg()[0] },
    aimaGpuJson: { withFakeNvidiaSmi: withFake.res, withoutNvidiaSmi: without.res },
    coreCpu,
    telemetry,
  }),
);
