/**
 * `aima service start NAME [--wait] [--timeout 600] [--ignore-fit]` and `aima service restart NAME`: with --wait,
 * state changes and the engine's last log line go to stderr until it is running; Ctrl+C stops
 * waiting (the service keeps starting).
 */
import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import type { ServiceSummary } from '../../../shared/contract/index.js';
import { AimaError } from '../../../shared/errors.js';
import { action, output, type Connection, withConnection } from '../../context.js';
import { intOption, stateLine } from './format.js';

interface Opts {
  wait?: boolean;
  timeout: string;
  json?: boolean;
  ignoreFit?: boolean;
}

async function startOrRestart(which: 'services.start' | 'services.restart', name: string, opts: Opts): Promise<void> {
  let timeoutS: number;
  try {
    timeoutS = intOption(opts.timeout, '--timeout', 1)!;
  } catch (err) {
    throw new AimaError('bad-request', (err as Error).message, 'Give --timeout in seconds.');
  }
  await withConnection(async (conn) => {
    const ignoreFit = opts.ignoreFit ? { ignoreFit: true } : {};
    const s = opts.wait ? await waitWithProgress(conn, which, name, timeoutS, ignoreFit) : await conn.api[which]({ name, ...ignoreFit });
    output(opts.json, s, (x) => (x.state === 'running' ? `${stateLine(x)}` : `${stateLine(x)}. Follow it with \`aima service logs ${x.name} -f\`.`));
  });
}

async function waitWithProgress(conn: Connection, which: 'services.start' | 'services.restart', name: string, timeoutS: number, extra: { ignoreFit?: boolean }): Promise<ServiceSummary> {
  const operationId = randomUUID();
  let last = '';
  const off = conn.transport.on('operation.progress', (p) => {
    if (p.id !== operationId || !p.message || p.message === last) return;
    last = p.message;
    process.stderr.write(`${name}: ${p.message}\n`);
  });
  const onSigint = () => void conn.api['operations.cancel']({ id: operationId }).catch(() => {});
  process.on('SIGINT', onSigint);
  try {
    return await conn.api[which]({ name, wait: true, timeoutMs: timeoutS * 1000, operationId, ...extra });
  } finally {
    process.off('SIGINT', onSigint);
    off();
  }
}

export function registerStart(service: Command): void {
  for (const [cmd, call, what] of [
    ['start', 'services.start', 'Start a service'],
    ['restart', 'services.restart', 'Stop and start a service'],
  ] as const) {
    service
      .command(`${cmd} <name>`)
      .description(what)
      .option('--wait', 'wait until it is running (or has failed), showing progress')
      .option('--timeout <seconds>', 'how long --wait waits', '600')
      .option('--ignore-fit', 'start even when the memory estimate says the model does not fit')
      .option('--json', 'print JSON')
      .action(action(async (name: string, opts: Opts) => startOrRestart(call, name, opts)));
  }
}
