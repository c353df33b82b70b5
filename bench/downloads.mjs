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
// twice and the faster run counts. Prints readable lines, then one JSON line with every number.
import { build } from 'esbuild';
import { spawn, execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { fileURLToPath, pathToFileURL } from 'node:url';

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

// 2. curl, twice.
const curlRuns = [];
for (let i = 0; i < 2; i++) {
  const dst = path.join(work, `curl-${i}.out`);
  t = performance.now();
  // Async: the fake Hub serves from this very process.
  await promisify(execFile)('curl', ['-sSfL', '-o', dst, resolveUrl]);
  curlRuns.push(performance.now() - t);
  if (statSync(dst).size !== size) throw new Error('curl got a short file');
  rmSync(dst);
}
const curlMs = Math.min(...curlRuns);
console.log(`curl: ${curlRuns.map((ms) => (ms / 1000).toFixed(2) + ' s').join(', ')} -> ${(size / 2 ** 20 / (curlMs / 1000)).toFixed(0)} MiB/s`);

// 3. aima serve, twice (a fresh data directory each time).
function rssKiB(pid) {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
  } catch {
    return 0;
  }
}

async function aimaRun(i) {
  const home = path.join(work, `home-${i}`);
  const child = spawn(process.execPath, [path.join(root, 'bin', 'aima.mjs'), 'serve', '--port', '0'], {
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
  const call = async (name, params) => {
    const res = await fetch(`${login.origin}/api/call/${name}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(params) });
    const body = await res.json();
    if (!res.ok) throw new Error(`${name}: ${JSON.stringify(body)}`);
    return body.result ?? body;
  };
  await new Promise((r) => setTimeout(r, 500));
  const baseline = rssKiB(child.pid);
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, rssKiB(child.pid))), 50);
  const t0 = performance.now();
  const started = await call('downloads.start', { repo: REPO, files: [FILE] });
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
    await new Promise((r) => setTimeout(r, 20));
  }
  const totalMs = performance.now() - t0;
  clearInterval(sampler);
  child.kill('SIGTERM');
  await once(child, 'exit');
  rmSync(home, { recursive: true, force: true });
  if (final.state !== 'completed') throw new Error(`download failed: ${final.error}`);
  return { totalMs, bytesMs: bytesAt ?? totalMs, baselineKiB: baseline, peakKiB: peak };
}

const aimaRuns = [];
for (let i = 0; i < 2; i++) aimaRuns.push(await aimaRun(i));
const best = aimaRuns.reduce((a, b) => (b.totalMs < a.totalMs ? b : a));
await hub.close();
const mibps = (ms) => size / 2 ** 20 / (ms / 1000);
console.log(`aima: ${aimaRuns.map((r) => (r.totalMs / 1000).toFixed(2) + ' s').join(', ')} -> ${mibps(best.totalMs).toFixed(0)} MiB/s verified and imported (bytes on disk after ${(best.bytesMs / 1000).toFixed(2)} s)`);
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
  coreRssIdleBytes: baseRss,
  coreRssPeakBytes: peakRss,
  rssGrowthOverFileSize: +((peakRss - baseRss) / size).toFixed(4),
};
console.log(JSON.stringify(result));
