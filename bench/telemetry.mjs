#!/usr/bin/env node
// Benchmark: CPU cost of the GPU telemetry loop at 1 Hz, and hardware detection wall time.
// Replays the recordings through test/fixtures/bin/fake-nvidia-smi (no GPU needed).
//
//   node bench/telemetry.mjs            # 20 s of telemetry per sampler mode (stream, then spawn)
//   AIMA_BENCH_SECONDS=60 node bench/telemetry.mjs
//
// The TypeScript library is bundled on the fly with esbuild (a devDependency) into
// bench/results/.build/ (git-ignored), so the bench runs from plain `node` without a build step.
// Prints readable lines, then one JSON line with every number.
//
// What is measured:
// - loop CPU: process.cpuUsage() of this process (spawning nvidia-smi, reading its output,
//   parsing, attribution, emitting) over the run, as a percentage of one core. Target < 1 %.
// - child CPU: the fake nvidia-smi processes themselves (cutime + cstime from /proc/self/stat).
//   Each is a Node start-up (~40 ms of CPU), far more than the real nvidia-smi binary would use,
//   so it is reported separately and is not the loop's cost.
import { loadTs } from './lib/load-ts.mjs';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const hw = {
  ...(await loadTs('src/core/hardware/detect.ts', 'hardware-detect')),
  ...(await loadTs('src/core/hardware/nvidia-sampler.ts', 'hardware-sampler')),
  ...(await loadTs('src/core/hardware/telemetry.ts', 'hardware-telemetry')),
};

const fake = path.join(root, 'test/fixtures/bin/fake-nvidia-smi');
const busy = path.join(root, 'test/fixtures/nvidia-smi/busy');
const h100 = path.resolve(root, '..', 'shared', 'fixtures', 'nvidia-smi', 'h100-80gb');
const seconds = Number(process.env.AIMA_BENCH_SECONDS ?? 20);

/** Waited-for children's CPU in ms, from /proc/self/stat (Linux; 0 elsewhere). */
function childCpuMs() {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the command name: field 3 is state; cutime and cstime are fields 16 and 17 (1-based).
    const cutime = Number(fields[16 - 3]);
    const cstime = Number(fields[17 - 3]);
    return ((cutime + cstime) * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return 0;
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// 1. Detection wall time.
const dataDir = root;
const detectRuns = { fake: [], absent: [] };
process.env.AIMA_NVIDIA_SMI_FIXTURE = h100;
for (let i = 0; i < 5; i++) {
  const t0 = performance.now();
  const r = await hw.detectHardware({ dataDir, nvidiaSmiPath: fake });
  detectRuns.fake.push(performance.now() - t0);
  if (i === 0) console.log(`detect (fake nvidia-smi, h100): ${r.gpus.map((g) => g.name).join(', ')}; probes ${r.gpuProbes.map((p) => `${p.tool}=${p.status}`).join(' ')}`);
}
for (let i = 0; i < 5; i++) {
  const t0 = performance.now();
  await hw.detectHardware({ dataDir, nvidiaSmiPath: '/nonexistent/nvidia-smi' });
  detectRuns.absent.push(performance.now() - t0);
}
console.log(`detect wall time, median of 5: with fake nvidia-smi ${median(detectRuns.fake).toFixed(0)} ms; without nvidia-smi ${median(detectRuns.absent).toFixed(0)} ms`);

// 2. Telemetry loop at 1 Hz over `seconds`, in both sampler modes.
process.env.AIMA_NVIDIA_SMI_FIXTURE = busy;
const own = new Map([
  [41235, 'llm'],
  [41388, 'asr'],
]);

async function runLoop(mode) {
  const sampler = hw.createNvidiaSampler({ nvidiaSmiPath: fake, mode, intervalMs: 1000 });
  const telemetry = hw.createTelemetry({ sample: sampler, intervalMs: 1000, ownPids: () => own, onStop: sampler.close });
  let samples = 0;
  let errors = 0;
  const durations = [];
  const cpu0 = process.cpuUsage();
  const child0 = childCpuMs();
  const wall0 = performance.now();
  const off = telemetry.subscribe((e) => {
    if (e.type === 'sample') {
      samples++;
      durations.push(e.durationMs);
    } else errors++;
  });
  await new Promise((r) => setTimeout(r, seconds * 1000));
  off();
  // Let a sample in flight finish, and the killed loop child be reaped, so both are counted.
  while (telemetry.running) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 300));
  const wallMs = performance.now() - wall0;
  const cpu = process.cpuUsage(cpu0);
  const loopCpuMs = (cpu.user + cpu.system) / 1000;
  const childMs = childCpuMs() - child0;
  const r = {
    mode,
    seconds: Number((wallMs / 1000).toFixed(1)),
    samples,
    errors,
    sampleMsMedian: median(durations),
    loopCpuMs: Math.round(loopCpuMs),
    loopCpuPctOfCore: Number(((loopCpuMs / wallMs) * 100).toFixed(3)),
    childCpuMs: Math.round(childMs),
    childCpuPctOfCore: Number(((childMs / wallMs) * 100).toFixed(3)),
  };
  console.log(
    `telemetry (${mode}): ${samples} samples (${errors} errors) in ${r.seconds} s; sample wall time median ${r.sampleMsMedian} ms; ` +
      `loop CPU ${r.loopCpuMs} ms = ${r.loopCpuPctOfCore.toFixed(2)} % of one core (target < 1 %); ` +
      `fake nvidia-smi children ${r.childCpuMs} ms = ${r.childCpuPctOfCore.toFixed(2)} % (Node start-ups, not the real tool's cost)`,
  );
  return r;
}

const stream = await runLoop('stream');
const spawnMode = await runLoop('spawn');

console.log(
  JSON.stringify({
    bench: 'telemetry',
    host: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
    detectMs: { fakeNvidiaSmiMedian: Math.round(median(detectRuns.fake)), noNvidiaSmiMedian: Math.round(median(detectRuns.absent)) },
    loadAverage1m: os.loadavg()[0],
    telemetry: { stream, spawn: spawnMode, targetLoopCpuPct: 1, pass: stream.loopCpuPctOfCore < 1 },
  }),
);
