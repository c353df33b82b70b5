#!/usr/bin/env node
// Bundles the Node-side programs that are not part of the Electron build: the `aima` CLI, the
// embedded worker processes (src/workers/<name>/main.ts -> out/workers/<name>.mjs) and the core's
// worker threads (out/threads/<name>.mjs). Dependencies stay external (node_modules), only our own
// source is bundled.
import { build } from 'esbuild';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const entryPoints = {};
if (existsSync(path.join(root, 'src/cli/index.ts'))) entryPoints['cli/aima'] = path.join(root, 'src/cli/index.ts');
for (const name of readdirSync(path.join(root, 'src/workers'))) {
  const main = path.join(root, 'src/workers', name, 'main.ts');
  if (existsSync(main)) entryPoints[`workers/${name}`] = main;
}
// Threads the core starts (new Worker(path)): they need a file of their own in every build.
entryPoints['threads/download-transfer'] = path.join(root, 'src/main/core/downloads/transfer-thread-main.ts');

await build({
  entryPoints,
  outdir: path.join(root, 'out'),
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'warning',
  // Bundled ESM has no require(); some dependencies' CJS interop needs one.
  define: { __AIMA_VERSION__: JSON.stringify(JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).version) },
  banner: { js: "import { createRequire as __aimaCreateRequire } from 'node:module'; const require = __aimaCreateRequire(import.meta.url);" },
});
console.log(`built ${Object.keys(entryPoints).length} node entries into out/`);
