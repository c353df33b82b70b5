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
