/**
 * Progress for long operations on the terminal: follows the core's `operation.progress` events
 * for one operation id and draws a single updating line on stderr; Ctrl+C asks the core to
 * cancel the operation instead of leaving it running headless.
 */
import { randomUUID } from 'node:crypto';
import type { OperationProgress } from '../shared/contract/index.js';
import type { Connection } from './context.js';

function human(n: number, unit: OperationProgress['unit']): string {
  if (unit !== 'bytes') return unit === 'percent' ? `${n.toFixed(0)}%` : String(n);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

/** One line describing a progress event (used for the bar and by tests). */
export function formatProgress(p: OperationProgress): string {
  const message = p.message ? ` — ${p.message}` : '';
  // Steps (items with a total): the one under way, out of how many, and what it does.
  if (p.unit === 'items' && p.total && p.total > 0) return `${p.label}: step ${Math.min(p.done + 1, p.total)} of ${p.total}${message}`;
  if (p.total && p.total > 0) {
    const frac = Math.min(1, p.done / p.total);
    const width = 24;
    const filled = Math.round(frac * width);
    return `${p.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(0)}% ${human(p.done, p.unit)}/${human(p.total, p.unit)}`;
  }
  return `${p.label}: ${human(p.done, p.unit)}${message}`;
}

/**
 * Runs `fn(operationId)` while showing its progress; Ctrl+C cancels it in the core.
 */
export async function withProgress<T>(conn: Connection, fn: (operationId: string) => Promise<T>): Promise<T> {
  const id = randomUUID();
  const tty = process.stderr.isTTY;
  let lastLine = '';
  let lastPrint = 0;
  const off = conn.transport.on('operation.progress', (p) => {
    if (p.id !== id || p.phase !== 'running' || (p.done === 0 && !p.message)) return;
    const line = formatProgress(p);
    if (tty) {
      process.stderr.write(`\r\x1b[2K${line}`);
    } else if (Date.now() - lastPrint > 1000) {
      // Not a terminal (logs, CI): a line per second at most.
      process.stderr.write(line + '\n');
      lastPrint = Date.now();
    }
    lastLine = line;
  });
  const onSigint = () => {
    process.stderr.write('\nCancelling…\n');
    void conn.api['operations.cancel']({ id });
  };
  process.on('SIGINT', onSigint);
  try {
    // Listen before starting, so the first progress events are not lost to the socket's connect.
    await conn.transport.eventsReady();
    return await fn(id);
  } finally {
    process.off('SIGINT', onSigint);
    off();
    if (tty && lastLine) process.stderr.write('\n');
  }
}
