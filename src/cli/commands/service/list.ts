/** `aima service list [--json]`: every service with state, reason, pid, port, engine and model. */
import type { Command } from 'commander';
import { action, output, withConnection } from '../../context.js';
import { serviceTable } from './format.js';

export function registerList(service: Command): void {
  service
    .command('list')
    .alias('ls')
    .description('List services and their states')
    .option('--json', 'print JSON')
    .action(
      action(async (opts: { json?: boolean }) => {
        await withConnection(async (conn) => {
          output(opts.json, await conn.api['services.list']({}), serviceTable);
        });
      }),
    );
}
