#!/usr/bin/env node
// Benchmark: what the service supervisor adds on top of an engine, with real processes.
//
//   node bench/services.mjs                  # 15 runs of each measurement
//   AIMA_BENCH_RUNS=30 node bench/services.mjs
//
// The core is bundled on the fly with esbuild into bench/results/.build/ (git-ignored) and run
// in-process on a temp data directory; engines are test/fixtures/engines/fake-engine.mjs.
// Prints readable lines, then one JSON line with every number.
//
// What is measured (medians, with p90 and max):
// - start overhead: the engine prints `ready at <epoch ms>` at the moment its /health turns 200;
//   the supervisor's `running` transition time minus that. Target <= 100 ms.
//   (The engine loads for 300 ms, printing progress, so the loading/probe path is exercised.)
// - death detection, own child: SIGKILL of a running engine -> `crashed` recorded. Target <= 1 s.
// - death detection, adopted: the same for an engine adopted from its PID file by a new core
//   (not our child: found by the 250 ms PID + start-time poll). Target <= 1 s.
import { loadTs } from './lib/load-ts.mjs';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { createCore } = await loadTs('src/core/core.ts', 'services-core');

// The supervisor's timers and children are unref'd (a core is kept alive by its server); keep this one up.
setInterval(() => {}, 1000);

const RUNS = Number(process.env.AIMA_BENCH_RUNS ?? 15);
const fakeEngine = path.join(root, 'test', 'fixtures', 'engines', 'fake-engine.mjs');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function writeEngine(home, id, args) {
  mkdirSync(path.join(home, 'engines'), { recursive: true });
  writeFileSync(
    path.join(home, 'engines', `${id}.json`),
    JSON.stringify({
      id,
      name: id,
      kind: 'llm',
      runtime: 'native',
      devices: ['cpu'],
      model: { required: false, formats: ['gguf'], kinds: ['llm'] },
      command: ['{{node}}', fakeEngine, '--host', '{{host}}', '--port', '{{port}}', ...args],
      health: { path: '/health', status: 200, json: { field: 'status', equals: 'ok' } },
    }),
  );
}

/** Resolves with Date.now() when service `name` enters `state` (services.changed events). */
function when(core, name, state, pred = () => true) {
  return new Promise((resolve) => {
    const off = core.events.on('services.changed', (all) => {
      const s = all.find((x) => x.name === name);
      if (s && s.state === state && pred(s)) {
        off();
        resolve({ at: Date.now(), s });
      }
    });
  });
}

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { median: q(0.5), p90: q(0.9), max: s.at(-1), n: s.length };
}

const home = mkdtempSync(path.join(os.tmpdir(), 'aima-bench-svc-'));
writeEngine(home, 'fake', ['--load-ms', '300', '--progress-ms', '100']);
// Short backoff and stable-run period: the crash loop below would otherwise hit the 10-crashes-in-a-row limit.
const timing = { stopGraceMs: 2000, backoff: () => 100, stableRunMs: 10 };

// 1. Start overhead.
const overhead = [];
{
  const core = await createCore({ dataDir: home, host: 'serve', serviceTiming: timing });
  await core.api['services.create']({ name: 'b', engine: 'fake' });
  for (let i = 0; i < RUNS; i++) {
    const running = when(core, 'b', 'running');
    await core.api['services.start']({ name: 'b' });
    const { at } = await running;
    const logs = await core.api['services.logs']({ name: 'b', lines: 20 });
    const readyAt = Number(/ready at (\d+)/.exec(logs.lines.filter((l) => l.startsWith('ready at')).at(-1))[1]);
    overhead.push(at - readyAt);
    if (process.env.AIMA_BENCH_DEBUG) console.error(`run ${i}: ${at - readyAt} ms`);
    await core.api['services.stop']({ name: 'b' });
  }
  await core.close({ stopServices: true });
}

// 2. Death detection of our own child.
const ownDeath = [];
{
  const core = await createCore({ dataDir: home, host: 'serve', serviceTiming: timing });
  const s = await core.api['services.start']({ name: 'b', wait: true });
  let pid = s.pid;
  for (let i = 0; i < RUNS; i++) {
    const crashed = when(core, 'b', 'crashed');
    const t0 = Date.now();
    process.kill(pid, 'SIGKILL');
    const { at } = await crashed;
    ownDeath.push(at - t0);
    const { s: again } = await when(core, 'b', 'running');
    pid = again.pid;
    await sleep(30);
  }
  await core.close({ stopServices: true });
}

// 3. Death detection of an adopted engine.
const adoptedDeath = [];
for (let i = 0; i < RUNS; i++) {
  const first = await createCore({ dataDir: home, host: 'serve', serviceTiming: timing });
  await first.api['services.start']({ name: 'b', wait: true });
  await first.close({ stopServices: false });
  const second = await createCore({ dataDir: home, host: 'serve', serviceTiming: timing });
  let s = await second.api['services.get']({ name: 'b' });
  while (s.state !== 'running') {
    await sleep(20);
    s = await second.api['services.get']({ name: 'b' });
  }
  const crashed = when(second, 'b', 'crashed');
  const t0 = Date.now();
  process.kill(s.pid, 'SIGKILL');
  const { at } = await crashed;
  adoptedDeath.push(at - t0);
  await second.close({ stopServices: true });
}

const result = {
  bench: 'services',
  runs: RUNS,
  cpus: os.cpus().length,
  startOverheadMs: stats(overhead),
  deathDetectionOwnChildMs: stats(ownDeath),
  deathDetectionAdoptedMs: stats(adoptedDeath),
  targets: { startOverheadMs: 100, deathDetectionMs: 1000 },
};
console.log(`start overhead beyond engine readiness: median ${result.startOverheadMs.median} ms (p90 ${result.startOverheadMs.p90}, max ${result.startOverheadMs.max}); target <= 100 ms`);
console.log(`death detection, own child:  median ${result.deathDetectionOwnChildMs.median} ms (p90 ${result.deathDetectionOwnChildMs.p90}, max ${result.deathDetectionOwnChildMs.max}); target <= 1000 ms`);
console.log(`death detection, adopted:    median ${result.deathDetectionAdoptedMs.median} ms (p90 ${result.deathDetectionAdoptedMs.p90}, max ${result.deathDetectionAdoptedMs.max}); target <= 1000 ms`);
console.log(JSON.stringify(result));
process.exit(0);
