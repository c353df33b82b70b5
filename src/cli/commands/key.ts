/** `aima key create|list|revoke`: API keys for /v1 and /api (needed to listen beyond loopback). */
import type { Command } from 'commander';
import { action, output, withConnection } from '../context.js';

export function registerKey(program: Command): void {
  const key = program.command('key').description('Manage API keys for the gateway (/v1) and the API (/api)');
  key
    .command('create <name>')
    .description('Create a key; it is printed once and only its hash is stored')
    .option('--json', 'print JSON')
    .action(
      action(async (name: string, opts: { json?: boolean }) => {
        await withConnection(async (conn) => {
          const created = await conn.api['keys.create']({ name });
          output(opts.json, created, (c) => `${c.key}\nKeep it now: AIMA stores only its hash and cannot show it again. Send it as "Authorization: Bearer <key>".`);
        });
      }),
    );
  key
    .command('list')
    .description('List keys')
    .option('--json', 'print JSON')
    .action(
      action(async (opts: { json?: boolean }) => {
        await withConnection(async (conn) => {
          output(opts.json, await conn.api['keys.list']({}), (keys) =>
            keys.length === 0
              ? 'No API keys. Local clients need none; create one with `aima key create NAME` to allow other machines.'
              : keys.map((k) => `${k.name.padEnd(20)} ${k.prefix}…  created ${k.createdAt}  ${k.revokedAt ? `revoked ${k.revokedAt}` : k.lastUsedAt ? `last used ${k.lastUsedAt}` : 'never used'}`).join('\n'),
          );
        });
      }),
    );
  key
    .command('revoke <id-or-name>')
    .description('Revoke a key')
    .action(
      action(async (id: string) => {
        await withConnection(async (conn) => {
          const k = await conn.api['keys.revoke']({ id });
          process.stdout.write(`Revoked "${k.name}" (${k.prefix}…).\n`);
        });
      }),
    );
}
