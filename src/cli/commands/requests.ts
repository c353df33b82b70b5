/** `aima requests`: the gateway's most recent requests with their timings. */
import type { Command } from 'commander';
import { action, output, withConnection } from '../context.js';

export function registerRequests(program: Command): void {
  program
    .command('requests')
    .description("Show the gateway's most recent requests with their timings")
    .option('-n, --limit <n>', 'how many', '20')
    .option('--json', 'print JSON')
    .action(
      action(async (opts: { limit: string; json?: boolean }) => {
        await withConnection(async (conn) => {
          const list = await conn.api['gateway.requests']({ limit: Number(opts.limit) });
          output(opts.json, list, (rs) =>
            rs.length === 0
              ? 'No requests yet.'
              : rs
                  .map((r) => `${r.at}  ${String(r.status).padEnd(3)}  ${r.endpoint.padEnd(26)} ${(r.model ?? '-').padEnd(20)} ${String(r.durationMs).padStart(6)} ms${r.ttftMs !== null ? `  ttft ${r.ttftMs} ms` : ''}${r.tokensPerSecond ? `  ${r.tokensPerSecond} tok/s` : ''}${r.error ? `  ${r.error}` : ''}`)
                  .join('\n'),
          );
        });
      }),
    );
}
