#!/usr/bin/env node
// Benchmark: `aima serve` from launch to its first answer. Prepares one data directory with a few
// imported models, then launches the built `aima serve` on it again and again and measures, for
// each launch, the time from spawn until POST /api/call/models.list (with the install token)
// answers with the whole library. The client polls the port every 5 ms, so a refused connection
// (port not open yet) costs at most that much.
//
//   npm run build && node bench/serve-launch.mjs
//   AIMA_BENCH_RUNS=9 node bench/serve-launch.mjs
//   AIMA_BENCH_BASELINE=out/cli-before/aima.mjs node bench/serve-launch.mjs
//
// AIMA_BENCH_BASELINE names another build of the CLI (e.g. one built from an earlier commit into
// out/cli-before/): each run then launches both, in alternating order, so a busy machine weighs on
// both alike, and the ratio of the medians is printed.
// Prints one line per launch, then one JSON line with every number (ms).
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const aima = path.join(root, 'bin', 'aima.mjs');
const baseline = process.env.AIMA_BENCH_BASELINE ? path.resolve(root, process.env.AIMA_BENCH_BASELINE) : null;
const gguf = path.resolve(process.env.AIMA_SHARED_DIR ?? path.resolve(root, '..', 'shared'), 'models', 'stories260K', 'stories260K.gguf');
const runs = Number(process.env.AIMA_BENCH_RUNS ?? 7);
const MODELS = ['tiny-a', 'tiny-b', 'tiny-c'];

if (!existsSync(path.join(root, 'out', 'cli', 'aima.mjs'))) {
  console.error('bench/serve-launch.mjs: run `npm run build` first (out/cli/aima.mjs is missing).');
  process.exit(1);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A port free right now. */
function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function launch(home, port, cli = aima) {
  const child = spawn(process.execPath, [cli, 'serve', '--port', String(port)], { env: { ...process.env, AIMA_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  return { child, output: () => out };
}

async function call(port, token, name, params = {}) {
  const res = await fetch(`http://127.0.0.1:${port}/api/call/${name}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(params),
  });
  const body = await res.json();
  if (!res.ok) throw new Error(`${name}: ${JSON.stringify(body)}`);
  return body.result;
}

/** Polls models.list until it answers with `expected` models; the time since `t0`. */
async function firstAnswer(port, token, t0, expected, served) {
  for (;;) {
    if (served.child.exitCode !== null) throw new Error(`aima serve exited:\n${served.output()}`);
    try {
      const list = await call(port, token, 'models.list');
      if (list.length === expected) return performance.now() - t0;
    } catch {
      // not listening yet
    }
    if (performance.now() - t0 > 30_000) throw new Error(`no answer in 30 s:\n${served.output()}`);
    await sleep(5);
  }
}

async function stop(served) {
  if (served.child.exitCode !== null) return;
  const exited = new Promise((r) => served.child.once('exit', r));
  served.child.kill('SIGTERM');
  await exited;
}

const home = mkdtempSync(path.join(os.tmpdir(), 'aima-bench-serve-'));
try {
  // Prepare: one launch imports the models (copies of one small GGUF, linked in place).
  {
    const port = await freePort();
    const served = launch(home, port);
    const token = await (async () => {
      for (;;) {
        // The file exists a moment before the token is in it.
        const token = existsSync(path.join(home, 'token')) ? readFileSync(path.join(home, 'token'), 'utf8').trim() : '';
        if (/^[0-9a-f]{64}$/.test(token)) return token;
        await sleep(20);
      }
    })();
    await firstAnswer(port, token, performance.now(), 0, served);
    mkdirSync(path.join(home, 'files'));
    for (const name of MODELS) {
      const file = path.join(home, 'files', `${name}.gguf`);
      copyFileSync(gguf, file);
      await call(port, token, 'models.import', { path: file, name });
    }
    await stop(served);
  }
  const token = readFileSync(path.join(home, 'token'), 'utf8').trim();
  const builds = baseline ? [['baseline', baseline], ['current', aima]] : [['current', aima]];
  const times = Object.fromEntries(builds.map(([name]) => [name, []]));
  for (let i = 0; i < runs; i++) {
    for (const [name, cli] of i % 2 ? [...builds].reverse() : builds) {
      const port = await freePort();
      const t0 = performance.now();
      const served = launch(home, port, cli);
      const ms = Math.round(await firstAnswer(port, token, t0, MODELS.length, served));
      times[name].push(ms);
      console.log(`run ${i + 1} ${name}: models.list answered after ${ms} ms`);
      await stop(served);
      await sleep(300);
    }
  }
  const result = { bench: 'serve-launch', runs, models: MODELS.length };
  for (const [name] of builds) {
    const t = times[name];
    result[name] = { medianMs: median(t), minMs: Math.min(...t), maxMs: Math.max(...t), timesMs: t };
    console.log(`${name}: median ${median(t)} ms (min ${Math.min(...t)}, max ${Math.max(...t)}) over ${runs} launches`);
  }
  if (baseline) {
    result.ratio = Math.round((result.current.medianMs / result.baseline.medianMs) * 100) / 100;
    console.log(`current / baseline: ${result.ratio}`);
  }
  console.log(JSON.stringify(result));
} finally {
  rmSync(home, { recursive: true, force: true });
}
