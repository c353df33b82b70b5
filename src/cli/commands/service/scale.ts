/** `aima service scale NAME N`: run N services for NAME's model — NAME itself and N - 1 replicas. */
import type { Command } from 'commander';
import { action, output, withConnection } from '../../context.js';
import { AimaError } from '../../../shared/errors.js';
import { intOption, stateLine } from './format.js';

export function registerScale(service: Command): void {
  service
    .command('scale <name> <replicas>')
    .description('Run N services for a model: the service and N - 1 replicas NAME-2, NAME-3, ... (1 to 64; the gateway spreads requests over them)')
    .option('--json', 'print JSON')
    .action(
      action(async (name: string, replicas: string, opts: { json?: boolean }) => {
        let n: number;
        try {
          n = intOption(replicas, 'replicas', 1)!;
        } catch (err) {
          throw new AimaError('bad-request', (err as Error).message, 'Give the number of services to run for the model, e.g. `aima service scale chat 2`.');
        }
        await withConnection(async (conn) => {
          output(opts.json, await conn.api['services.scale']({ name, replicas: n }), (r) =>
            [
              `${r.name}: ${r.replicas.length} service${r.replicas.length === 1 ? '' : 's'}${r.added.length ? `, added ${r.added.join(', ')}` : ''}${r.removed.length ? `, removed ${r.removed.join(', ')}` : ''}.`,
              ...r.replicas.map((s) => `  ${stateLine(s)}`),
            ].join('\n'),
          );
        });
      }),
    );
}
