/** `aima service rm NAME`: stop the service if it runs and delete it (its log file stays). */
import type { Command } from 'commander';
import { action, output, withConnection } from '../../context.js';

export function registerRemove(service: Command): void {
  service
    .command('rm <name>')
    .alias('remove')
    .description('Stop and delete a service')
    .option('--json', 'print JSON')
    .action(
      action(async (name: string, opts: { json?: boolean }) => {
        await withConnection(async (conn) => {
          output(opts.json, await conn.api['services.remove']({ name }), (r) => `Removed service "${r.name}".`);
        });
      }),
    );
}
