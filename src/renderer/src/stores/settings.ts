/** Settings as the UI sees them: loaded from the core, updated through it, kept live by its event. */
import { create } from 'zustand';
import type { Settings, SettingsPatch } from '../../../shared/contract/index.js';
import { invoke, on } from '../api/client.js';
import { AimaError } from '../../../shared/errors.js';

interface SettingsState {
  settings: Settings | null;
  error: string | null;
  saving: boolean;
  savedAt: number | null;
  load(): Promise<void>;
  update(patch: SettingsPatch): Promise<void>;
}

export const useSettings = create<SettingsState>((set) => ({
  settings: null,
  error: null,
  saving: false,
  savedAt: null,
  async load() {
    try {
      set({ settings: await invoke('settings.get', {}), error: null });
    } catch (err) {
      set({ error: err instanceof AimaError ? err.message : String(err) });
    }
  },
  async update(patch) {
    // Optimistic: the control shows the new value at once; a refused change is reverted below.
    const before = useSettings.getState().settings;
    set({ saving: true, settings: before ? { ...before, ...patch } : before });
    try {
      const settings = await invoke('settings.update', patch);
      set({ settings, error: null, saving: false, savedAt: Date.now() });
    } catch (err) {
      set({ error: err instanceof AimaError ? `${err.message} ${err.fix ?? ''}` : String(err), saving: false, settings: before });
    }
  },
}));

on('settings.changed', (settings) => useSettings.setState({ settings }));
