/** Finding the local service behind a model name: one rule for the core, the CLI and the UI. */
import type { ServiceSummary } from './contract/index.js';

/** The local service that serves `model` (by model or service name), preferring a running one; null: a remote, or unknown. */
export function serviceFor(list: readonly ServiceSummary[], model: string): ServiceSummary | null {
  const matches = list.filter((s) => s.model === model || s.name === model);
  return matches.find((s) => s.state === 'running') ?? matches[0] ?? null;
}
