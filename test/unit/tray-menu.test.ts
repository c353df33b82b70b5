import { describe, expect, it } from 'vitest';
import { buildTrayMenu } from '../../src/main/electron/tray-menu.js';

describe('tray menu builder', () => {
  it('offers Show when the window is hidden and Hide when it is visible', () => {
    const hidden = buildTrayMenu({ windowVisible: false, coreHost: 'self', coreUrl: 'http://127.0.0.1:9090' });
    expect(hidden[0]).toMatchObject({ kind: 'action', label: 'Show AIMA', action: { type: 'show-window' } });
    const shown = buildTrayMenu({ windowVisible: true, coreHost: 'self', coreUrl: 'http://127.0.0.1:9090' });
    expect(shown[0]).toMatchObject({ label: 'Hide AIMA', action: { type: 'hide-window' } });
  });

  it('always ends with Quit', () => {
    const items = buildTrayMenu({ windowVisible: false, coreHost: 'attached', coreUrl: null });
    expect(items.at(-1)).toEqual({ kind: 'action', label: 'Quit AIMA', action: { type: 'quit' }, enabled: true });
  });

  it('says where the core runs and disables Open in Browser without a URL', () => {
    const attached = buildTrayMenu({ windowVisible: false, coreHost: 'attached', coreUrl: null });
    expect(attached).toContainEqual({ kind: 'label', label: 'Core: aima serve (unknown)' });
    expect(attached.find((i) => i.kind === 'action' && i.action.type === 'open-in-browser')).toMatchObject({ enabled: false });
    const self = buildTrayMenu({ windowVisible: false, coreHost: 'self', coreUrl: 'http://127.0.0.1:9090' });
    expect(self).toContainEqual({ kind: 'label', label: 'Core: this app (http://127.0.0.1:9090)' });
  });
});
