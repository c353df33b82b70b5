/** How services look on the terminal: the `aima service list` table and one-line states. */
import type { ServiceSummary } from '../../../shared/contract/index.js';

export function stateLine(s: ServiceSummary): string {
  const where = s.url ? ` at ${s.url}` : '';
  const pid = s.pid ? ` (pid ${s.pid})` : '';
  return `${s.name}: ${s.state}${where}${pid}${s.reason ? ` — ${s.reason}` : ''}`;
}

export function serviceTable(services: ServiceSummary[]): string {
  if (services.length === 0) return 'No services yet. Create one with `aima service create NAME --model M --engine E`.';
  const rows = [
    ['NAME', 'STATE', 'PID', 'PORT', 'ENGINE', 'MODEL', 'DEVICE', 'REASON'],
    ...services.map((s) => [
      s.replicaOf ? `${s.name} (replica of ${s.replicaOf})` : s.name,
      s.state,
      s.pid ? String(s.pid) : '-',
      s.port ? String(s.port) : s.configuredPort === 0 ? 'auto' : '-',
      s.engine,
      s.model ?? '-',
      s.device === 'gpu' ? `gpu${s.gpus.length ? ':' + s.gpus.join(',') : ''}` : 'cpu',
      s.reason ?? '',
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

/** Parses an integer option or throws a message naming the option. */
export function intOption(value: string | undefined, flag: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`${flag} must be a whole number >= ${min} (got "${value}").`);
  return n;
}
