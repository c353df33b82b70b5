/**
 * Services in the UI: the list kept live by `services.changed`, the engine catalog, the log of the
 * service whose viewer is open (followed with `services.log`), and the actions (create, start,
 * stop, restart, remove). A toggle shows the truth: it follows the state the core reports, never
 * the click.
 */
import { create } from 'zustand';
import type { EngineSummary, ServiceCreateParams, ServiceSummary } from '../../../shared/contract/index.js';
import { AimaError } from '../../../shared/errors.js';
import { invoke, on } from '../api/client.js';

/** Lines kept in the viewer; older ones scroll away. */
const MAX_LOG_LINES = 2000;

interface ServicesState {
  services: ServiceSummary[];
  loaded: boolean;
  engines: EngineSummary[];
  /** Service names with a start/stop/restart/remove call in flight. */
  busy: Record<string, boolean>;
  error: { message: string; fix?: string } | null;
  notice: string | null;
  /** Image pulls in progress, by service name (from `operation.progress`). */
  pulls: Record<string, { done: number; total: number | null; message?: string }>;
  /** The service whose log viewer is open, and its lines. */
  logOf: string | null;
  logLines: string[];
  load(): Promise<void>;
  loadEngines(): Promise<void>;
  create(params: ServiceCreateParams): Promise<boolean>;
  setRunning(name: string, running: boolean): Promise<void>;
  restart(name: string): Promise<void>;
  /** Pinned services are never stopped to make room or for idleness. */
  setPinned(name: string, pinned: boolean): Promise<void>;
  remove(name: string): Promise<void>;
  openLog(name: string | null): Promise<void>;
  dismiss(): void;
}

const asError = (err: unknown) => (err instanceof AimaError ? { message: err.message, fix: err.fix } : { message: String(err) });

export const useServices = create<ServicesState>((set, get) => {
  /** Runs one call for a service, marking it busy and reporting a failure in the banner. */
  const act = async (name: string, fn: () => Promise<unknown>, notice?: string) => {
    set((s) => ({ busy: { ...s.busy, [name]: true }, error: null, notice: null }));
    try {
      await fn();
      if (notice) set({ notice });
    } catch (err) {
      set({ error: asError(err) });
    } finally {
      set((s) => {
        const busy = { ...s.busy };
        delete busy[name];
        return { busy };
      });
    }
  };

  return {
    services: [],
    loaded: false,
    engines: [],
    busy: {},
    pulls: {},
    error: null,
    notice: null,
    logOf: null,
    logLines: [],
    async load() {
      try {
        set({ services: await invoke('services.list', {}), loaded: true });
      } catch (err) {
        set({ error: asError(err), loaded: true });
      }
    },
    async loadEngines() {
      try {
        set({ engines: (await invoke('engines.list', {})).engines });
      } catch (err) {
        set({ error: asError(err) });
      }
    },
    async create(params) {
      set({ error: null, notice: null });
      try {
        const s = await invoke('services.create', params);
        set({ notice: `Created "${s.name}". Switch it on to start it.` });
        await get().load();
        return true;
      } catch (err) {
        set({ error: asError(err) });
        return false;
      }
    },
    async setRunning(name, running) {
      await act(name, () => (running ? invoke('services.start', { name }) : invoke('services.stop', { name })));
    },
    async restart(name) {
      await act(name, () => invoke('services.restart', { name }));
    },
    async setPinned(name, pinned) {
      await act(name, () => invoke('services.update', { name, pinned }));
    },
    async remove(name) {
      await act(name, () => invoke('services.remove', { name }), `Removed "${name}".`);
      if (get().logOf === name) set({ logOf: null, logLines: [] });
    },
    async openLog(name) {
      set({ logOf: name, logLines: [] });
      if (!name) return;
      try {
        const logs = await invoke('services.logs', { name, lines: 500 });
        // Lines that arrived by event while the call was in flight are kept after the snapshot.
        if (get().logOf === name) set((s) => ({ logLines: dedupeTail(logs.lines, s.logLines) }));
      } catch (err) {
        set({ error: asError(err) });
      }
    },
    dismiss() {
      set({ error: null, notice: null });
    },
  };
});

/** Appends `more` to `base`, dropping a prefix of `more` that `base` already ends with. */
function dedupeTail(base: string[], more: string[]): string[] {
  let overlap = Math.min(base.length, more.length);
  while (overlap > 0 && !sameRun(base, base.length - overlap, more, overlap)) overlap--;
  return [...base, ...more.slice(overlap)].slice(-MAX_LOG_LINES);
}

function sameRun(a: string[], from: number, b: string[], n: number): boolean {
  for (let i = 0; i < n; i++) if (a[from + i] !== b[i]) return false;
  return true;
}

on('services.changed', (services) => useServices.setState({ services, loaded: true }));
on('services.log', ({ name, lines }) => {
  if (useServices.getState().logOf !== name) return;
  useServices.setState((s) => ({ logLines: [...s.logLines, ...lines].slice(-MAX_LOG_LINES) }));
});
/** The Docker runtime labels its pulls "Pulling the image for <service>". */
const PULL_LABEL = /^Pulling the image for (.+)$/;
on('operation.progress', (p) => {
  const name = PULL_LABEL.exec(p.label)?.[1];
  if (!name) return;
  useServices.setState((s) => {
    const pulls = { ...s.pulls };
    if (p.phase === 'running') pulls[name] = { done: p.done, total: p.total, message: p.message };
    else delete pulls[name];
    return { pulls };
  });
});
