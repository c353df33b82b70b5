/**
 * The services' and GPUs' part of `/metrics`: each service's state, crash restarts, evictions and
 * idle unloads, its measured memory (RSS, VRAM per GPU), and each GPU's memory and utilisation.
 * Read at scrape time (measurements are shared with placements for about a second), so nothing
 * samples in the background for them.
 */
import type * as PromClient from 'prom-client';
import type { Registry } from 'prom-client';
import type { GpuInfo } from '../../shared/contract/hardware.js';
import type { ServiceSummary } from '../../shared/contract/services.js';
import { servicePhases } from '../../shared/service-state.js';

export interface ServiceMetricsSource {
  services(): ServiceSummary[];
  /** Measured memory per service name. */
  memory(): Promise<Map<string, { rssBytes: number | null; vramBytes: Record<number, number> | null }>>;
  /** The GPUs' figures now, or null where none can be read. */
  gpus(): Promise<GpuInfo[] | null>;
  idleUnloads(service: string): number;
}

const MiB = 1024 * 1024;

/** Registers the services' and GPUs' instruments on `registry`. */
export function registerServiceMetrics(registry: Registry, prom: typeof PromClient, src: ServiceMetricsSource): void {
  const registers = [registry];
  const { Gauge, Counter } = prom;
  new Gauge({
    name: 'aima_service_state',
    help: 'Service state: 1 for the state it is in, 0 for the others',
    labelNames: ['service', 'state'],
    registers,
    collect() {
      this.reset();
      for (const s of src.services()) for (const state of servicePhases) this.set({ service: s.name, state }, s.state === state ? 1 : 0);
    },
  });
  new Gauge({
    name: 'aima_service_restarts',
    help: 'Crashes in a row since the last stable run (each followed by a restart)',
    labelNames: ['service'],
    registers,
    collect() {
      this.reset();
      for (const s of src.services()) this.set({ service: s.name }, s.restarts);
    },
  });
  new Counter({
    name: 'aima_service_evictions_total',
    help: 'Times a service was stopped to make room for another, since the core started',
    labelNames: ['service'],
    registers,
    collect() {
      this.reset();
      for (const s of src.services()) this.inc({ service: s.name }, s.evictions);
    },
  });
  new Counter({
    name: 'aima_service_idle_unloads_total',
    help: 'Times a service was stopped after its idle TTL, since the core started',
    labelNames: ['service'],
    registers,
    collect() {
      this.reset();
      for (const s of src.services()) this.inc({ service: s.name }, src.idleUnloads(s.name));
    },
  });
  new Gauge({
    name: 'aima_service_memory_rss_bytes',
    help: "Resident memory of a service's processes (with their children), measured at scrape time",
    labelNames: ['service'],
    registers,
    async collect() {
      const m = await src.memory();
      this.reset();
      for (const [service, v] of m) if (v.rssBytes !== null) this.set({ service }, v.rssBytes);
    },
  });
  new Gauge({
    name: 'aima_service_memory_vram_bytes',
    help: "GPU memory a service's processes hold, per GPU (nvidia-smi's per-process figures)",
    labelNames: ['service', 'gpu'],
    registers,
    async collect() {
      const m = await src.memory();
      this.reset();
      for (const [service, v] of m) for (const [gpu, bytes] of Object.entries(v.vramBytes ?? {})) this.set({ service, gpu }, bytes);
    },
  });
  const gpuGauge = (name: string, help: string, value: (g: GpuInfo) => number | undefined) =>
    new Gauge({
      name,
      help,
      labelNames: ['gpu', 'name'],
      registers,
      async collect() {
        const gpus = (await src.gpus()) ?? [];
        this.reset();
        for (const g of gpus) {
          const v = value(g);
          if (v !== undefined) this.set({ gpu: String(g.index), name: g.name }, v);
        }
      },
    });
  gpuGauge('aima_gpu_memory_used_bytes', 'GPU memory in use (all processes)', (g) => g.memoryUsedMiB * MiB);
  gpuGauge('aima_gpu_memory_total_bytes', 'GPU memory in all', (g) => g.memoryTotalMiB * MiB);
  gpuGauge('aima_gpu_utilization_percent', 'GPU utilisation, percent', (g) => g.utilizationGpu);
}
