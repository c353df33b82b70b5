#!/usr/bin/env node
// `npm test`: everything this machine can run, in order — system parts, dependencies, build,
// typecheck, lint, then unit, integration (real Docker, real processes, real models) and e2e
// (Playwright in Debian's Chromium) tests. Run as root with apt (as CI does), it installs missing
// system packages and starts dockerd; otherwise it prints the exact command to run and the tests
// that need the part skip (AIMA_REQUIRE_ALL=1 turns those skips into failures).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const started = Date.now();
const resultsFile = path.join(root, 'test-results', 'vitest.json');
const timings = [];
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';

function step(name, fn) {
  const t = Date.now();
  console.log(`\n=== ${name}`);
  const result = fn();
  timings.push([name, (Date.now() - t) / 1000]);
  return result;
}

function run(cmd, args, { allowFail = false, env = {} } = {}) {
  console.log(`$ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.status !== 0 && !allowFail) {
    console.error(`\n${name(cmd, args)} failed (exit ${r.status}).`);
    summary(false);
    process.exit(r.status ?? 1);
  }
  return r.status;
}
const name = (cmd, args) => `\`${cmd} ${args.join(' ')}\``;

const has = (cmd) => {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const isRoot = process.getuid?.() === 0;
const canApt = isRoot && has('apt-get');

// Debian packages the tests use, by the command that shows they are there.
const SYSTEM_PACKAGES = [
  { cmd: 'dockerd', pkg: 'docker.io' },
  { cmd: 'chromium', pkg: 'chromium' },
  { cmd: 'espeak-ng', pkg: 'espeak-ng' },
  { cmd: 'flite', pkg: 'flite' },
  { cmd: 'sox', pkg: 'sox' },
  // Docker runtime tests: a static busybox makes the test image (docker import), docker-registry the local registry.
  { cmd: 'busybox', pkg: 'busybox-static' },
  { cmd: 'docker-registry', pkg: 'docker-registry' },
  // SSH node tests start their own sshd (absolute path: /usr/sbin is not on every user's PATH).
  { cmd: '/usr/sbin/sshd', pkg: 'openssh-server' },
];

step('system packages', () => {
  const missing = SYSTEM_PACKAGES.filter((p) => !has(p.cmd)).map((p) => p.pkg);
  if (missing.length === 0) return console.log('all present');
  const command = `apt-get update && apt-get install -y ${missing.join(' ')}`;
  if (!canApt) {
    console.log(`Missing: ${missing.join(', ')}. Install them with:\n  sudo sh -c '${command}'\nTests that need them will skip (and fail under AIMA_REQUIRE_ALL=1).`);
    return;
  }
  run('apt-get', ['update', '-qq']);
  run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env: { DEBIAN_FRONTEND: 'noninteractive' } });
});

step('docker daemon', () => {
  const up = () => spawnSync('docker', ['version', '--format', '{{.Server.Version}}'], { stdio: 'ignore', timeout: 10_000 }).status === 0;
  if (!has('docker')) return console.log('docker is not installed; Docker tests will skip.');
  if (up()) return console.log('running');
  if (!isRoot || !has('dockerd')) {
    console.log('The Docker daemon is not running. Start it with:\n  sudo dockerd &   (or: sudo systemctl start docker)');
    return;
  }
  mkdirSync(path.join(root, 'test-results'), { recursive: true });
  const log = openSync(path.join(root, 'test-results', 'dockerd.log'), 'a');
  spawn('dockerd', [], { detached: true, stdio: ['ignore', log, log] }).unref();
  const deadline = Date.now() + 60_000;
  while (!up()) {
    if (Date.now() > deadline) {
      console.log('dockerd did not come up in 60 s; see test-results/dockerd.log. Docker tests will skip.');
      return;
    }
    spawnSync('sleep', ['0.5']);
  }
  console.log('started dockerd');
});

step('npm dependencies', () => run(process.execPath, [path.join(root, 'scripts', 'install-deps.mjs'), '--if-missing']));
step('build', () => run(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', 'build']));
step('typecheck', () => {
  run(npx, ['tsc', '-p', 'tsconfig.node.json', '--noEmit']);
  run(npx, ['tsc', '-p', 'tsconfig.web.json', '--noEmit']);
});
step('lint', () => run(npx, ['eslint', '.']));

const coreExits = path.join(root, 'test-results', 'core-exits.log');
const testStatus = step('tests (unit, integration, e2e)', () => {
  rmSync(coreExits, { force: true });
  return run(npx, ['vitest', 'run', '--reporter=default', '--reporter=json', '--reporter=./test/support/flaky-reporter.ts', `--outputFile.json=${resultsFile}`, 'test/unit', 'test/integration', 'test/e2e'], {
    allowFail: true,
  });
});
summary(testStatus === 0);
process.exit(testStatus === 0 ? 0 : 1);

function summary(ok) {
  console.log('\n=== summary');
  for (const [n, s] of timings) console.log(`${n.padEnd(32)} ${s.toFixed(1).padStart(7)} s`);
  console.log(`${'total'.padEnd(32)} ${((Date.now() - started) / 1000).toFixed(1).padStart(7)} s`);
  if (existsSync(resultsFile)) {
    const r = JSON.parse(readFileSync(resultsFile, 'utf8'));
    const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
    // CI shows only the tail of the log: name each failure and its first lines here, at the end.
    for (const file of r.testResults ?? []) {
      for (const t of file.assertionResults ?? []) {
        if (t.status !== 'failed') continue;
        console.log(`\nFAILED ${path.relative(root, file.name)} > ${t.fullName ?? t.title}`);
        const message = (t.failureMessages ?? []).join('\n').split('\n').slice(0, 12).join('\n');
        console.log(message.replace(/^/gm, '    '));
      }
      if ((file.assertionResults ?? []).length === 0 && file.status === 'failed') {
        console.log(`\nFAILED ${path.relative(root, file.name)} (file did not run): ${String(file.message ?? '').slice(0, 800)}`);
      }
    }
    // A failure that is a timeout or a refused connection often means the core under test ended:
    // say how each one ended (test/support/cli.ts records every end not asked for by a test).
    if (existsSync(coreExits)) console.log(`\nCORES THAT ENDED UNDER A TEST (${path.relative(root, coreExits)}):\n${readFileSync(coreExits, 'utf8').split('\n').slice(-60).join('\n')}`);
    const flakyFile = path.join(root, 'test-results', 'flaky.json');
    const flaky = existsSync(flakyFile) ? JSON.parse(readFileSync(flakyFile, 'utf8')) : [];
    for (const f of flaky) console.log(`\nFLAKY (passed on its retry) ${f.file} > ${f.name}\n${f.errors.join('\n').replace(/^/gm, '    ')}`);
    console.log(`${ok ? 'PASS' : 'FAIL'}: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped${flaky.length ? `, ${flaky.length} flaky` : ''}`);
  }
}
