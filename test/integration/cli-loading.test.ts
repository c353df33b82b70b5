/**
 * What the built `aima` CLI loads, read from the build's own record (out/cli/meta.json, esbuild's
 * metafile): the entry and the chunks it imports statically hold the command declarations and
 * nothing heavy. The core is loaded by `serve` alone, and the HTTP client and the contract's zod
 * schemas only when a command connects. bench/cli.mjs measures what this buys.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../support/system.js';

interface Metafile {
  outputs: Record<string, { entryPoint?: string; inputs: Record<string, unknown>; imports: { path: string; kind: string; external?: boolean }[] }>;
}

let meta: Metafile;

beforeAll(() => {
  execFileSync(process.execPath, [path.join(repoRoot, 'scripts', 'build-node.mjs')], { stdio: 'pipe' });
  meta = JSON.parse(readFileSync(path.join(repoRoot, 'out', 'cli', 'meta.json'), 'utf8')) as Metafile;
}, 120_000);

/** Source files and packages loaded by importing `output` statically (what runs before any command's action). */
function staticClosure(output: string): { sources: Set<string>; packages: Set<string> } {
  const sources = new Set<string>();
  const packages = new Set<string>();
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const out = meta.outputs[file]!;
    for (const input of Object.keys(out.inputs)) sources.add(input);
    for (const imp of out.imports) {
      if (imp.kind !== 'import-statement') continue;
      if (imp.external) packages.add(imp.path);
      else visit(imp.path);
    }
  };
  visit(output);
  return { sources, packages };
}

/** The output whose entry (or dynamic-import target) is `source`. */
const outputOf = (source: string) => Object.entries(meta.outputs).find(([, o]) => o.entryPoint === source)![0];

describe('what the built CLI loads', () => {
  it('loads only commander, Node built-ins and light modules before a command runs', () => {
    const { sources, packages } = staticClosure(outputOf('src/cli/index.ts'));
    expect([...packages].filter((p) => !p.startsWith('node:'))).toEqual(['commander']);
    const heavy = [...sources].filter((s) => /node_modules\/zod\/|src\/shared\/contract\/(?!enums\.ts)|src\/shared\/http-transport\.ts|src\/core\/(host|core)\.ts|src\/workers\/|src\/lib\/audio\//.test(s));
    expect(heavy).toEqual([]);
    // The declarations themselves are there.
    expect(sources).toContain('src/cli/commands/model/index.ts');
    expect(sources).toContain('src/cli/commands/serve.ts');
  });

  it('loads the contract but neither ws nor the core when a command connects', () => {
    const client = staticClosure(outputOf('src/lib/client/http-client.ts'));
    expect([...client.packages].filter((p) => !p.startsWith('node:'))).toEqual([]);
    expect(client.sources).toContain('src/shared/contract/index.ts');
    expect([...client.sources].filter((s) => /src\/core\/(host|core)\.ts/.test(s))).toEqual([]);
  });

  it('has the core in the chunk serve imports', () => {
    expect(staticClosure(outputOf('src/core/host.ts')).sources).toContain('src/core/core.ts');
  });
});
