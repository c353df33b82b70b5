/** The nodes in the UI: the list (kept live by `nodes.changed`), add with its checks (each step shown, cancellable), a node's cluster link, remove. */
import { create } from 'zustand';
import type { NodeSummary, OperationProgress } from '../../../shared/contract/index.js';
import { AimaError } from '../../../shared/errors.js';
import { invoke, on } from '../api/client.js';

export interface NodeForm {
  name: string;
  docker: string;
  tlsDir: string;
}

export interface ClusterLinkForm {
  address: string;
  iface: string;
}

interface NodesState {
  nodes: NodeSummary[];
  loaded: boolean;
  /** Adding or refreshing: the engine is being asked. */
  busy: boolean;
  /** The add under way: its operation id (for Cancel) and its last step. */
  adding: { operationId: string; progress: OperationProgress | null } | null;
  error: { message: string; fix?: string } | null;
  load(refresh?: boolean): Promise<void>;
  add(form: NodeForm): Promise<boolean>;
  /** Cancels the add under way; nothing is saved. */
  cancelAdd(): Promise<void>;
  /** Sets a node's cluster link; an empty address clears it. */
  setLink(name: string, link: ClusterLinkForm): Promise<boolean>;
  remove(name: string): Promise<void>;
}

const asError = (err: unknown) => (err instanceof AimaError ? { message: err.message, fix: err.fix } : { message: String(err) });

export const useNodes = create<NodesState>((set, get) => ({
  nodes: [],
  loaded: false,
  busy: false,
  adding: null,
  error: null,
  async load(refresh = false) {
    set({ busy: refresh });
    try {
      set({ nodes: await invoke('nodes.list', { refresh }), loaded: true });
    } catch (err) {
      set({ error: asError(err), loaded: true });
    } finally {
      set({ busy: false });
    }
  },
  async add(form) {
    const operationId = crypto.randomUUID();
    set({ busy: true, error: null, adding: { operationId, progress: null } });
    try {
      await invoke('nodes.add', { name: form.name.trim(), docker: form.docker.trim(), ...(form.tlsDir.trim() ? { tlsDir: form.tlsDir.trim() } : {}), operationId });
      await get().load();
      return true;
    } catch (err) {
      set({ error: asError(err) });
      return false;
    } finally {
      set({ busy: false, adding: null });
    }
  },
  async cancelAdd() {
    const op = get().adding;
    if (op) await invoke('operations.cancel', { id: op.operationId });
  },
  async setLink(name, link) {
    set({ error: null });
    try {
      // The list follows through `nodes.changed`.
      await invoke('nodes.set', { name, clusterAddress: link.address, clusterInterface: link.iface });
      return true;
    } catch (err) {
      set({ error: asError(err) });
      return false;
    }
  },
  async remove(name) {
    set({ error: null });
    try {
      await invoke('nodes.remove', { name });
      await get().load();
    } catch (err) {
      set({ error: asError(err) });
    }
  },
}));

on('nodes.changed', (nodes) => useNodes.setState({ nodes }));
on('operation.progress', (progress) => {
  const op = useNodes.getState().adding;
  if (op && op.operationId === progress.id) useNodes.setState({ adding: { ...op, progress } });
});
