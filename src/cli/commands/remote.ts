/** `aima remote add|list|rm`: remote OpenAI-compatible endpoints the gateway routes to. */
import type { Command } from 'commander';
import { remoteKinds } from '../../shared/contract/enums.js';
import { action, output, withConnection } from '../context.js';

export function registerRemote(program: Command): void {
  const remote = program.command('remote').description('Route models of a remote OpenAI-compatible endpoint through the gateway');
  remote
    .command('add <name>')
    .description('Register an endpoint and the models it serves')
    .requiredOption('--url <url>', 'base URL, e.g. https://api.example.com (with or without /v1)')
    .requiredOption('--model <id...>', 'model ids it serves')
    .option('--kind <kind>', `what the models do (${remoteKinds.join('|')})`, 'llm')
    .option('--key-env <var>', 'read the API key from this environment variable (keeps it out of shell history)')
    .option('--json', 'print JSON')
    .action(
      action(async (name: string, opts: { url: string; model: string[]; kind: string; keyEnv?: string; json?: boolean }) => {
        const apiKey = opts.keyEnv ? process.env[opts.keyEnv] : undefined;
        await withConnection(async (conn) => {
          const r = await conn.api['remotes.add']({ name, baseUrl: opts.url, models: opts.model, kind: opts.kind as (typeof remoteKinds)[number], apiKey });
          output(opts.json, r, (x) => `Added "${x.name}" (${x.baseUrl}) serving ${x.models.join(', ')}${x.hasKey ? ', with a key in the secret store' : ''}.`);
        });
      }),
    );
  remote
    .command('list')
    .option('--json', 'print JSON')
    .description('List remote endpoints')
    .action(
      action(async (opts: { json?: boolean }) => {
        await withConnection(async (conn) => {
          output(opts.json, await conn.api['remotes.list']({}), (list) =>
            list.length === 0 ? 'No remote endpoints.' : list.map((r) => `${r.name.padEnd(16)} ${r.baseUrl}  ${r.kind}: ${r.models.join(', ')}${r.hasKey ? '  (key)' : ''}`).join('\n'),
          );
        });
      }),
    );
  remote
    .command('rm <name>')
    .description('Forget an endpoint and its key')
    .action(
      action(async (name: string) => {
        await withConnection(async (conn) => {
          await conn.api['remotes.remove']({ name });
          process.stdout.write(`Removed "${name}".\n`);
        });
      }),
    );
}
