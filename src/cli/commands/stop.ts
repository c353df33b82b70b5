/** `aima stop`: ask the core that `aima serve` runs for this data directory to shut down. */
import type { Command } from 'commander';
import { AimaError } from '../../shared/errors.js';
import { isSameProcess } from '../../core/process/proc.js';
import { action, cliContext, runningCore } from '../context.js';

export function registerStop(program: Command): void {
  program
    .command('stop')
    .description('Stop the headless core (aima serve) for this data directory')
    .option('--timeout <seconds>', 'how long to wait', '20')
    .action(
      action(async (opts: { timeout: string }) => {
        const ctx = cliContext();
        const info = runningCore(ctx);
        if (!info) {
          process.stdout.write('No AIMA core is running.\n');
          return;
        }
        if (info.owner === 'electron') {
          throw new AimaError('conflict', `The core is hosted by the desktop app (pid ${info.pid}).`, 'Quit the desktop app to stop it.');
        }
        process.kill(info.pid, 'SIGTERM');
        const deadline = Date.now() + Number(opts.timeout) * 1000;
        while (Date.now() < deadline) {
          if (!isSameProcess(info.pid, info.startTime)) {
            process.stdout.write(`Stopped the AIMA core (pid ${info.pid}).\n`);
            return;
          }
          await new Promise((r) => setTimeout(r, 100));
        }
        throw new AimaError('unavailable', `The core (pid ${info.pid}) did not stop within ${opts.timeout} s.`, `Kill it with \`kill -9 ${info.pid}\`.`);
      }),
    );
}
