#!/usr/bin/env node
// Benchmark: download throughput of `aima serve`'s download manager against curl, on the same file
// served by the fake Hub (test/support/fake-hub.ts) on loopback, and the core's memory during a
// multi-GB download (RSS sampled every 50 ms from /proc).
//
//   npm run build                        # or: node scripts/build-node.mjs (bundles the CLI / core)
//   node bench/downloads.mjs             # 2 GiB file
//   AIMA_BENCH_MB=1024 node bench/downloads.mjs
//
// The file is stories260K.gguf followed by random bytes (so the import at the end succeeds),
// written to a temporary folder and deleted afterwards. curl fetches the Hub's resolve URL (one
// stream, following the CDN redirect, no verification); AIMA runs a real download: 4 connections x
// 16 MiB Range chunks, SQLite progress records, sha256 verification, move and import. Both are run
// in interleaved rounds (AIMA_BENCH_ROUNDS, default 3) and the best of each counts; CPU seconds
// (user + sys) are reported too, since they hold up better than wall time on a shared machine.
// Then both again over an emulated network link (see LINK_MBPS below). Prints readable lines, then
// one JSON line with every number.
import { build } from 'esbuild';
import { spawn, execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cpuSeconds, rssKiB } from './lib/system.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MB = Number(process.env.AIMA_BENCH_MB ?? 2048);
const REPO = 'aima-bench/big-GGUF';
const FILE = 'big-Q8_0.gguf';
const GGUF = path.resolve(root, '..', 'shared', 'models', 'stories260K', 'stories260K.gguf');

if (!existsSync(path.join(root, 'out', 'cli', 'aima.mjs'))) {
  console.error('bench/downloads: build first (node scripts/build-node.mjs)');
  process.exit(1);
}
try {
  execFileSync('curl', ['--version'], { stdio: 'ignore' });
} catch {
  console.error('bench/downloads: curl is missing (apt-get install -y curl)');
  process.exit(1);
}

const outDir = path.join(root, 'bench', 'results', '.build');
mkdirSync(outDir, { recursive: true });
await build({ entryPoints: [path.join(root, 'test/support/fake-hub.ts')], bundle: true, platform: 'node', format: 'esm', outfile: path.join(outDir, 'fake-hub.mjs'), logLevel: 'warning' });
const { FakeHub } = await import(pathToFileURL(path.join(outDir, 'fake-hub.mjs')).href);

const work = mkdtempSync(path.join(os.tmpdir(), 'aima-bench-dl-'));
const source = path.join(work, FILE);
const cleanup = () => rmSync(work, { recursive: true, force: true });
process.on('exit', cleanup);

// 1. The file: a real GGUF header and tensors, then random bytes up to the size.
{
  const out = createWriteStream(source);
  const head = existsSync(GGUF) ? readFileSync(GGUF) : Buffer.alloc(0);
  out.write(head);
  const block = randomBytes(16 * 1024 * 1024);
  let left = MB * 1024 * 1024 - head.length;
  while (left > 0) {
    const n = Math.min(block.length, left);
    block.writeUInt32LE(left >>> 0, 0); // no two blocks alike
    if (!out.write(Buffer.from(block.subarray(0, n)))) await once(out, 'drain');
    left -= n;
  }
  out.end();
  await once(out, 'finish');
}
const size = statSync(source).size;
let t = performance.now();
const hash = createHash('sha256');
for await (const c of createReadStream(source, { highWaterMark: 4 * 1024 * 1024 })) hash.update(c);
const sha256 = hash.digest('hex');
const hashMs = performance.now() - t;
console.log(`file: ${(size / 2 ** 20).toFixed(0)} MiB, sha256 in ${(hashMs / 1000).toFixed(2)} s (${(size / 2 ** 20 / (hashMs / 1000)).toFixed(0)} MiB/s on this CPU)`);

const hub = await FakeHub.start({ [REPO]: [{ path: FILE, content: { file: source }, lfs: true, sha256 }] });
const resolveUrl = `${hub.url}/${REPO}/resolve/main/${FILE}`;

// 2. curl: one stream, following the redirect; CPU from bash's `times` (children's user+sys).
async function curlRun(i) {
  const dst = path.join(work, `curl-${i}.out`);
  const t0 = performance.now();
  // This process serves the file (the fake Hub): its CPU meanwhile is the server's share.
  const server0 = process.cpuUsage();
  const { stdout } = await promisify(execFile)('bash', ['-c', 'curl -sSfL -o "$1" "$2" && times', 'bench', dst, resolveUrl]);
  const ms = performance.now() - t0;
  const server = process.cpuUsage(server0);
  if (statSync(dst).size !== size) throw new Error('curl got a short file');
  rmSync(dst);
  // `times` prints the shell's line, then the children's: "0m0.101s 0m0.532s".
  const lines = stdout.trim().split('\n');
  const cpu = lines.at(-1).split(/\s+/).map((x) => { const m = /(\d+)m([\d.]+)s/.exec(x); return m ? Number(m[1]) * 60 + Number(m[2]) : 0; });
  return { ms, cpuS: cpu[0] + cpu[1], serverCpuS: (server.user + server.system) / 1e6 };
}

// 3. aima serve (a fresh data directory each time); CPU of the core process (all threads) from /proc.
async function aimaRun(i) {
  const home = path.join(work, `home-${i}`);
  // AIMA_BENCH_PROFILE=DIR writes a V8 CPU profile of the core to DIR.
  const prof = process.env.AIMA_BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.AIMA_BENCH_PROFILE}`] : [];
  const child = spawn(process.execPath, [...prof, path.join(root, 'bin', 'aima.mjs'), 'serve', '--port', '0'], {
    env: { ...process.env, AIMA_HOME: home, HF_ENDPOINT: hub.url },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const login = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`aima serve did not start:\n${out}`)), 30_000);
    child.stdout.on('data', () => {
      const m = /Log in:\s+(\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(new URL(m[1]));
      }
    });
  });
  const token = login.searchParams.get('token');
  // The round trip of each API call while the download runs: how responsive the core stays.
  const latencies = [];
  const call = async (name, params) => {
    const t = performance.now();
    const res = await fetch(`${login.origin}/api/call/${name}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(params) });
    const body = await res.json();
    if (!res.ok) throw new Error(`${name}: ${JSON.stringify(body)}`);
    latencies.push(performance.now() - t);
    return body.result ?? body;
  };
  await new Promise((r) => setTimeout(r, 500));
  const baseline = rssKiB(child.pid);
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, rssKiB(child.pid))), 50);
  const cpu0 = cpuSeconds(child.pid);
  // The core's main thread (its event loop: API, gateway, voice) apart from the rest.
  const main0 = cpuSeconds(child.pid, child.pid);
  const t0 = performance.now();
  const started = await call('downloads.start', { repo: REPO, files: [FILE] });
  latencies.length = 0;
  let bytesAt = null;
  let final;
  for (;;) {
    const list = await call('downloads.list', {});
    const d = list.find((x) => x.id === started.id);
    if (d && bytesAt === null && d.bytesDone >= d.bytesTotal) bytesAt = performance.now() - t0;
    if (d && (d.state === 'completed' || d.state === 'failed')) {
      final = d;
      break;
    }
    // Polling costs the core CPU too (HTTP, zod, SQL): 5 times a second is enough resolution.
    await new Promise((r) => setTimeout(r, 200));
  }
  const totalMs = performance.now() - t0;
  const cpuS = cpuSeconds(child.pid) - cpu0;
  const mainCpuS = cpuSeconds(child.pid, child.pid) - main0;
  clearInterval(sampler);
  child.kill('SIGTERM');
  await once(child, 'exit');
  rmSync(home, { recursive: true, force: true });
  if (final.state !== 'completed') throw new Error(`download failed: ${final.error}`);
  latencies.sort((a, b) => a - b);
  const apiMs = { p50: latencies[Math.floor(latencies.length / 2)] ?? 0, max: latencies.at(-1) ?? 0 };
  return { totalMs, bytesMs: bytesAt ?? totalMs, baselineKiB: baseline, peakKiB: peak, cpuS, mainCpuS, apiMs };
}

// A warm-up of each, not counted: on a VM the first writes into memory the guest has not touched
// yet cost several times more kernel time (seen here: curl 3.9 s, then 1.4 s for the same GiB).
{
  const c = await curlRun('warm');
  const a = await aimaRun('warm');
  console.log(`warm-up (not counted): curl ${(c.ms / 1000).toFixed(2)} s, aima ${(a.totalMs / 1000).toFixed(2)} s`);
}
// Interleaved rounds: on a shared machine the load changes by the second; best of each counts.
// Each round also records the core's main-thread CPU and the API's round trip while the transfer
// thread downloads: how responsive the core stays.
const ROUNDS = Number(process.env.AIMA_BENCH_ROUNDS ?? 3);
const curlRuns = [];
const aimaRuns = [];
const fmtApi = (r) => `main thread ${r.mainCpuS.toFixed(2)} CPU s, API p50 ${r.apiMs.p50.toFixed(1)} / max ${r.apiMs.max.toFixed(0)} ms`;
for (let i = 0; i < ROUNDS; i++) {
  curlRuns.push(await curlRun(i));
  aimaRuns.push(await aimaRun(i));
  console.log(
    `round ${i + 1}: curl ${(curlRuns[i].ms / 1000).toFixed(2)} s (${curlRuns[i].cpuS.toFixed(2)} CPU s), ` +
      `aima ${(aimaRuns[i].totalMs / 1000).toFixed(2)} s (${aimaRuns[i].cpuS.toFixed(2)} CPU s, ${fmtApi(aimaRuns[i])}), load ${os.loadavg()[0].toFixed(1)}`,
  );
}
// The same over an emulated network link (the fake Hub's uplink shared by all connections,
// AIMA_BENCH_LINK_MBPS, default 1000 = 1 Gbit/s): where users download, the link is the limit.
const LINK_MBPS = Number(process.env.AIMA_BENCH_LINK_MBPS ?? 1000);
hub.faults.linkBps = (LINK_MBPS * 1e6) / 8;
const linkCurl = [];
const linkAima = [];
for (let i = 0; i < ROUNDS; i++) {
  linkCurl.push(await curlRun(`link-${i}`));
  linkAima.push(await aimaRun(`link-${i}`));
  console.log(`link round ${i + 1}: curl ${(linkCurl[i].ms / 1000).toFixed(2)} s, aima ${(linkAima[i].totalMs / 1000).toFixed(2)} s (bytes on disk after ${(linkAima[i].bytesMs / 1000).toFixed(2)} s), load ${os.loadavg()[0].toFixed(1)}`);
}
hub.faults.linkBps = null;
await hub.close();
const linkCurlMs = Math.min(...linkCurl.map((r) => r.ms));
const linkAimaMs = Math.min(...linkAima.map((r) => r.totalMs));
const curlMs = Math.min(...curlRuns.map((r) => r.ms));
// A download checked by hand at this CPU's best: curl, then sha256 at the speed measured above.
const curlVerifiedMs = curlMs + hashMs;
const curlCpu = Math.min(...curlRuns.map((r) => r.cpuS));
const best = aimaRuns.reduce((a, b) => (b.totalMs < a.totalMs ? b : a));
const aimaCpu = Math.min(...aimaRuns.map((r) => r.cpuS));
const mibps = (ms) => size / 2 ** 20 / (ms / 1000);
// The best any verified download could do here: the server's, curl's and sha256's CPU spread
// perfectly over every core (and never faster than sha256 alone, which is one thread).
const bestCurl = curlRuns.reduce((a, b) => (b.ms < a.ms ? b : a));
const floorMs = Math.max(hashMs, ((bestCurl.serverCpuS + bestCurl.cpuS) * 1000 + hashMs) / os.cpus().length);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`curl best: ${mibps(curlMs).toFixed(0)} MiB/s; aima best: ${mibps(best.totalMs).toFixed(0)} MiB/s verified and imported (bytes on disk after ${(best.bytesMs / 1000).toFixed(2)} s)`);
console.log(`over a ${LINK_MBPS} Mbit/s link: curl ${mibps(linkCurlMs).toFixed(0)} MiB/s, aima ${mibps(linkAimaMs).toFixed(0)} MiB/s verified and imported -> ratio ${(linkCurlMs / linkAimaMs).toFixed(3)} (target >= 0.9)`);
console.log(`loopback, no link limit (CPU-bound on this machine): vs curl ${(curlMs / best.totalMs).toFixed(3)} (target >= 0.9), vs curl then sha256 (${(hashMs / 1000).toFixed(2)} s) ${(curlVerifiedMs / best.totalMs).toFixed(3)}; bytes on disk vs curl ${(curlMs / best.bytesMs).toFixed(3)}`);
console.log(
  `ceiling for a verified download on ${os.cpus().length} cores: ${(floorMs / 1000).toFixed(2)} s = ${(curlMs / floorMs).toFixed(3)}x curl ` +
    `(server ${bestCurl.serverCpuS.toFixed(2)} + curl ${bestCurl.cpuS.toFixed(2)} + sha256 ${(hashMs / 1000).toFixed(2)} CPU s over the cores); aima reaches ${(floorMs / best.totalMs).toFixed(3)} of it`,
);
console.log(`CPU per GiB: curl ${(curlCpu / (size / 2 ** 30)).toFixed(2)} s, aima ${(aimaCpu / (size / 2 ** 30)).toFixed(2)} s (aima includes sha256 verification)`);
console.log(
  `while the transfer thread downloads: the core's main thread ${median(aimaRuns.map((r) => r.mainCpuS)).toFixed(2)} CPU s (median); ` +
    `API round trip, median of rounds: p50 ${median(aimaRuns.map((r) => r.apiMs.p50)).toFixed(1)} ms, max ${median(aimaRuns.map((r) => r.apiMs.max)).toFixed(0)} ms`,
);
const peakRss = Math.max(...aimaRuns.map((r) => r.peakKiB)) * 1024;
const baseRss = Math.min(...aimaRuns.map((r) => r.baselineKiB)) * 1024;
console.log(`memory: core RSS ${(baseRss / 2 ** 20).toFixed(0)} MiB idle, peak ${(peakRss / 2 ** 20).toFixed(0)} MiB while downloading ${(size / 2 ** 20).toFixed(0)} MiB`);
const result = {
  bench: 'downloads',
  fileBytes: size,
  cpus: os.cpus().length,
  sha256MiBps: Math.round(size / 2 ** 20 / (hashMs / 1000)),
  curlSeconds: +(curlMs / 1000).toFixed(3),
  aimaSeconds: +(best.totalMs / 1000).toFixed(3),
  aimaBytesOnDiskSeconds: +(best.bytesMs / 1000).toFixed(3),
  ratioVsCurl: +(curlMs / best.totalMs).toFixed(3),
  ratioVsCurlTransferOnly: +(curlMs / best.bytesMs).toFixed(3),
  curlThenSha256Seconds: +(curlVerifiedMs / 1000).toFixed(3),
  ratioVsCurlThenSha256: +(curlVerifiedMs / best.totalMs).toFixed(3),
  linkMbps: LINK_MBPS,
  linkCurlSeconds: +(linkCurlMs / 1000).toFixed(3),
  linkAimaSeconds: +(linkAimaMs / 1000).toFixed(3),
  linkRatioVsCurl: +(linkCurlMs / linkAimaMs).toFixed(3),
  ceilingSeconds: +(floorMs / 1000).toFixed(3),
  ceilingRatioVsCurl: +(curlMs / floorMs).toFixed(3),
  aimaShareOfCeiling: +(floorMs / best.totalMs).toFixed(3),
  mainThreadCpuSecondsThread: +median(aimaRuns.map((r) => r.mainCpuS)).toFixed(2),
  apiP50MsThread: +median(aimaRuns.map((r) => r.apiMs.p50)).toFixed(2),
  apiMaxMsThread: +median(aimaRuns.map((r) => r.apiMs.max)).toFixed(1),
  curlCpuSeconds: +curlCpu.toFixed(2),
  aimaCpuSeconds: +aimaCpu.toFixed(2),
  rounds: ROUNDS,
  loadAverage1m: +os.loadavg()[0].toFixed(2),
  coreRssIdleBytes: baseRss,
  coreRssPeakBytes: peakRss,
  rssGrowthOverFileSize: +((peakRss - baseRss) / size).toFixed(4),
};
console.log(JSON.stringify(result));
