/** `aima status`: is a core running for this data directory, where, and who hosts it. */
import type { Command } from 'commander';
import { action, cliContext, output, runningCore } from '../context.js';
import { readToken } from '../../core/server/token.js';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('Show whether an AIMA core is running, where, and which data directory it uses')
    .option('--json', 'print JSON')
    .action(
      action(async (opts: { json?: boolean }) => {
        const ctx = cliContext();
        const info = runningCore(ctx);
        const token = readToken(ctx.paths.token);
        const status = info
          ? {
              running: true as const,
              dataDir: ctx.paths.dataDir,
              url: info.url,
              loginUrl: token ? `${info.url}/login?token=${token}` : null,
              pid: info.pid,
              host: info.owner,
              version: info.version,
              startedAt: info.startedAt,
            }
          : { running: false as const, dataDir: ctx.paths.dataDir };
        output(opts.json, status, (s) =>
          s.running
            ? `AIMA core running (${s.host === 'electron' ? 'desktop app' : 'aima serve'}, pid ${s.pid}, version ${s.version})\n  URL:      ${s.url}\n  Log in:   ${s.loginUrl ?? '(no token)'}\n  Data dir: ${s.dataDir}`
            : `No AIMA core is running.\n  Data dir: ${s.dataDir}\n  Start one with \`aima serve\`.`,
        );
      }),
    );
}
