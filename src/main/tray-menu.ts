/**
 * The tray menu as data, built by a pure function from the app's state so it can be tested
 * without Electron; tray.ts turns it into an Electron Menu. Each service appears with its state
 * and one Start or Stop action; "Start all" / "Stop all" act on every service that can take it.
 */
import type { ServicePhase } from '../shared/service-state.js';

/** What the tray needs to know about one service (a ServiceSummary satisfies it). */
export interface TrayService {
  name: string;
  state: ServicePhase;
  /** Why it is failed/crashed; shown shortened. */
  reason: string | null;
}

export interface TrayState {
  windowVisible: boolean;
  /** Where the core runs: in this app, or attached to `aima serve`. */
  coreHost: 'self' | 'attached';
  coreUrl: string | null;
  /** Services in the order to show them; omitted or empty: "No services". */
  services?: TrayService[];
}

export type TrayAction =
  | { type: 'show-window' }
  | { type: 'hide-window' }
  | { type: 'open-in-browser' }
  | { type: 'quit' }
  | { type: 'start-service'; name: string }
  | { type: 'stop-service'; name: string }
  | { type: 'start-all'; names: string[] }
  | { type: 'stop-all'; names: string[] };

export type TrayItem =
  | { kind: 'action'; label: string; action: TrayAction; enabled: boolean }
  | { kind: 'label'; label: string }
  | { kind: 'separator' };

/** A service that has (or is getting) a process: its action is Stop. */
function isUp(state: ServicePhase): boolean {
  return state === 'starting' || state === 'loading' || state === 'running' || state === 'backoff';
}

const STATE_WORDS: Record<ServicePhase, string> = {
  stopped: 'stopped',
  starting: 'starting…',
  loading: 'loading…',
  running: 'running',
  stopping: 'stopping…',
  failed: 'failed',
  crashed: 'crashed',
  backoff: 'restarting soon',
  unreachable: 'node not answering',
};

function shorten(text: string, max = 60): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function serviceItems(services: TrayService[]): TrayItem[] {
  if (services.length === 0) return [{ kind: 'label', label: 'No services' }];
  const items: TrayItem[] = [];
  for (const s of services) {
    const why = (s.state === 'failed' || s.state === 'crashed') && s.reason ? ` — ${shorten(s.reason)}` : '';
    items.push({ kind: 'label', label: `${s.name}: ${STATE_WORDS[s.state]}${why}` });
    items.push(
      isUp(s.state)
        ? { kind: 'action', label: `Stop ${s.name}`, action: { type: 'stop-service', name: s.name }, enabled: true }
        : { kind: 'action', label: `Start ${s.name}`, action: { type: 'start-service', name: s.name }, enabled: s.state !== 'stopping' },
    );
  }
  const startable = services.filter((s) => !isUp(s.state) && s.state !== 'stopping').map((s) => s.name);
  const stoppable = services.filter((s) => isUp(s.state)).map((s) => s.name);
  items.push(
    { kind: 'separator' },
    { kind: 'action', label: 'Start all', action: { type: 'start-all', names: startable }, enabled: startable.length > 0 },
    { kind: 'action', label: 'Stop all', action: { type: 'stop-all', names: stoppable }, enabled: stoppable.length > 0 },
  );
  return items;
}

export function buildTrayMenu(state: TrayState): TrayItem[] {
  const items: TrayItem[] = [
    state.windowVisible
      ? { kind: 'action', label: 'Hide AIMA', action: { type: 'hide-window' }, enabled: true }
      : { kind: 'action', label: 'Show AIMA', action: { type: 'show-window' }, enabled: true },
    { kind: 'separator' },
    ...serviceItems(state.services ?? []),
    { kind: 'separator' },
    { kind: 'label', label: state.coreHost === 'self' ? `Core: this app${state.coreUrl ? ` (${state.coreUrl})` : ''}` : `Core: aima serve (${state.coreUrl ?? 'unknown'})` },
    { kind: 'action', label: 'Open in Browser', action: { type: 'open-in-browser' }, enabled: state.coreUrl !== null },
    { kind: 'separator' },
    { kind: 'action', label: 'Quit AIMA', action: { type: 'quit' }, enabled: true },
  ];
  return items;
}
