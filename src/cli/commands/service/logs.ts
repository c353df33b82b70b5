/** `aima service logs NAME [-n 200] [-f]`: the service's log; -f follows new lines (services.log events) until Ctrl+C. */
import type { Command } from 'commander';
import { AimaError } from '../../../shared/errors.js';
import { action, cliContext, connect } from '../../context.js';
import { intOption } from './format.js';

export function registerLogs(service: Command): void {
  service
    .command('logs <name>')
    .description("Show a service's log")
    .option('-n, --lines <n>', 'how many lines', '200')
    .option('-f, --follow', 'keep printing new lines until Ctrl+C')
    .action(
      action(async (name: string, opts: { lines: string; follow?: boolean }) => {
        let lines: number;
        try {
          lines = intOption(opts.lines, '--lines', 1)!;
        } catch (err) {
          throw new AimaError('bad-request', (err as Error).message, 'Give --lines as a number.');
        }
        const conn = await connect(cliContext());
        // Subscribe before reading the tail, so no line falls between the two.
        const pending: string[] = [];
        let printing = false;
        const off = opts.follow
          ? conn.transport.on('services.log', (e) => {
              if (e.name !== name) return;
              if (printing) process.stdout.write(e.lines.join('\n') + '\n');
              else pending.push(...e.lines);
            })
          : () => {};
        try {
          if (opts.follow) await conn.transport.eventsReady();
          const tail = await conn.api['services.logs']({ name, lines });
          if (tail.lines.length > 0) process.stdout.write(tail.lines.join('\n') + '\n');
          if (!opts.follow) return;
          const seen = new Set(tail.lines.slice(-pending.length));
          for (const l of pending) if (!seen.has(l)) process.stdout.write(l + '\n');
          printing = true;
          await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
        } finally {
          off();
          conn.close();
        }
      }),
    );
}
