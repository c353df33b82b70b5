/**
 * Prometheus metrics of the gateway (prom-client, its own registry so tests and several cores in
 * one process never share counters): requests, latency, time to first token, tokens/s and the
 * queue, per model. prom-client loads with the first request or scrape, not with the core.
 */
import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';
import type { Counter, Histogram, Registry } from 'prom-client';

export interface QueueView {
  model: string;
  queued: number;
  inFlight: number;
}

/** One upstream's load: `replica` is `service:<name>` or `remote:<name>:<model>`. */
export interface ReplicaView {
  replica: string;
  model: string;
  inFlight: number;
}

/** The instruments, made on first use: prom-client is slow to load and the core answers before any /v1 request. */
interface Instruments {
  registry: Registry;
  requests: Counter<'model' | 'endpoint' | 'status'>;
  duration: Histogram<'model' | 'endpoint'>;
  ttft: Histogram<'model'>;
  tokensPerSecond: Histogram<'model'>;
  tokens: Counter<'model'>;
}

export class GatewayMetrics {
  private made: Instruments | null = null;

  /** `more` registers further instruments on the same registry (the services' and GPUs', metrics-services.ts). */
  constructor(
    private readonly queues: () => QueueView[],
    private readonly replicas: () => ReplicaView[] = () => [],
    private readonly more?: (registry: Registry, prom: typeof PromClient) => void,
  ) {}

  get registry(): Registry {
    return this.instruments().registry;
  }

  /**
   * Per-request recording through cached label children: prom-client hashes a labels object on
   * every inc/observe, which is measurable on the gateway's per-request path.
   */
  private readonly children = new Map<string, unknown>();
  private child<T>(key: string, make: () => T): T {
    let c = this.children.get(key) as T | undefined;
    if (c === undefined) {
      if (this.children.size > 10_000) this.children.clear(); // bounded even with endless model names
      c = make();
      this.children.set(key, c);
    }
    return c;
  }

  /** One answered request. `model` is '' when none was named. */
  request(model: string, endpoint: string, status: number, seconds: number | null): void {
    const m = this.instruments();
    this.child(`r\0${model}\0${endpoint}\0${status}`, () => m.requests.labels({ model, endpoint, status: String(status) })).inc();
    if (model && seconds !== null) this.child(`d\0${model}\0${endpoint}`, () => m.duration.labels({ model, endpoint })).observe(seconds);
  }

  /** What a forwarded answer produced. */
  generation(model: string, ttftSeconds: number | null, tokens: number | null, tokensPerSecond: number | null): void {
    const m = this.instruments();
    if (ttftSeconds !== null) this.child(`t\0${model}`, () => m.ttft.labels({ model })).observe(ttftSeconds);
    if (tokens) this.child(`n\0${model}`, () => m.tokens.labels({ model })).inc(tokens);
    if (tokensPerSecond) this.child(`s\0${model}`, () => m.tokensPerSecond.labels({ model })).observe(tokensPerSecond);
  }

  private instruments(): Instruments {
    if (this.made) return this.made;
    const prom = createRequire(import.meta.url)('prom-client') as typeof PromClient;
    const { Counter, Gauge, Histogram, Registry } = prom;
    const queues = this.queues;
    const replicas = this.replicas;
    const registry = new Registry();
    const registers = [registry];
    const requests = new Counter({ name: 'aima_gateway_requests_total', help: 'Requests answered by the gateway', labelNames: ['model', 'endpoint', 'status'] as const, registers });
    const duration = new Histogram({
      name: 'aima_gateway_request_duration_seconds',
      help: 'Time from request to the end of the response',
      labelNames: ['model', 'endpoint'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    });
    const ttft = new Histogram({
      name: 'aima_gateway_time_to_first_token_seconds',
      help: 'Time from request to the first streamed byte of the answer',
      labelNames: ['model'] as const,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
      registers,
    });
    const tokensPerSecond = new Histogram({
      name: 'aima_gateway_tokens_per_second',
      help: 'Generated tokens per second of generation time, per request',
      labelNames: ['model'] as const,
      buckets: [1, 5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560],
      registers,
    });
    const tokens = new Counter({ name: 'aima_gateway_generated_tokens_total', help: 'Generated tokens', labelNames: ['model'] as const, registers });
    new Gauge({
      name: 'aima_gateway_queue_depth',
      help: 'Requests waiting for a slot, per model (one queue over all its replicas)',
      labelNames: ['model'],
      registers,
      collect() {
        this.reset();
        for (const q of queues()) this.set({ model: q.model }, q.queued);
      },
    });
    new Gauge({
      name: 'aima_gateway_in_flight',
      help: 'Requests being served',
      labelNames: ['model'],
      registers,
      collect() {
        this.reset();
        for (const q of queues()) this.set({ model: q.model }, q.inFlight);
      },
    });
    new Gauge({
      name: 'aima_gateway_replica_in_flight',
      help: 'Requests being served, per replica (service or remote model) of a model',
      labelNames: ['model', 'replica'],
      registers,
      collect() {
        this.reset();
        for (const r of replicas()) this.set({ model: r.model, replica: r.replica }, r.inFlight);
      },
    });
    this.more?.(registry, prom);
    this.made = { registry, requests, duration, ttft, tokensPerSecond, tokens };
    return this.made;
  }
}
