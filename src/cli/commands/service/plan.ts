/** `aima service plan NAME [--device cpu|gpu] [--gpus 0,1]`: where it would run now and what would stop first; starts nothing. */
import type { Command } from 'commander';
import { devices, type Device } from '../../../shared/contract/enums.js';
import { AimaError } from '../../../shared/errors.js';
import { formatBytes } from '../../../shared/format-bytes.js';
import { action, output, withConnection } from '../../context.js';
import { intOption } from './format.js';

export function registerPlan(service: Command): void {
  service
    .command('plan <name>')
    .description('Show where a service would be placed now and which idle services would stop first (starts nothing)')
    .option('--device <device>', 'plan for another device than the service has (cpu or gpu)')
    .option('--gpus <list>', 'plan for these GPU indexes, e.g. 0,1')
    .option('--json', 'print JSON')
    .action(
      action(async (name: string, opts: { device?: string; gpus?: string; json?: boolean }) => {
        if (opts.device !== undefined && !(devices as readonly string[]).includes(opts.device)) {
          throw new AimaError('bad-request', `--device must be cpu or gpu (got "${opts.device}").`, 'Use --device cpu or --device gpu.');
        }
        let gpus: number[] | undefined;
        try {
          gpus = opts.gpus?.split(',').map((g) => intOption(g.trim(), '--gpus', 0)!);
        } catch (err) {
          throw new AimaError('bad-request', (err as Error).message, 'Give GPU indexes such as 0,1.');
        }
        await withConnection(async (conn) => {
          const plan = await conn.api['services.plan']({ name, ...(opts.device ? { device: opts.device as Device } : {}), ...(gpus ? { gpus } : {}) });
          output(opts.json, plan, (p) =>
            p.kind === 'place'
              ? `${name} would run ${p.text}.${p.evict.length ? `\nWould stop first: ${p.evict.map((e) => `${e.name} (${formatBytes(e.freesBytes)} on ${e.where})`).join(', ')}.` : ''}`
              : `${name} would not start: ${p.message}\n${p.fix}`,
          );
        });
      }),
    );
}
