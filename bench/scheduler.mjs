#!/usr/bin/env node
// Benchmark: the scheduler's placement decision and what an eviction costs with real workers.
//
//   node bench/scheduler.mjs                     # 2000 decisions, 5 eviction rounds
//   AIMA_BENCH_RUNS=10 node bench/scheduler.mjs
//
// What is measured:
// - placement decision: the pure planner (src/core/scheduler/plan.ts) for 50 running services over
//   8 GPUs (80 GB each, nearly full), the candidate needing evictions; median and p90 of one call.
//   Target: median <= 5 ms.
// - eviction-to-ready (needs ../shared/models/stories260K): two embedded LLM services on
//   stories260K under a memory cap with room for one; starting the stopped one stops the other
//   first. Time from services.start to running, median; beside it a start with room (no eviction)
//   in the same run, so the eviction's own cost is the difference.
// Prints readable lines, then one JSON line with every number.
import { loadTs } from './lib/load-ts.mjs';
import { copyFileSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { planPlacement } = await loadTs('src/core/scheduler/plan.ts', 'scheduler-plan');
const RUNS = Number(process.env.AIMA_BENCH_RUNS ?? 5);
const DECISIONS = Number(process.env.AIMA_BENCH_DECISIONS ?? 2000);
const GiB = 1024 ** 3;
const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { median: Math.round(q(0.5) * 1000) / 1000, p90: Math.round(q(0.9) * 1000) / 1000, max: Math.round(s.at(-1) * 1000) / 1000, n: s.length };
};

// ---------------------------------------------------------------- placement decision

const now = Date.now();
const gpus = Array.from({ length: 8 }, (_, i) => ({ index: i, name: 'NVIDIA H100 80GB HBM3', totalBytes: 80 * GiB, freeBytes: (1 + (i % 3)) * GiB }));
const services = Array.from({ length: 50 }, (_, i) => {
  const gpu = i % 8;
  return {
    name: `svc-${i}`,
    model: `model-${i % 12}`,
    device: i % 10 === 9 ? 'cpu' : 'gpu',
    gpus: i % 10 === 9 ? [] : [gpu],
    vramBytes: i % 10 === 9 ? null : { [gpu]: (6 + (i % 5)) * GiB },
    rssBytes: (1 + (i % 4)) * GiB,
    estimateBytes: (6 + (i % 5)) * GiB,
    lastUsedAt: now - (i * 7919) % 3_600_000,
    inFlight: i % 7 === 0 ? 2 : 0,
    pinned: i % 11 === 0,
    usedByVoice: i === 5,
    startedAt: now - 7_200_000,
  };
});
const input = {
  gpus,
  ram: { totalBytes: 512 * GiB, availableBytes: 300 * GiB, capBytes: 480 * GiB },
  services,
  candidate: { name: 'new', model: 'model-3', device: 'gpu', gpus: [], estimateBytes: 20 * GiB, layers: { total: 48, bytesPerLayer: 0.35 * GiB, fixedBytes: 3 * GiB } },
  now,
  antiThrashMs: 30_000,
};
const first = planPlacement(input);
for (let i = 0; i < 200; i++) planPlacement(input); // warm-up
const times = [];
for (let i = 0; i < DECISIONS; i++) {
  const t0 = performance.now();
  planPlacement(input);
  times.push(performance.now() - t0);
}
const decision = stats(times);
console.log(`placement decision, 50 services over 8 GPUs: median ${decision.median} ms (p90 ${decision.p90}, max ${decision.max}); target <= 5 ms`);
console.log(`  the decision: ${first.kind === 'place' ? `GPU ${first.gpus.join(',')}, evicting ${first.evict.map((e) => e.name).join(', ') || 'nothing'}` : first.message}`);

// ---------------------------------------------------------------- eviction-to-ready with real workers

const GGUF = path.resolve(process.env.AIMA_SHARED_DIR ?? path.join(root, '..', 'shared'), 'models', 'stories260K', 'stories260K.gguf');
let eviction = null;
let plainStart = null;
if (!existsSync(GGUF)) {
  console.log(`eviction-to-ready: skipped, ${GGUF} is missing (stories260K; see ../shared/README.md)`);
} else if (process.platform !== 'linux') {
  console.log('eviction-to-ready: skipped, sizes the cap from /proc (Linux)');
} else {
  const { createCore } = await loadTs('src/core/core.ts', 'scheduler-core');
  setInterval(() => {}, 1000); // the core's timers are unref'd
  const home = mkdtempSync(path.join(os.tmpdir(), 'aima-bench-sched-'));
  const core = await createCore({ dataDir: home, host: 'serve', serviceTiming: { stopGraceMs: 3000 } });
  try {
    await core.api['settings.update']({ antiThrashSeconds: 0 });
    for (const n of ['a', 'b']) {
      const copy = path.join(home, `stories-${n}.gguf`);
      copyFileSync(GGUF, copy);
      await core.api['models.import']({ path: copy, name: `stories-${n}` });
      await core.api['services.create']({ name: n, model: `stories-${n}`, engine: 'aima-llm', threads: 1, ctxSize: 512 });
    }
    // Interleaved rounds, so a busy moment on the machine hits both figures alike. Each round
    // starts with one service running and the other stopped: a start with room (no cap), then the
    // same start under a cap with room for one, which stops the running one first.
    const rss = (pid) => Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;
    let running = 'a';
    let stopped = 'b';
    await core.api['services.start']({ name: running, wait: true, timeoutMs: 120_000 });
    const plain = [];
    const evict = [];
    for (let i = 0; i < RUNS; i++) {
      await core.api['settings.update']({ servicesMemoryCapMiB: null });
      let t0 = performance.now();
      await core.api['services.start']({ name: stopped, wait: true, timeoutMs: 120_000 });
      plain.push(performance.now() - t0);
      const one = Math.max(rss((await core.api['services.get']({ name: 'a' })).pid), rss((await core.api['services.get']({ name: 'b' })).pid));
      await core.api['services.stop']({ name: stopped });
      await core.api['settings.update']({ servicesMemoryCapMiB: Math.floor((one * 1.5) / 2 ** 20) });
      t0 = performance.now();
      const s = await core.api['services.start']({ name: stopped, wait: true, timeoutMs: 120_000 });
      evict.push(performance.now() - t0);
      if (s.placement?.evicted.join() !== running) throw new Error(`expected "${running}" evicted, got ${JSON.stringify(s.placement)}`);
      [running, stopped] = [stopped, running];
    }
    eviction = stats(evict);
    plainStart = stats(plain);
    console.log(`eviction-to-ready, stories260K: median ${Math.round(eviction.median)} ms (p90 ${Math.round(eviction.p90)}); a start with room: median ${Math.round(plainStart.median)} ms`);
  } finally {
    await core.close({ stopServices: true });
  }
}

console.log(JSON.stringify({ placementDecisionMs: decision, evictionToReadyMs: eviction, startWithRoomMs: plainStart }));
process.exit(0);
