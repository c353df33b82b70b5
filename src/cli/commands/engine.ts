/** `aima engine list [--json]`: the engine catalog and whether each engine can run on this machine. */
import type { Command } from 'commander';
import type { EngineList } from '../../shared/contract/index.js';
import { action, output, withConnection } from '../context.js';

function table(list: EngineList): string {
  const rows = [
    ['ID', 'KIND', 'RUNTIME', 'DEVICES', 'MODELS', 'CAN RUN'],
    ...list.engines.map((e) => [
      e.id,
      e.kind,
      e.runtime,
      e.devices.join(','),
      e.modelRequired ? e.modelFormats.join(',') : `${e.modelFormats.join(',')} (optional)`,
      e.canRun ? 'yes' : `no: ${e.reason} — ${e.detail}`,
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) => r.map((c, i) => (i === 5 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd());
  for (const p of list.problems) lines.push(`\nSkipped ${p.file}: ${p.message}`);
  return lines.join('\n');
}

export function registerEngine(program: Command): void {
  const engine = program.command('engine').description('The engine catalog (resources/engines and <data dir>/engines)');
  engine
    .command('list')
    .alias('ls')
    .description('List engines and whether each can run here (with the reason when not)')
    .option('--json', 'print JSON')
    .action(
      action(async (opts: { json?: boolean }) => {
        await withConnection(async (conn) => {
          output(opts.json, await conn.api['engines.list']({}), table);
        });
      }),
    );
}
