#!/usr/bin/env node
// `npm start`: installs what is missing, builds, and starts AIMA. With a display and an Electron
// binary it opens the desktop app; on a headless machine (or where Electron cannot be obtained)
// it runs `aima serve` in the foreground and prints the URL to open in a browser.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, statSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(path.join(entry.parentPath ?? entry.path, entry.name)).mtimeMs);
  }
  return newest;
}

run(process.execPath, [path.join(root, 'scripts', 'install-deps.mjs'), '--if-missing']);
const built = path.join(root, 'out', 'cli', 'aima.mjs');
if (!existsSync(built) || !existsSync(path.join(root, 'out', 'renderer', 'index.html')) || newestMtime(path.join(root, 'src')) > statSync(built).mtimeMs) {
  run(npm, ['run', 'build']);
}

const hasDisplay = process.platform !== 'linux' || Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);
const serve = () => {
  const child = spawn(process.execPath, [path.join(root, 'bin', 'aima.mjs'), 'serve', ...process.argv.slice(2)], { stdio: 'inherit' });
  child.on('exit', (code) => process.exit(code ?? 0));
};

if (!hasDisplay) {
  console.log('No display here: starting the headless core. Open the "Log in" URL below in a browser.');
  serve();
} else {
  const electronBin = path.join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'electron.cmd' : 'electron');
  const startedAt = Date.now();
  const app = spawn(electronBin, [root], { stdio: 'inherit' });
  app.on('exit', (code) => {
    // Electron fetches its binary on first launch; where that is impossible it fails at once.
    if (code !== 0 && Date.now() - startedAt < 20_000) {
      console.log('The desktop app could not start (see above); starting the headless core instead. Open the "Log in" URL below in a browser.');
      serve();
    } else process.exit(code ?? 0);
  });
  app.on('error', () => serve());
}
