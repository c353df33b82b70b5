/**
 * Hardware in the UI: the detection report, plus live telemetry while the Dashboard is open. The
 * page calls `start` on mount and `stop` on unmount; `start` opens a `hardware.watch` lease and
 * renews it, `stop` closes it at once (a closed tab just stops renewing, and the core stops
 * sampling when the lease lapses). The last minute of samples is kept for the charts.
 */
import { create } from 'zustand';
import type { HardwareReport, HardwareSample } from '../../../shared/contract/index.js';
import { AimaError } from '../../../shared/errors.js';
import { invoke, on } from '../api/client.js';

export type LiveSample = Extract<HardwareSample, { type: 'sample' }>;

/** Seconds of history the charts show. */
export const HISTORY_SECONDS = 60;

export interface Series {
  /** Epoch seconds (uPlot's time unit). */
  t: number[];
  v: number[];
}
export interface GpuHistory {
  util: Series;
  vram: Series;
  temp: Series;
  power: Series;
}

interface HardwareState {
  report: HardwareReport | null;
  loading: boolean;
  error: { message: string; fix?: string } | null;
  latest: LiveSample | null;
  /** The last telemetry error (a failing driver), cleared by the next good sample. */
  sampleError: string | null;
  gpuHistory: Record<string, GpuHistory>;
  cpuHistory: Series;
  ramHistory: Series;
  watching: boolean;
  loadReport(): Promise<void>;
  start(): void;
  stop(): void;
}

const empty = (): Series => ({ t: [], v: [] });
const push = (s: Series, t: number, v: number | undefined): Series => {
  if (v === undefined) return s;
  const keep = s.t.findIndex((x) => x > t - HISTORY_SECONDS);
  const from = keep === -1 ? s.t.length : keep;
  return { t: [...s.t.slice(from), t], v: [...s.v.slice(from), v] };
};

const asError = (err: unknown) => (err instanceof AimaError ? { message: err.message, fix: err.fix } : { message: String(err) });

// The watch session lives outside React state: timers and the lease id are not for rendering.
let users = 0;
let session: { leaseId: string | null; renew: ReturnType<typeof setInterval> | null; off: () => void; closed: boolean } | null = null;

export const useHardware = create<HardwareState>((set, get) => ({
  report: null,
  loading: false,
  error: null,
  latest: null,
  sampleError: null,
  gpuHistory: {},
  cpuHistory: empty(),
  ramHistory: empty(),
  watching: false,

  async loadReport() {
    set({ loading: true });
    try {
      set({ report: await invoke('hardware.report', {}), error: null });
    } catch (err) {
      set({ error: asError(err) });
    } finally {
      set({ loading: false });
    }
  },

  start() {
    users++;
    if (session) return;
    const s = { leaseId: null as string | null, renew: null as ReturnType<typeof setInterval> | null, off: () => {}, closed: false };
    session = s;
    s.off = on('hardware.sample', (e) => (e.type === 'sample' ? onSample(e) : set({ sampleError: e.error })));
    set({ watching: true });
    void get().loadReport();
    invoke('hardware.watch', {})
      .then((lease) => {
        if (s.closed) {
          void invoke('hardware.unwatch', { leaseId: lease.leaseId }).catch(() => {});
          return;
        }
        s.leaseId = lease.leaseId;
        s.renew = setInterval(() => {
          invoke('hardware.watch', { leaseId: lease.leaseId }).catch(() => {});
        }, lease.renewEveryMs);
      })
      .catch((err) => set({ error: asError(err) }));
  },

  stop() {
    users = Math.max(0, users - 1);
    if (users > 0 || !session) return;
    const s = session;
    session = null;
    s.closed = true;
    s.off();
    if (s.renew) clearInterval(s.renew);
    if (s.leaseId) void invoke('hardware.unwatch', { leaseId: s.leaseId }).catch(() => {});
    set({ watching: false });
  },
}));

function onSample(e: LiveSample): void {
  const t = e.at / 1000;
  const st = useHardware.getState();
  const gpuHistory: Record<string, GpuHistory> = {};
  for (const g of e.gpus) {
    const h = st.gpuHistory[g.uuid] ?? { util: empty(), vram: empty(), temp: empty(), power: empty() };
    gpuHistory[g.uuid] = {
      util: push(h.util, t, g.utilizationGpu),
      vram: push(h.vram, t, g.memoryTotalMiB > 0 ? (100 * g.memoryUsedMiB) / g.memoryTotalMiB : undefined),
      temp: push(h.temp, t, g.temperatureC),
      power: push(h.power, t, g.powerDrawW),
    };
  }
  useHardware.setState({
    latest: e,
    sampleError: null,
    gpuHistory,
    cpuHistory: push(st.cpuHistory, t, e.cpuPercent),
    ramHistory: push(st.ramHistory, t, e.memory.totalBytes > 0 ? (100 * (e.memory.totalBytes - e.memory.availableBytes)) / e.memory.totalBytes : undefined),
  });
}
