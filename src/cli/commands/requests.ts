/**
 * `aima requests`: the requests waiting for a model (position and ETA) and the gateway's most
 * recent requests with their timings; -f keeps printing queue changes and finished requests
 * (the `gateway.queue` and `gateway.request` events) until Ctrl+C.
 */
import type { Command } from 'commander';
import type { ModelQueueState, RequestRecord } from '../../shared/contract/index.js';
import { action, cliContext, connect, output, withConnection } from '../context.js';

function requestLine(r: RequestRecord): string {
  return `${r.at}  ${String(r.status).padEnd(3)}  ${r.endpoint.padEnd(26)} ${(r.model ?? '-').padEnd(20)} ${String(r.durationMs).padStart(6)} ms${r.queuedMs ? `  queued ${r.queuedMs} ms` : ''}${r.ttftMs !== null ? `  ttft ${r.ttftMs} ms` : ''}${r.tokensPerSecond ? `  ${r.tokensPerSecond} tok/s` : ''}${r.error ? `  ${r.error}` : ''}`;
}

/** One line per waiting request: "waiting  stories  /v1/chat/completions  position 2 of 3, about 4 s (waited 1.2 s)". */
export function queueLines(q: ModelQueueState): string[] {
  return q.waiting.map(
    (w) =>
      `waiting  ${q.model.padEnd(20)} ${w.endpoint.padEnd(26)} position ${w.position} of ${q.waiting.length}${w.etaMs !== null ? `, about ${Math.max(1, Math.round(w.etaMs / 1000))} s` : ''} (waited ${(w.waitedMs / 1000).toFixed(1)} s; ${q.inFlight} in flight on ${q.replicas} replica${q.replicas === 1 ? '' : 's'})${w.clientId ? `  id ${w.clientId}` : ''}`,
  );
}

export function registerRequests(program: Command): void {
  program
    .command('requests')
    .description("Show requests waiting for a model (position, ETA) and the gateway's most recent requests with their timings")
    .option('-n, --limit <n>', 'how many', '20')
    .option('-f, --follow', 'keep printing queue changes and finished requests until Ctrl+C')
    .option('--json', 'print JSON')
    .action(
      action(async (opts: { limit: string; json?: boolean; follow?: boolean }) => {
        if (opts.follow) {
          const conn = await connect(cliContext());
          const offQueue = conn.transport.on('gateway.queue', (q) => {
            if (opts.json) return void process.stdout.write(JSON.stringify({ queue: q }) + '\n');
            const lines = queueLines(q);
            process.stdout.write((lines.length ? lines.join('\n') : `queue  ${q.model}: nobody waiting (${q.inFlight} in flight)`) + '\n');
          });
          const offRequest = conn.transport.on('gateway.request', (r) => process.stdout.write((opts.json ? JSON.stringify({ request: r }) : requestLine(r)) + '\n'));
          try {
            await conn.transport.eventsReady();
            process.stderr.write('Following waiting and finished requests (Ctrl+C stops).\n');
            const queue = await conn.api['gateway.queue']({});
            for (const q of queue.models) for (const l of queueLines(q)) process.stdout.write(l + '\n');
            await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
          } finally {
            offQueue();
            offRequest();
            conn.close();
          }
          return;
        }
        await withConnection(async (conn) => {
          const [list, queue] = await Promise.all([conn.api['gateway.requests']({ limit: Number(opts.limit) }), conn.api['gateway.queue']({})]);
          output(opts.json, { waiting: queue.models.filter((q) => q.waiting.length > 0), recent: list }, (x) => {
            const waiting = x.waiting.flatMap(queueLines);
            const recent = x.recent.length === 0 ? 'No requests yet.' : x.recent.map(requestLine).join('\n');
            return waiting.length ? `${waiting.join('\n')}\n\n${recent}` : recent;
          });
        });
      }),
    );
}
