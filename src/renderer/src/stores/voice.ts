/**
 * The Voice page's state: the chain config, conversations (the selected one is resumed by the
 * next session), microphones, the mode (hands-free or push-to-talk), the live session's turns and
 * state, the services being started from the page, and the last error with what to do.
 */
import { create } from 'zustand';
import type { VoiceConfig, VoiceConversation, VoiceRecordingUsage, VoiceTurn } from '../../../shared/contract/index.js';
import { AimaError } from '../../../shared/errors.js';
import { invoke, on } from '../api/client.js';
import { listMicrophones } from '../features/voice/capture.js';
import { LiveSession } from '../features/voice/live-session.js';
import type { TurnView } from '../features/voice/voice-client.js';
import type { VoiceTurnState } from '../../../shared/voice-turn-state.js';

type ErrorInfo = { message: string; fix?: string };
const asError = (err: unknown): ErrorInfo => (err instanceof AimaError ? { message: err.message, fix: err.fix } : { message: (err as Error)?.message ?? String(err) });

interface VoiceState {
  config: VoiceConfig | null;
  conversations: VoiceConversation[];
  /** Space the recorded turns take (and whether recording is on). */
  recordingUsage: VoiceRecordingUsage | null;
  /** The conversation shown and resumed by Start; null: Start begins a new one. */
  conversationId: string | null;
  /** Its stored turns, as loaded when it was opened. */
  history: VoiceTurn[];
  mics: { id: string; label: string }[];
  micId: string;
  handsFree: boolean;
  /** Push-to-talk button held. */
  talking: boolean;
  session: 'off' | 'starting' | 'on';
  coreState: VoiceTurnState;
  turns: TurnView[];
  /** Speculative replies dropped unseen since the last turn began (the user spoke on). */
  speculationsDiscarded: number;
  level: number;
  error: ErrorInfo | null;
  /** Services started from this page: the latest progress line of each. */
  starting: Record<string, string>;
  load(): Promise<void>;
  loadConversations(): Promise<void>;
  openConversation(id: string | null): Promise<void>;
  deleteConversation(id: string): Promise<void>;
  setVoice(voice: string): Promise<void>;
  setMic(id: string): void;
  setHandsFree(on: boolean): void;
  setTalking(on: boolean): void;
  start(): Promise<void>;
  stop(): void;
  cancelTurn(): void;
  startService(name: string): Promise<void>;
  cancelServiceStart(name: string): Promise<void>;
  dismiss(): void;
}

let live: LiveSession | null = null;
/** Operation ids of service starts, so their progress lines land on the right service. */
const operations = new Map<string, string>();

export const useVoice = create<VoiceState>((set, get) => ({
  config: null,
  conversations: [],
  recordingUsage: null,
  conversationId: null,
  history: [],
  mics: [],
  micId: '',
  handsFree: true,
  talking: false,
  session: 'off',
  coreState: 'listening',
  turns: [],
  speculationsDiscarded: 0,
  level: 0,
  error: null,
  starting: {},
  async load() {
    try {
      const [config, conversations, mics, recordingUsage] = await Promise.all([
        invoke('voice.config.get', {}),
        invoke('voice.conversations.list', {}),
        listMicrophones().catch(() => []),
        invoke('voice.recordings.usage', {}),
      ]);
      set({ config, conversations, mics, recordingUsage });
    } catch (err) {
      set({ error: asError(err) });
    }
  },
  async loadConversations() {
    try {
      const [conversations, recordingUsage] = await Promise.all([invoke('voice.conversations.list', {}), invoke('voice.recordings.usage', {})]);
      set({ conversations, recordingUsage });
    } catch (err) {
      set({ error: asError(err) });
    }
  },
  async openConversation(id) {
    get().stop();
    if (!id) return set({ conversationId: null, history: [], turns: [] });
    try {
      const c = await invoke('voice.conversations.get', { id });
      set({ conversationId: id, history: c.turns, turns: [], error: null });
    } catch (err) {
      set({ error: asError(err) });
    }
  },
  async deleteConversation(id) {
    try {
      await invoke('voice.conversations.delete', { id });
      if (get().conversationId === id) await get().openConversation(null);
      await get().loadConversations();
    } catch (err) {
      set({ error: asError(err) });
    }
  },
  async setVoice(voice) {
    try {
      set({ config: await invoke('voice.config.set', { voice: voice.trim() || null }) });
    } catch (err) {
      set({ error: asError(err) });
    }
  },
  setMic(id) {
    set({ micId: id });
  },
  setHandsFree(on) {
    set({ handsFree: on, talking: false });
    live?.setTransmitting(on);
  },
  setTalking(on) {
    const s = get();
    if (s.handsFree || s.talking === on) return;
    set({ talking: on });
    if (!live) return;
    if (on) {
      live.interruptIfPlaying();
      live.setTransmitting(true);
    } else {
      live.setTransmitting(false);
      // Releasing the button ends the utterance now, instead of waiting for the silence window.
      live.endInput();
    }
  },
  async start() {
    const s = get();
    if (s.session !== 'off') return;
    set({ session: 'starting', error: null, talking: false });
    let lastError: string | null = null;
    try {
      live = await LiveSession.open({
        deviceId: s.micId,
        conversationId: s.conversationId ?? undefined,
        transmitting: s.handsFree,
        onChange: (client) => {
          const wasNew = get().conversationId === null && client.conversationId !== null;
          const finished = client.turns.filter((t) => t.done).length > get().turns.filter((t) => t.done).length;
          set({
            session: client.phase === 'ready' ? 'on' : get().session,
            coreState: client.coreState,
            turns: client.turns,
            speculationsDiscarded: client.speculationsDiscarded,
            conversationId: client.conversationId ?? get().conversationId,
            ...(client.error && client.error !== lastError ? { error: { message: client.error } } : {}),
          });
          lastError = client.error;
          if (wasNew || finished) void get().loadConversations();
        },
        onLevel: (level) => set({ level }),
        onClosed: (message) => {
          live = null;
          set({ session: 'off', talking: false, level: 0, ...(message ? { error: { message } } : {}) });
        },
      });
      // Labels of the microphones are only listed once permission was given.
      void listMicrophones().then((mics) => set({ mics }));
    } catch (err) {
      live = null;
      set({ session: 'off', error: asError(err) });
    }
  },
  stop() {
    const l = live;
    live = null;
    l?.close();
    set({ session: 'off', talking: false, level: 0, coreState: 'listening' });
  },
  cancelTurn() {
    live?.cancel();
  },
  async startService(name) {
    const operationId = crypto.randomUUID();
    operations.set(operationId, name);
    set((s) => ({ starting: { ...s.starting, [name]: 'Starting…' }, error: null }));
    try {
      const r = await invoke('services.start', { name, wait: true, timeoutMs: 600_000, operationId });
      if (r.state !== 'running') set({ error: { message: `${name} did not start: ${r.reason ?? r.state}.`, fix: 'See its log on the Services page.' } });
    } catch (err) {
      set({ error: asError(err) });
    } finally {
      operations.delete(operationId);
      set((s) => {
        const starting = { ...s.starting };
        delete starting[name];
        return { starting };
      });
    }
  },
  async cancelServiceStart(name) {
    try {
      await invoke('services.stop', { name });
    } catch (err) {
      set({ error: asError(err) });
    }
  },
  dismiss() {
    set({ error: null });
  },
}));

on('operation.progress', (p) => {
  const name = operations.get(p.id);
  if (!name || p.phase !== 'running') return;
  const pct = p.total ? ` ${Math.round((100 * p.done) / p.total)}%` : '';
  useVoice.setState((s) => ({ starting: { ...s.starting, [name]: `${p.message ?? p.label}${pct}` } }));
});
