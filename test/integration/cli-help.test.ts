/**
 * The built `aima` CLI's help and version, snapshot by snapshot: the top-level help, then the help
 * of every command and subcommand found by following each help's "Commands:" list. Commands are
 * declared apart from the code that runs them (loaded on use), so these snapshots are what shows
 * the declarations still say exactly what the commands accept.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { runAima, tempHome } from '../support/cli.js';
import { repoRoot } from '../support/system.js';

// The help lists environment variables, not their values; a fixed data directory keeps any
// default that mentions one out of the output's way.
const env = { AIMA_HOME: tempHome('aima-help-') };

beforeAll(() => {
  execFileSync(process.execPath, [path.join(repoRoot, 'scripts', 'build-node.mjs')], { stdio: 'pipe' });
}, 120_000);

/** Subcommand names from a help text's "Commands:" section (commander's own `help` left out). */
function subcommands(help: string): string[] {
  const section = help.split(/^Commands:$/m)[1];
  if (!section) return [];
  const names: string[] = [];
  for (const line of section.split('\n')) {
    if (/^\S/.test(line)) break; // the next section ("Environment:")
    const m = /^ {2}(\S+)/.exec(line);
    if (!m) continue;
    const name = m[1]!.split('|')[0]!;
    if (name !== 'help') names.push(name);
  }
  return names;
}

async function help(args: string[]): Promise<string> {
  const r = await runAima([...args, '--help'], env);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.stdout;
}

describe('aima help and version (the built CLI)', () => {
  it('prints the version from package.json', async () => {
    const r = await runAima(['--version'], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${(JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version}\n`);
  });

  it('prints the same help for every command', async () => {
    const seen: string[] = [];
    const walk = async (args: string[]) => {
      const text = await help(args);
      expect(text).toMatchSnapshot(`aima ${[...args, '--help'].join(' ')}`);
      seen.push(args.join(' '));
      for (const sub of subcommands(text)) await walk([...args, sub]);
    };
    await walk([]);
    // The walk reached the groups; a broken "Commands:" parse would pass on the top level alone.
    expect(seen).toEqual(expect.arrayContaining(['model', 'model list', 'model hf-token set', 'service', 'service start', 'voice setup', 'serve']));
  }, 300_000);

  it('names the problem and points at --help for an unknown command or option', async () => {
    const unknown = await runAima(['modle', 'list'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatchSnapshot();
    const badOption = await runAima(['model', 'list', '--jsn'], env);
    expect(badOption.code).toBe(1);
    expect(badOption.stderr).toMatchSnapshot();
    const missingArg = await runAima(['model', 'show'], env);
    expect(missingArg.code).toBe(1);
    expect(missingArg.stderr).toMatchSnapshot();
  });
});
