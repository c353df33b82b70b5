/**
 * GPU telemetry as events: samples (by default at 1 Hz) only while someone listens, never runs two
 * samples at once, and splits each GPU's used memory into AIMA's own services and foreign
 * processes. Consumers subscribe; nothing polls.
 */
import type { GpuInfo, GpuProcess } from './types.js';

/** One GPU at one instant, with the processes holding its memory. */
export interface GpuSample {
  gpu: GpuInfo;
  processes: GpuProcess[];
}

export interface OwnProcessUsage {
  pid: number;
  service: string;
  usedMemoryMiB: number;
}

export interface ForeignProcessUsage {
  pid: number;
  name: string;
  usedMemoryMiB: number;
}

/** Where one GPU's used memory went. */
export interface GpuAttribution {
  uuid: string;
  index: number;
  usedMiB: number;
  totalMiB: number;
  /** Sum of AIMA's services, and each of them by service (a service may own several pids). */
  ownMiB: number;
  own: OwnProcessUsage[];
  byService: Record<string, number>;
  foreignMiB: number;
  foreign: ForeignProcessUsage[];
  /**
   * Used memory no listed process accounts for: the driver's own reservation, or processes in
   * other containers/namespaces that nvidia-smi cannot name. Never negative.
   */
  unattributedMiB: number;
}

export type TelemetryEvent =
  | { type: 'sample'; at: number; durationMs: number; gpus: GpuSample[]; attribution: GpuAttribution[] }
  | { type: 'error'; at: number; error: string };

export type TelemetryListener = (event: TelemetryEvent) => void;

export interface TelemetryOptions {
  /** Takes one sample (e.g. {@link createNvidiaSampler}). */
  sample: () => Promise<GpuSample[]>;
  /** Time between sample starts. Default 1000 ms. */
  intervalMs?: number;
  /** pid → service name for AIMA's own processes, children included (the caller owns the pid set). */
  ownPids?: () => ReadonlyMap<number, string>;
  /** Called when the last subscriber leaves: release what the sampler holds (e.g. the NVIDIA sampler's `close`). */
  onStop?: () => void;
}

export interface Telemetry {
  /** Starts sampling if this is the first listener; returns the unsubscribe function. */
  subscribe(listener: TelemetryListener): () => void;
  /** The last event, for a new subscriber's first paint. */
  readonly latest: TelemetryEvent | undefined;
  readonly running: boolean;
  readonly listenerCount: number;
  /** Detaches every listener and stops. */
  close(): void;
}

/**
 * Splits each GPU's used memory between AIMA's services (`ownPids`) and everything else.
 * Processes without a GPU UUID (older `--query-compute-apps` without gpu_uuid) are attributed to
 * the GPU only when there is exactly one GPU; otherwise which GPU they use is unknown.
 */
export function attributeGpuMemory(samples: GpuSample[], ownPids: ReadonlyMap<number, string>): GpuAttribution[] {
  return samples.map(({ gpu, processes }) => {
    const own: OwnProcessUsage[] = [];
    const foreign: ForeignProcessUsage[] = [];
    const byService: Record<string, number> = {};
    for (const p of processes) {
      const onThisGpu = p.gpuUuid ? p.gpuUuid === gpu.uuid : samples.length === 1;
      if (!onThisGpu) continue;
      const service = ownPids.get(p.pid);
      if (service !== undefined) {
        own.push({ pid: p.pid, service, usedMemoryMiB: p.usedMemoryMiB });
        byService[service] = (byService[service] ?? 0) + p.usedMemoryMiB;
      } else {
        foreign.push({ pid: p.pid, name: p.name, usedMemoryMiB: p.usedMemoryMiB });
      }
    }
    const ownMiB = own.reduce((s, p) => s + p.usedMemoryMiB, 0);
    const foreignMiB = foreign.reduce((s, p) => s + p.usedMemoryMiB, 0);
    return {
      uuid: gpu.uuid,
      index: gpu.index,
      usedMiB: gpu.memoryUsedMiB,
      totalMiB: gpu.memoryTotalMiB,
      ownMiB,
      own,
      byService,
      foreignMiB,
      foreign,
      unattributedMiB: Math.max(0, gpu.memoryUsedMiB - ownMiB - foreignMiB),
    };
  });
}

/**
 * Creates the sampler loop. The next sample is scheduled only after the current one settles
 * (setTimeout chaining, not setInterval), so a slow nvidia-smi stretches the period instead of
 * piling up processes; the period is kept when a sample is fast.
 */
export function createTelemetry(options: TelemetryOptions): Telemetry {
  const intervalMs = options.intervalMs ?? 1000;
  const listeners = new Set<TelemetryListener>();
  let timer: NodeJS.Timeout | undefined;
  let inFlight = false;
  let latest: TelemetryEvent | undefined;

  const emit = (event: TelemetryEvent) => {
    latest = event;
    for (const l of [...listeners]) {
      try {
        l(event);
      } catch {
        // A faulty listener must not stop the others or the loop.
      }
    }
  };

  const tick = async () => {
    timer = undefined;
    if (listeners.size === 0 || inFlight) return;
    inFlight = true;
    const started = Date.now();
    try {
      const gpus = await options.sample();
      const attribution = attributeGpuMemory(gpus, options.ownPids?.() ?? new Map());
      if (listeners.size > 0) emit({ type: 'sample', at: started, durationMs: Date.now() - started, gpus, attribution });
    } catch (err) {
      if (listeners.size > 0) emit({ type: 'error', at: started, error: (err as Error).message ?? String(err) });
    } finally {
      inFlight = false;
    }
    if (listeners.size > 0 && !timer) {
      timer = setTimeout(tick, Math.max(0, intervalMs - (Date.now() - started)));
    }
  };

  const stop = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    options.onStop?.();
  };

  return {
    subscribe(listener) {
      listeners.add(listener);
      // First listener: sample now rather than a period later. If a sample is still in flight
      // (a quick unsubscribe/subscribe), it reschedules itself when it settles.
      if (listeners.size === 1 && !timer && !inFlight) timer = setTimeout(tick, 0);
      let subscribed = true;
      return () => {
        if (!subscribed) return;
        subscribed = false;
        listeners.delete(listener);
        if (listeners.size === 0) stop();
      };
    },
    get latest() {
      return latest;
    },
    get running() {
      return timer !== undefined || inFlight;
    },
    get listenerCount() {
      return listeners.size;
    },
    close() {
      const wasActive = listeners.size > 0;
      listeners.clear();
      if (wasActive) stop();
    },
  };
}
