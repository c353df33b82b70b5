#!/usr/bin/env node
// Builds better-sqlite3 for the Electron version in package.json and stores it in
// native/electron-<major>/better_sqlite3.node, beside (not instead of) the Node build that the CLI
// and tests use. Needs network access to Electron's headers; cannot run on the offline CI machine.
//
// Why not electron-rebuild: it rebuilds node_modules in place (breaking the Node build), and with
// `nodedir` set in npm's config it silently compiles against Node's headers while claiming success.
// Here we build a private copy and unset every nodedir variable.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, copyFileSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const electronVersion = JSON.parse(readFileSync(require.resolve('electron/package.json'), 'utf8')).version;
const major = electronVersion.split('.')[0];
const source = path.dirname(require.resolve('better-sqlite3/package.json'));
const work = mkdtempSync(path.join(os.tmpdir(), 'aima-bsql-electron-'));
cpSync(source, work, { recursive: true, filter: (p) => !p.includes(`${path.sep}build${path.sep}`) });

const env = { ...process.env };
for (const k of Object.keys(env)) if (/^npm_config_nodedir$/i.test(k) || /^NODEDIR$/i.test(k)) delete env[k];
// npm exports the path of its bundled node-gyp to scripts it runs.
const nodeGyp = process.env.npm_config_node_gyp ?? require.resolve('node-gyp/bin/node-gyp.js');
console.log(`Building better-sqlite3 for Electron ${electronVersion} in ${work}`);
const r = spawnSync(
  process.execPath,
  [nodeGyp, 'rebuild', '--release', `--target=${electronVersion}`, '--runtime=electron', '--dist-url=https://electronjs.org/headers', `--arch=${process.arch}`],
  { cwd: work, stdio: 'inherit', env },
);
if (r.status !== 0) {
  console.error('build-native-electron: node-gyp failed. It needs network access to download Electron headers.');
  process.exit(r.status ?? 1);
}
const outDir = path.join(root, 'native', `electron-${major}`);
mkdirSync(outDir, { recursive: true });
copyFileSync(path.join(work, 'build', 'Release', 'better_sqlite3.node'), path.join(outDir, 'better_sqlite3.node'));
rmSync(work, { recursive: true, force: true });
console.log(`Wrote ${path.join(outDir, 'better_sqlite3.node')}`);
