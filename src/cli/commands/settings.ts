/** `aima settings get [--json]` and `aima settings set KEY VALUE`: the same settings as the Settings page. */
import type { Command } from 'commander';
import { settingKeys } from '../../shared/contract/enums.js';
import { AimaError } from '../../shared/errors.js';
import { action, output, withConnection } from '../context.js';

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
}
