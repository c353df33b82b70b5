/**
 * The tray menu as data, built by a pure function from the app's state so it can be tested
 * without Electron; tray.ts turns it into an Electron Menu. Later capabilities (services with
 * start/stop, "Start all"/"Stop all") add items here.
 */

export interface TrayState {
  windowVisible: boolean;
  /** Where the core runs: in this app, or attached to `aima serve`. */
  coreHost: 'self' | 'attached';
  coreUrl: string | null;
}

export type TrayAction = { type: 'show-window' } | { type: 'hide-window' } | { type: 'open-in-browser' } | { type: 'quit' };

export type TrayItem =
  | { kind: 'action'; label: string; action: TrayAction; enabled: boolean }
  | { kind: 'label'; label: string }
  | { kind: 'separator' };

export function buildTrayMenu(state: TrayState): TrayItem[] {
  const items: TrayItem[] = [
    state.windowVisible
      ? { kind: 'action', label: 'Hide AIMA', action: { type: 'hide-window' }, enabled: true }
      : { kind: 'action', label: 'Show AIMA', action: { type: 'show-window' }, enabled: true },
    { kind: 'separator' },
    { kind: 'label', label: state.coreHost === 'self' ? `Core: this app${state.coreUrl ? ` (${state.coreUrl})` : ''}` : `Core: aima serve (${state.coreUrl ?? 'unknown'})` },
    { kind: 'action', label: 'Open in Browser', action: { type: 'open-in-browser' }, enabled: state.coreUrl !== null },
    { kind: 'separator' },
    { kind: 'action', label: 'Quit AIMA', action: { type: 'quit' }, enabled: true },
  ];
  return items;
}
