// Lets a plain-node benchmark import TypeScript from src/: bundles the entry with esbuild (our
// own code only; dependencies stay external) into bench/results/.build/ and imports the result.
import { build } from 'esbuild';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Bundles `src/...` entry `rel` as `name` and returns the imported module. */
export async function loadTs(rel, name) {
  const outDir = path.join(repoRoot, 'bench', 'results', '.build');
  mkdirSync(outDir, { recursive: true });
  const outfile = path.join(outDir, `${name}.mjs`);
  await build({
    entryPoints: [path.join(repoRoot, rel)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outfile,
    logLevel: 'warning',
    define: { __AIMA_VERSION__: JSON.stringify(JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).version) },
    banner: { js: "import { createRequire as __aimaCreateRequire } from 'node:module'; const require = __aimaCreateRequire(import.meta.url);" },
  });
  return import(pathToFileURL(outfile).href);
}
