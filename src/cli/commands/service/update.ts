/** `aima service update NAME [--idle-ttl 10m] [--pinned | --no-pinned]`: change a service without recreating it. */
import type { Command } from 'commander';
import { AimaError } from '../../../shared/errors.js';
import { action, output, withConnection } from '../../context.js';
import { idleTtlOption, idleTtlText } from './format.js';

interface Opts {
  idleTtl?: string;
  pinned?: boolean;
  json?: boolean;
}

export function registerUpdate(service: Command): void {
  service
    .command('update <name>')
    .description("Change a service's idle TTL or pinning (only the options given change)")
    .option('--idle-ttl <duration>', 'stop it after this long without a request, e.g. 10m; 0 = never; "default" = the onDemandIdleTtlSeconds setting for starts on demand')
    .option('--pinned', 'never stop it to make room for another service or for idleness')
    .option('--no-pinned', 'let the scheduler stop it again when it is idle')
    .option('--json', 'print JSON')
    .action(
      action(async (name: string, opts: Opts) => {
        let idleTtl: number | null | undefined;
        try {
          idleTtl = opts.idleTtl === 'default' ? null : idleTtlOption(opts.idleTtl);
        } catch (err) {
          throw new AimaError('bad-request', (err as Error).message, 'Fix the option and try again.');
        }
        if (idleTtl === undefined && opts.pinned === undefined) {
          throw new AimaError('bad-request', 'Nothing to change.', 'Give --idle-ttl DURATION, --pinned or --no-pinned.');
        }
        await withConnection(async (conn) => {
          const s = await conn.api['services.update']({ name, ...(idleTtl !== undefined ? { idleTtl } : {}), ...(opts.pinned !== undefined ? { pinned: opts.pinned } : {}) });
          output(opts.json, s, (x) => `${x.name}: idle TTL ${idleTtlText(x.idleTtl)}, ${x.pinned ? 'pinned' : 'not pinned'}`);
        });
      }),
    );
}
