/**
 * Setting up the voice chain from the Voice page: the choices per link, the core's plan for them
 * (voice.plan: each link's device and memory, the total against what is free, the verdict), and
 * the setup itself (voice.setup: create and start the services) with its progress and Cancel.
 * The plan is asked again whenever the choices, the library or the services change.
 */
import { create } from 'zustand';
import type { EngineSummary, ModelSummary, OperationProgress, VoicePlan, VoicePlanParams, VoiceRole } from '../../../shared/contract/index.js';
import { AimaError } from '../../../shared/errors.js';
import { invoke, on } from '../api/client.js';
import { useVoice } from './voice.js';

type ErrorInfo = { message: string; fix?: string };
const asError = (err: unknown): ErrorInfo => (err instanceof AimaError ? { message: err.message, fix: err.fix } : { message: (err as Error)?.message ?? String(err) });

const ENGINE_OF: Record<VoiceRole, string> = { asr: 'aima-asr', llm: 'aima-llm', tts: 'aima-tts' };

interface VoiceSetupState {
  /** The setup card is open (always while the chain has an unset link). */
  open: boolean;
  choices: VoicePlanParams;
  models: ModelSummary[];
  engines: EngineSummary[];
  plan: VoicePlan | null;
  planning: boolean;
  /** The plan's refusal of the choices (a bad choice), or the setup's error. */
  error: ErrorInfo | null;
  running: { operationId: string; progress: OperationProgress | null } | null;
  notice: string | null;
  show(open: boolean): void;
  load(): Promise<void>;
  choose(patch: VoicePlanParams): void;
  replan(): Promise<void>;
  apply(force?: boolean): Promise<void>;
  cancel(): Promise<void>;
}

/** Library models the embedded engine of `role` can serve: its kind, a format the engine takes, no missing files. */
export function compatibleModels(role: VoiceRole, models: readonly ModelSummary[], engines: readonly EngineSummary[]): ModelSummary[] {
  const engine = engines.find((e) => e.id === ENGINE_OF[role]);
  return models.filter((m) => m.kind === role && m.missing.length === 0 && (engine?.modelFormats.includes(m.format) ?? false));
}

let planSeq = 0;

export const useVoiceSetup = create<VoiceSetupState>((set, get) => ({
  open: false,
  choices: {},
  models: [],
  engines: [],
  plan: null,
  planning: false,
  error: null,
  running: null,
  notice: null,
  show(open) {
    set({ open, ...(open ? { notice: null } : {}) });
  },
  async load() {
    try {
      const [models, engines] = await Promise.all([invoke('models.list', {}), invoke('engines.list', {})]);
      set({ models, engines: engines.engines });
    } catch (err) {
      set({ error: asError(err) });
    }
    await get().replan();
  },
  choose(patch) {
    const choices = { ...get().choices, ...patch };
    for (const k of Object.keys(choices) as (keyof VoicePlanParams)[]) if (choices[k] === undefined || choices[k] === '') delete choices[k];
    set({ choices });
    void get().replan();
  },
  async replan() {
    const seq = ++planSeq;
    set({ planning: true });
    try {
      const plan = await invoke('voice.plan', get().choices);
      if (seq === planSeq) set({ plan, error: null });
    } catch (err) {
      if (seq === planSeq) set({ plan: null, error: asError(err) });
    } finally {
      if (seq === planSeq) set({ planning: false });
    }
  },
  async apply(force = false) {
    if (get().running) return;
    const operationId = crypto.randomUUID();
    set({ running: { operationId, progress: null }, error: null, notice: null });
    try {
      const r = await invoke('voice.setup', { ...get().choices, start: true, operationId, ...(force ? { force: true } : {}) });
      set({ open: false, choices: {}, notice: `Voice chain set up${r.started.length ? `: started ${r.started.join(', ')}` : ''}.` });
      await useVoice.getState().load();
    } catch (err) {
      set({ error: asError(err) });
      await useVoice.getState().load();
      void get().replan();
    } finally {
      set({ running: null });
    }
  },
  async cancel() {
    const r = get().running;
    if (!r) return;
    try {
      await invoke('operations.cancel', { id: r.operationId });
    } catch (err) {
      set({ error: asError(err) });
    }
  },
}));

on('operation.progress', (p) => {
  const r = useVoiceSetup.getState().running;
  if (r && p.id === r.operationId) useVoiceSetup.setState({ running: { ...r, progress: p } });
});
// A download finished (a starter model imported), a service changed: the plan may be different now.
on('models.changed', (models) => {
  if (!useVoiceSetup.getState().open) return;
  useVoiceSetup.setState({ models });
  void useVoiceSetup.getState().replan();
});
on('services.changed', () => {
  const s = useVoiceSetup.getState();
  if (s.open && !s.running) void s.replan();
});
