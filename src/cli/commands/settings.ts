/** `aima settings get [--json]` and `aima settings set KEY VALUE`: the same settings as the Settings page. */
import type { Command } from 'commander';
import { settingKeys } from '../../shared/contract/enums.js';
import type { ServerStatus } from '../../shared/contract/server.js';
import { AimaError } from '../../shared/errors.js';
import { action, output, withConnection } from '../context.js';
import { joinHostPort } from '../../shared/host-port.js';

/** Values are JSON when they parse as JSON (true, 8, ["http://x"]), else plain strings. */
function parseValue(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** Lists and records as JSON (corsOrigins, engineResources), the rest as they are. */
const show = (v: unknown) => (typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v));

export function registerSettings(program: Command): void {
  const settings = program.command('settings').description('Read and change settings');
  settings
    .command('get')
    .description('Show all settings')
    .option('--json', 'print JSON')
    .action(
      action(async (opts: { json?: boolean }) => {
        await withConnection(async (conn) => {
          const all = await conn.api['settings.get']({});
          output(opts.json, all, (s) => Object.entries(s).map(([k, v]) => `${k.padEnd(26)} ${show(v)}`).join('\n'));
        });
      }),
    );
  settings
    .command('set <key> <value>')
    .description(`Change one setting (${settingKeys.join(', ')})`)
    .action(
      action(async (key: string, value: string) => {
        if (!(settingKeys as readonly string[]).includes(key)) {
          throw new AimaError('bad-request', `Unknown setting "${key}".`, `Settings are: ${settingKeys.join(', ')}.`);
        }
        await withConnection(async (conn) => {
          const all = await conn.api['settings.update']({ [key]: parseValue(value) });
          process.stdout.write(`${key} = ${show(all[key as keyof typeof all])}\n`);
        });
      }),
    );
  settings
    .command('network')
    .description('Where the core listens: the address, the URLs other machines use, the HTTPS certificate')
    .option('--json', 'print JSON')
    .action(
      action(async (opts: { json?: boolean }) => {
        await withConnection(async (conn) => {
          output(opts.json, await conn.api['server.status']({}), describeListener);
        });
      }),
    );
  settings
    .command('listen <address>')
    .description('Listen on another address without restarting the services: 0.0.0.0 for every network (needs an API key), 127.0.0.1 for this machine only')
    .option('--name <name...>', 'DNS names of this machine that clients use (the certificate covers them)')
    .option('--json', 'print JSON')
    .action(
      action(async (address: string, opts: { name?: string[]; json?: boolean }) => {
        await withConnection(async (conn) => {
          output(opts.json, await conn.api['server.listen']({ host: address, ...(opts.name ? { names: opts.name } : {}) }), describeListener);
        });
      }),
    );
}

function describeListener(s: ServerStatus): string {
  const lines = [`Listening on ${joinHostPort(s.host, s.port)} (${s.remote ? 'other machines can connect' : 'this machine only'})`, `  Here:           ${s.localUrl}`];
  if (s.urls.length) lines.push(`  Other machines: ${s.urls.join('\n                  ')}`);
  if (s.tls?.caFingerprint) lines.push(`  HTTPS by the install CA, SHA-256 ${s.tls.caFingerprint}`, `  Trust it on each client: ${s.localUrl}${s.tls.caPath} (docs/remote-access.md)`);
  else if (s.tls) lines.push(`  HTTPS with your certificate, valid until ${s.tls.validTo.slice(0, 10)}`);
  return lines.join('\n');
}
