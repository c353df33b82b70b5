/**
 * Prometheus metrics of the gateway (prom-client, its own registry so tests and several cores in
 * one process never share counters): requests, latency, time to first token, tokens/s and the
 * queue, per model.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface QueueView {
  model: string;
  queued: number;
  inFlight: number;
}

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'model' | 'endpoint' | 'status'>;
  readonly duration: Histogram<'model' | 'endpoint'>;
  readonly ttft: Histogram<'model'>;
  readonly tokensPerSecond: Histogram<'model'>;
  readonly tokens: Counter<'model'>;

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
    this.child(`r\0${model}\0${endpoint}\0${status}`, () => this.requests.labels({ model, endpoint, status: String(status) })).inc();
    if (model && seconds !== null) this.child(`d\0${model}\0${endpoint}`, () => this.duration.labels({ model, endpoint })).observe(seconds);
  }

  /** What a forwarded answer produced. */
  generation(model: string, ttftSeconds: number | null, tokens: number | null, tokensPerSecond: number | null): void {
    if (ttftSeconds !== null) this.child(`t\0${model}`, () => this.ttft.labels({ model })).observe(ttftSeconds);
    if (tokens) this.child(`n\0${model}`, () => this.tokens.labels({ model })).inc(tokens);
    if (tokensPerSecond) this.child(`s\0${model}`, () => this.tokensPerSecond.labels({ model })).observe(tokensPerSecond);
  }

  constructor(queues: () => QueueView[]) {
    const registers = [this.registry];
    this.requests = new Counter({ name: 'aima_gateway_requests_total', help: 'Requests answered by the gateway', labelNames: ['model', 'endpoint', 'status'], registers });
    this.duration = new Histogram({
      name: 'aima_gateway_request_duration_seconds',
      help: 'Time from request to the end of the response',
      labelNames: ['model', 'endpoint'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    });
    this.ttft = new Histogram({
      name: 'aima_gateway_time_to_first_token_seconds',
      help: 'Time from request to the first streamed byte of the answer',
      labelNames: ['model'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
      registers,
    });
    this.tokensPerSecond = new Histogram({
      name: 'aima_gateway_tokens_per_second',
      help: 'Generated tokens per second of generation time, per request',
      labelNames: ['model'],
      buckets: [1, 5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560],
      registers,
    });
    this.tokens = new Counter({ name: 'aima_gateway_generated_tokens_total', help: 'Generated tokens', labelNames: ['model'], registers });
    new Gauge({
      name: 'aima_gateway_queue_depth',
      help: 'Requests waiting for a slot',
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
  }
}
