/** The model library in the UI: list kept live by `models.changed`, import with progress and cancel. */
import { create } from 'zustand';
import type { ImportMode, ModelKind, ModelSummary, OperationProgress } from '../../../shared/contract/index.js';
import { AimaError } from '../../../shared/errors.js';
import { invoke, on } from '../api/client.js';

export interface ImportForm {
  path: string;
  name: string;
  kind: ModelKind | '';
  mode: ImportMode;
}

interface ModelsState {
  models: ModelSummary[];
  loaded: boolean;
  selected: string | null;
  importing: { operationId: string; progress: OperationProgress | null } | null;
  error: { message: string; fix?: string } | null;
  notice: string | null;
  load(): Promise<void>;
  select(name: string | null): void;
  importModel(form: ImportForm): Promise<void>;
  cancelImport(): Promise<void>;
  remove(name: string): Promise<void>;
  rename(name: string, newName: string): Promise<void>;
}

const asError = (err: unknown) => (err instanceof AimaError ? { message: err.message, fix: err.fix } : { message: String(err) });

export const useModels = create<ModelsState>((set, get) => ({
  models: [],
  loaded: false,
  selected: null,
  importing: null,
  error: null,
  notice: null,
  async load() {
    try {
      set({ models: await invoke('models.list', {}), loaded: true });
    } catch (err) {
      set({ error: asError(err), loaded: true });
    }
  },
  select(name) {
    set({ selected: name });
  },
  async importModel(form) {
    const operationId = crypto.randomUUID();
    set({ importing: { operationId, progress: null }, error: null, notice: null });
    try {
      const model = await invoke('models.import', {
        path: form.path.trim(),
        name: form.name.trim() || undefined,
        kind: form.kind || undefined,
        mode: form.mode,
        operationId,
      });
      set({ selected: model.name, notice: `Imported "${model.name}".` });
      await get().load();
    } catch (err) {
      set({ error: asError(err) });
    } finally {
      set({ importing: null });
    }
  },
  async cancelImport() {
    const op = get().importing;
    if (op) await invoke('operations.cancel', { id: op.operationId });
  },
  async remove(name) {
    try {
      const r = await invoke('models.remove', { name });
      set({ selected: null, error: null, notice: r.deletedFiles ? `Removed "${name}" and deleted its copy.` : `Removed "${name}"; its files stay at ${r.path}.` });
    } catch (err) {
      set({ error: asError(err) });
    }
  },
  async rename(name, newName) {
    try {
      const m = await invoke('models.rename', { name, newName });
      set({ selected: m.name, error: null, notice: `Renamed to "${m.name}".` });
    } catch (err) {
      set({ error: asError(err) });
    }
  },
}));

on('models.changed', (models) => useModels.setState({ models }));
on('operation.progress', (progress) => {
  const op = useModels.getState().importing;
  if (op && op.operationId === progress.id) useModels.setState({ importing: { ...op, progress } });
});
