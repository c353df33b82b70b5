/** Downloads in the UI: search and repo listings on the chosen hub, and the live list of downloads (kept by `download.progress`). */
import { create } from 'zustand';
import type { DownloadStartParams, DownloadSummary, HubFiles, HubModelHit, HubSource, StarterModel } from '../../../shared/contract/index.js';
import { AimaError } from '../../../shared/errors.js';
import { invoke, on } from '../api/client.js';

interface DownloadsState {
  downloads: DownloadSummary[];
  results: HubModelHit[] | null;
  /** The hub the results came from (the repo links open there). */
  resultsSource: HubSource | null;
  searching: boolean;
  files: HubFiles | null;
  loadingFiles: boolean;
  starters: StarterModel[];
  error: { message: string; fix?: string } | null;
  load(): Promise<void>;
  search(query: string, source: HubSource): Promise<void>;
  openRepo(repo: string, source: HubSource): Promise<void>;
  start(params: DownloadStartParams): Promise<void>;
  pause(id: string): Promise<void>;
  resume(id: string): Promise<void>;
  cancel(id: string): Promise<void>;
}

const asError = (err: unknown) => (err instanceof AimaError ? { message: err.message, fix: err.fix } : { message: String(err) });

function upsert(list: DownloadSummary[], d: DownloadSummary): DownloadSummary[] {
  if (d.state === 'cancelled') return list.filter((x) => x.id !== d.id);
  const i = list.findIndex((x) => x.id === d.id);
  if (i < 0) return [...list, d];
  const next = list.slice();
  next[i] = d;
  return next;
}

export const useDownloads = create<DownloadsState>((set, get) => ({
  downloads: [],
  results: null,
  resultsSource: null,
  searching: false,
  files: null,
  loadingFiles: false,
  starters: [],
  error: null,
  async load() {
    try {
      const [downloads, starters] = await Promise.all([invoke('downloads.list', {}), invoke('hub.starters', {})]);
      set({ downloads, starters });
    } catch (err) {
      set({ error: asError(err) });
    }
  },
  async search(query, source) {
    set({ searching: true, error: null, files: null });
    try {
      set({ results: await invoke('hub.search', { query, limit: 20, source }), resultsSource: source });
    } catch (err) {
      set({ error: asError(err), results: null, resultsSource: null });
    } finally {
      set({ searching: false });
    }
  },
  async openRepo(repo, source) {
    set({ loadingFiles: true, error: null });
    try {
      set({ files: await invoke('hub.files', { repo, source }) });
    } catch (err) {
      set({ error: asError(err), files: null });
    } finally {
      set({ loadingFiles: false });
    }
  },
  async start(params) {
    set({ error: null });
    try {
      const d = await invoke('downloads.start', params);
      set({ downloads: upsert(get().downloads, d) });
    } catch (err) {
      set({ error: asError(err) });
    }
  },
  async pause(id) {
    try {
      const d = await invoke('downloads.pause', { id });
      set({ downloads: upsert(get().downloads, d) });
    } catch (err) {
      set({ error: asError(err) });
    }
  },
  async resume(id) {
    try {
      const d = await invoke('downloads.resume', { id });
      set({ downloads: upsert(get().downloads, d) });
    } catch (err) {
      set({ error: asError(err) });
    }
  },
  async cancel(id) {
    try {
      await invoke('downloads.cancel', { id });
      set({ downloads: get().downloads.filter((d) => d.id !== id) });
    } catch (err) {
      set({ error: asError(err) });
    }
  },
}));

on('download.progress', (d) => useDownloads.setState((s) => ({ downloads: upsert(s.downloads, d) })));
