/**
 * The download transfer thread's script for tests: the same entry scripts/build-node.mjs bundles
 * (src/core/downloads/transfer-thread-main.ts), bundled from the current source into
 * out/test-threads/, so tests run the real thread without a prior `npm run build`.
 */
import { build } from 'esbuild';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './system.js';

let built: Promise<string> | null = null;

/** Bundles the transfer thread once per test process and returns the script's path. */
export function transferThreadScript(): Promise<string> {
  built ??= (async () => {
    const outfile = path.join(repoRoot, 'out', 'test-threads', 'download-transfer.mjs');
    const result = await build({
      entryPoints: [path.join(repoRoot, 'src', 'core', 'downloads', 'transfer-thread-main.ts')],
      outfile,
      write: false,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      logLevel: 'warning',
      banner: { js: "import { createRequire as __aimaCreateRequire } from 'node:module'; const require = __aimaCreateRequire(import.meta.url);" },
    });
    // Written beside, then renamed over: test files run in parallel processes, and a thread that
    // another one started keeps reading the script it opened.
    mkdirSync(path.dirname(outfile), { recursive: true });
    const tmp = `${outfile}.${process.pid}.tmp`;
    writeFileSync(tmp, result.outputFiles[0]!.contents);
    renameSync(tmp, outfile);
    return outfile;
  })();
  return built;
}
