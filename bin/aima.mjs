#!/usr/bin/env node
// Entry point of the `aima` command (package.json "bin"): runs the bundled CLI from out/.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const cli = fileURLToPath(new URL('../out/cli/aima.mjs', import.meta.url));
if (!existsSync(cli)) {
  process.stderr.write(`aima: the CLI is not built (${cli} is missing). Run \`npm run build\` in the AIMA folder.\n`);
  process.exit(1);
}
await import(pathToFileURL(cli).href);
