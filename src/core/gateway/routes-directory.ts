/**
 * The gateway's view of what it can route to: local services (by their model's name or Hugging
 * Face id, with the service name as an alias) and the models of registered remote endpoints. Read live on every
 * request from the supervisor's in-memory state, so a service that just crashed is never routed.
 */
import type { RemoteEndpoint, ServiceSummary } from '../../shared/contract/index.js';
import type { ModelDirectory, RoutableModel } from './directory.js';

export interface DirectorySources {
  services: () => ServiceSummary[];
  remotes: () => RemoteEndpoint[];
  remoteKey: (remote: string) => string | null;
  /** A service's engine serving TLS with a key (on another node): the key the gateway adds and the CA it trusts. */
  serviceTls?: (service: string) => { apiKey: string; ca: string } | null;
  /** Starts a service and waits until it runs (or fails). */
  startService: (name: string, signal: AbortSignal) => Promise<ServiceSummary>;
}

function fromService(s: ServiceSummary, src: Pick<DirectorySources, 'serviceTls'>): RoutableModel {
  // A library model's service is routed by the model's name, a Hub id's by the id its engine serves
  // (not a new id an update stored for the next start); a service without either by its name, its
  // replicas by their primary's.
  const id = s.model ?? s.servedHfModel ?? s.replicaOf ?? s.name;
  const tls = s.url?.startsWith('https:') ? src.serviceTls?.(s.name) : null;
  return {
    id,
    aliases: s.name !== id ? [s.name] : [],
    kind: s.kind,
    owner: { type: 'service', service: s.name },
    state: s.state === 'running' ? 'running' : (s.state as RoutableModel['state']),
    reason: s.reason ?? undefined,
    baseUrl: s.state === 'running' && s.url ? s.url : null,
    upstreamModel: s.model ?? s.servedHfModel ?? s.name,
    ...(tls ? { apiKey: tls.apiKey, upstreamCa: tls.ca } : {}),
    concurrency: s.concurrency,
  };
}

/**
 * The directory keeps its routing table until `invalidate()` (called on services.changed,
 * models.changed and remote changes), so a request costs a lookup, not a rebuild.
 */
export function createModelDirectory(src: DirectorySources): ModelDirectory & { invalidate(): void } {
  let table: RoutableModel[] | null = null;
  const all = (): RoutableModel[] => (table ??= build());
  const build = (): RoutableModel[] => {
    const out: RoutableModel[] = [];
    const seen = new Map<string, number>();
    // Several services may serve one model: they are its replicas. One entry per model (a
    // running one stands for it) lists them all; every service name is an alias of the model.
    for (const s of src.services()) {
      const m = fromService(s, src);
      const at = seen.get(m.id);
      if (at === undefined) {
        seen.set(m.id, out.length);
        out.push({ ...m, replicas: [m] });
      } else {
        const prev = out[at]!;
        const merged = prev.state !== 'running' && m.state === 'running' ? m : prev;
        out[at] = { ...merged, aliases: [...new Set([...prev.aliases, ...m.aliases])], replicas: [...prev.replicas!, m] };
      }
    }
    for (const r of src.remotes()) {
      for (const model of r.models) {
        const id = seen.has(model) ? `${r.name}/${model}` : model;
        out.push({
          id,
          aliases: id === model ? [`${r.name}/${model}`] : [],
          kind: r.kind,
          owner: { type: 'remote', remote: r.name },
          state: 'running',
          baseUrl: r.baseUrl.replace(/\/+$/, '').replace(/\/v1$/, ''),
          upstreamModel: model,
          apiKey: r.hasKey ? (src.remoteKey(r.name) ?? undefined) : undefined,
          concurrency: 64,
        });
      }
    }
    return out;
  };
  return {
    invalidate() {
      table = null;
    },
    list: all,
    resolve(model) {
      const list = all();
      return list.find((m) => m.id === model) ?? list.find((m) => m.aliases.includes(model)) ?? null;
    },
    async start(model, signal) {
      if (model.owner.type !== 'service') return model;
      const s = await src.startService(model.owner.service, signal);
      return fromService(s, src);
    },
  };
}
