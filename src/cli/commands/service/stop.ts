/** `aima service stop NAME [--force]`: SIGTERM, then SIGKILL after the engine's grace period (--force: at once). */
import type { Command } from 'commander';
import { action, output, withConnection } from '../../context.js';
import { stateLine } from './format.js';

export function registerStop(service: Command): void {
  service
    .command('stop <name>')
    .description('Stop a service')
    .option('--force', 'kill it at once (SIGKILL) instead of asking it to stop')
    .option('--json', 'print JSON')
    .action(
      action(async (name: string, opts: { force?: boolean; json?: boolean }) => {
        await withConnection(async (conn) => {
          output(opts.json, await conn.api['services.stop']({ name, force: opts.force }), stateLine);
        });
      }),
    );
}
