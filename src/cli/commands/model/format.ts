/** How models look on the terminal: a table row, and the detail view of `aima model show`. */
import type { ModelSummary } from '../../../shared/contract/index.js';

import { formatBytes as size } from '../../../shared/format-bytes.js';
import { modelBrief as brief } from '../../../shared/model-format.js';

/** Sizes and one-line summaries are shared with the UI. */
export { size, brief };

export function table(models: ModelSummary[]): string {
  if (models.length === 0) return 'No models yet. Import one with `aima model import PATH`.';
  const rows = [['NAME', 'KIND', 'FORMAT', 'SIZE', 'DETAILS', 'STORAGE'], ...models.map((m) => [m.name, m.kind, m.format, size(m.sizeBytes), brief(m), m.storage])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

export function details(m: ModelSummary): string {
  const lines = [
    `${m.name}`,
    `  kind:     ${m.kind} (${m.kindReason})`,
    `  format:   ${m.format}`,
    `  size:     ${size(m.sizeBytes)}`,
    `  path:     ${m.path}`,
    `  storage:  ${m.storage === 'link' ? 'linked in place' : 'copied into the data directory'} (from ${m.sourcePath})`,
  ];
  const md = m.metadata as Record<string, unknown>;
  const skip = new Set(['format', 'keys', 'bytesByType', 'bytesByDtype', 'shards', 'inputs', 'outputs', 'opCounts', 'opsets', 'files']);
  for (const [k, v] of Object.entries(md)) {
    if (skip.has(k) || v === undefined || v === null) continue;
    lines.push(`  ${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  }
  if (m.warnings.length) lines.push(`  warnings: ${m.warnings.join('; ')}`);
  return lines.join('\n');
}
