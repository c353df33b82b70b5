/** How services look on the terminal: the `aima service list` table and one-line states. */
import type { ServiceSummary } from '../../../shared/contract/index.js';
import { MAX_IDLE_TTL_SECONDS } from '../../../shared/contract/enums.js';
import { formatDuration, parseDurationSeconds } from '../../../shared/duration.js';

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
      modelText(s),
      deviceText(s),
      s.reason ?? '',
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

/**
 * Where the model comes from: the library's name (`qwen`), with the path on the node when its files
 * are read there (`qwen from /srv/models/qwen`), or a Hugging Face id the engine downloads
 * (`hf:Qwen/Qwen2.5-0.5B-Instruct`, `@REV` with a revision); `-` without a model. When an update
 * stored another id than the one the running engine serves, that one follows
 * (`hf:org/new (serving org/old until restarted)`).
 */
export function modelText(s: Pick<ServiceSummary, 'model' | 'modelPathOnNode' | 'hfModel' | 'hfRevision'> & Partial<Pick<ServiceSummary, 'servedHfModel'>>): string {
  const serving = s.servedHfModel !== undefined && s.servedHfModel !== s.hfModel ? ` (serving ${s.servedHfModel ?? 'no Hub id'} until restarted)` : '';
  if (s.hfModel) return `hf:${s.hfModel}${s.hfRevision ? `@${s.hfRevision}` : ''}${serving}`;
  const name = s.model ?? '-';
  return s.modelPathOnNode ? `${name} from ${s.modelPathOnNode}` : name;
}

/** `cpu`, `gpu`, `gpu:0,1` (`gpu:0@spark1` on another node), or for a model across nodes `gpu on spark1+spark2 (tp 2, pp 1)`. */
export function deviceText(s: ServiceSummary): string {
  if (s.span) return `gpu on ${s.span.nodes.join('+')} (tp ${s.span.tensorParallel}, pp ${s.span.pipelineParallel})`;
  const device = s.device === 'gpu' ? `gpu${s.gpus.length ? ':' + s.gpus.join(',') : ''}` : 'cpu';
  return s.node !== 'local' ? `${device}@${s.node}` : device;
}

/** Parses an integer option or throws a message naming the option. */
export function intOption(value: string | undefined, flag: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`${flag} must be a whole number >= ${min} (got "${value}").`);
  return n;
}

/** Parses --idle-ttl ("10m", "90s", "1h", "0" = never) into seconds, or throws a message naming the option. */
export function idleTtlOption(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const seconds = parseDurationSeconds(value);
  if (seconds === null) throw new Error(`--idle-ttl takes a duration such as 10m, 90s or 1h, or 0 for never (got "${value}").`);
  if (seconds > MAX_IDLE_TTL_SECONDS) throw new Error(`--idle-ttl is at most 30d (got "${value}").`);
  return seconds;
}

/** The idle TTL as shown: "never", "10m", or "default" (the on-demand setting). */
export function idleTtlText(ttl: number | null): string {
  return ttl === null ? 'default' : ttl === 0 ? 'never' : formatDuration(ttl);
}
