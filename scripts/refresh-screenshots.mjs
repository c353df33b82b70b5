#!/usr/bin/env node
// `npm run screenshots`: refreshes the pictures the README shows (docs/*.png). The end-to-end tests
// that take them write to test-results/screenshots/ (git-ignored), so `npm test` leaves a clean
// clone clean; this script runs those tests (after `npm run build`) and copies what they wrote to
// docs/. `--copy-only` copies from the last run without running anything.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const shots = path.join(root, 'test-results', 'screenshots');
/** docs/ picture -> the end-to-end test that takes it. */
const pictures = {
  'dashboard.png': 'test/e2e/dashboard.test.ts',
  'screenshot.png': 'test/e2e/foundation.test.ts',
  'voice.png': 'test/e2e/voice.test.ts',
  'voice-setup.png': 'test/e2e/voice.test.ts',
};

const copyOnly = process.argv.includes('--copy-only');
const started = Date.now();
if (!copyOnly) {
  const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
  const files = [...new Set(Object.values(pictures))];
  console.log(`$ npx vitest run ${files.join(' ')}`);
  const r = spawnSync(npx, ['vitest', 'run', ...files], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) console.error(`\nThe screenshot tests failed (exit ${r.status}); copying only the pictures they did write.`);
}

const missing = [];
for (const [name, test] of Object.entries(pictures)) {
  const from = path.join(shots, name);
  // After a run, only a picture this run wrote counts (a skipped test leaves an old one behind).
  if (!existsSync(from) || (!copyOnly && statSync(from).mtimeMs < started)) {
    missing.push(`${name} (${test})`);
    continue;
  }
  copyFileSync(from, path.join(root, 'docs', name));
  console.log(`docs/${name} <- ${path.relative(root, from)}`);
}
if (missing.length > 0) {
  const why = copyOnly ? 'no picture in test-results/screenshots/: run without --copy-only' : 'those tests skipped or failed: see their output above (they need Chromium, a build and the shared models)';
  console.error(`Not refreshed: ${missing.join(', ')}; ${why}.`);
  process.exit(1);
}
