#!/usr/bin/env node
// `npm run bench`: builds, then runs every benchmark in bench/ one after another (they measure
// side by side inside each run, so they must not compete with each other for the 2 cores), and
// prints each one's closing JSON line again at the end. `npm run bench -- gateway speech` runs a
// subset. Benchmarks are not tests: a missed target is reported, not failed.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ALL = ['services', 'scheduler', 'llm-worker', 'speech', 'gateway', 'upload-memory', 'voice', 'telemetry', 'hardware', 'downloads', 'cli'];
const wanted = process.argv.slice(2).length ? process.argv.slice(2) : ALL;
// Defaults that keep a full run under ~20 minutes here; each bench documents its own knobs.
const env = { AIMA_BENCH_MB: '512', AIMA_BENCH_SECONDS: '10', ...process.env };

const build = spawnSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

const results = [];
for (const name of wanted) {
  const file = path.join(root, 'bench', `${name}.mjs`);
  if (!existsSync(file)) {
    console.log(`\n### ${name}: no bench/${name}.mjs, skipped`);
    continue;
  }
  console.log(`\n### ${name}`);
  const started = Date.now();
  const lastJson = await new Promise((resolve) => {
    let last = null;
    let buf = '';
    const child = spawn(process.execPath, [file], { cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.on('data', (d) => {
      process.stdout.write(d);
      buf += d;
      const lines = buf.split('\n');
      buf = lines.pop();
      for (const line of lines) if (line.startsWith('{') && line.endsWith('}')) last = line;
    });
    child.on('close', (code) => resolve({ code, json: buf.startsWith('{') ? buf : last }));
  });
  results.push({ name, seconds: (Date.now() - started) / 1000, ...lastJson });
}

console.log('\n### summary');
for (const r of results) console.log(`${r.name.padEnd(12)} exit ${r.code}  ${r.seconds.toFixed(0)} s  ${r.json ?? '(no JSON line)'}`);
process.exit(results.some((r) => r.code !== 0) ? 1 : 0);
