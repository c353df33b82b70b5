#!/usr/bin/env node
// Bundles the Node-side programs that are not part of the Electron build: the `aima` CLI, the
// embedded worker processes (src/workers/<name>/main.ts -> out/workers/<name>.mjs) and the core's
// worker threads (out/threads/<name>.mjs). Dependencies stay external (node_modules), only our own
// source is bundled. The CLI is split: out/cli/aima.mjs holds the command declarations and what
// every command needs, and each dynamic import() (the core for `serve`, the HTTP client for the
// others) becomes a chunk beside it in out/cli, loaded only by the command that runs it. Workers
// and threads stay one self-contained file each.
import { build } from 'esbuild';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const entryPoints = {};
for (const name of readdirSync(path.join(root, 'src/workers'))) {
  const main = path.join(root, 'src/workers', name, 'main.ts');
  if (existsSync(main)) entryPoints[`workers/${name}`] = main;
}
// Threads the core starts (new Worker(path)): they need a file of their own in every build.
entryPoints['threads/download-transfer'] = path.join(root, 'src/core/downloads/transfer-thread-main.ts');

const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const common = {
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'warning',
  // Bundled ESM has no require(); some dependencies' CJS interop needs one.
  define: { __AIMA_VERSION__: JSON.stringify(pkg.version) },
  banner: { js: "import { createRequire as __aimaCreateRequire } from 'node:module'; const require = __aimaCreateRequire(import.meta.url);" },
};

await build({ ...common, entryPoints, outdir: path.join(root, 'out') });
const cli = path.join(root, 'src/cli/index.ts');
if (existsSync(cli)) {
  const result = await build({
    ...common,
    entryPoints: { aima: cli },
    outdir: path.join(root, 'out', 'cli'),
    // Chunks sit next to the entry, so code that finds files from import.meta.url sees the same folder.
    splitting: true,
    chunkNames: 'chunk-[hash]',
    // A CLI process compiles what it loads on every run: zod is bundled (one file, not many
    // modules to resolve) and whitespace goes; names stay, so stack traces still read.
    minifyWhitespace: true,
    minifySyntax: true,
    packages: undefined,
    external: Object.keys({ ...pkg.dependencies, ...pkg.devDependencies }).filter((name) => name !== 'zod'),
    absWorkingDir: root,
    // What each file holds and imports: test/integration/cli-loading.test.ts checks from it what a command loads.
    metafile: true,
  });
  writeFileSync(path.join(root, 'out', 'cli', 'meta.json'), JSON.stringify(result.metafile));
  // Chunks of earlier builds go once this one is written (not before: a running aima may still load them).
  const current = new Set(Object.keys(result.metafile.outputs).map((file) => path.basename(file)));
  for (const file of readdirSync(path.join(root, 'out', 'cli'))) {
    if (file.startsWith('chunk-') && !current.has(file)) rmSync(path.join(root, 'out', 'cli', file), { force: true });
  }
}
console.log(`built ${Object.keys(entryPoints).length + (existsSync(cli) ? 1 : 0)} node entries into out/`);
