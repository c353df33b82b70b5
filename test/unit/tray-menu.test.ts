import { describe, expect, it } from 'vitest';
import { buildTrayMenu } from '../../src/main/tray-menu.js';

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

  it('lists each service with its state and one Start or Stop, plus Start all / Stop all', () => {
    // The state the e2e test (test/e2e/services.test.ts) drives the Services page through.
    const items = buildTrayMenu({
      windowVisible: true,
      coreHost: 'self',
      coreUrl: 'http://127.0.0.1:9090',
      services: [
        { name: 'stories', state: 'running', reason: null },
        { name: 'whisper', state: 'stopped', reason: null },
        { name: 'vllm', state: 'failed', reason: 'GPU containers need the NVIDIA Container Toolkit: Docker lists no `nvidia` runtime and no NVIDIA CDI device' },
      ],
    });
    expect(items).toMatchInlineSnapshot(`
      [
        {
          "action": {
            "type": "hide-window",
          },
          "enabled": true,
          "kind": "action",
          "label": "Hide AIMA",
        },
        {
          "kind": "separator",
        },
        {
          "kind": "label",
          "label": "stories: running",
        },
        {
          "action": {
            "name": "stories",
            "type": "stop-service",
          },
          "enabled": true,
          "kind": "action",
          "label": "Stop stories",
        },
        {
          "kind": "label",
          "label": "whisper: stopped",
        },
        {
          "action": {
            "name": "whisper",
            "type": "start-service",
          },
          "enabled": true,
          "kind": "action",
          "label": "Start whisper",
        },
        {
          "kind": "label",
          "label": "vllm: failed — GPU containers need the NVIDIA Container Toolkit: Docker li…",
        },
        {
          "action": {
            "name": "vllm",
            "type": "start-service",
          },
          "enabled": true,
          "kind": "action",
          "label": "Start vllm",
        },
        {
          "kind": "separator",
        },
        {
          "action": {
            "names": [
              "whisper",
              "vllm",
            ],
            "type": "start-all",
          },
          "enabled": true,
          "kind": "action",
          "label": "Start all",
        },
        {
          "action": {
            "names": [
              "stories",
            ],
            "type": "stop-all",
          },
          "enabled": true,
          "kind": "action",
          "label": "Stop all",
        },
        {
          "kind": "separator",
        },
        {
          "kind": "label",
          "label": "Core: this app (http://127.0.0.1:9090)",
        },
        {
          "action": {
            "type": "open-in-browser",
          },
          "enabled": true,
          "kind": "action",
          "label": "Open in Browser",
        },
        {
          "kind": "separator",
        },
        {
          "action": {
            "type": "quit",
          },
          "enabled": true,
          "kind": "action",
          "label": "Quit AIMA",
        },
      ]
    `);
  });

  it('treats loading and backoff as up (Stop), stopping as neither, and disables the all-actions with nothing to do', () => {
    const menu = (state: 'loading' | 'backoff' | 'stopping' | 'stopped') =>
      buildTrayMenu({ windowVisible: false, coreHost: 'self', coreUrl: null, services: [{ name: 's', state, reason: null }] });
    expect(menu('loading')).toContainEqual({ kind: 'action', label: 'Stop s', action: { type: 'stop-service', name: 's' }, enabled: true });
    expect(menu('backoff')).toContainEqual({ kind: 'label', label: 's: restarting soon' });
    expect(menu('stopping')).toContainEqual({ kind: 'action', label: 'Start s', action: { type: 'start-service', name: 's' }, enabled: false });
    const stopped = menu('stopped');
    expect(stopped.find((i) => i.kind === 'action' && i.action.type === 'stop-all')).toMatchObject({ enabled: false });
    expect(stopped.find((i) => i.kind === 'action' && i.action.type === 'start-all')).toMatchObject({ enabled: true, action: { names: ['s'] } });
    expect(buildTrayMenu({ windowVisible: false, coreHost: 'self', coreUrl: null, services: [] })).toContainEqual({ kind: 'label', label: 'No services' });
  });
});
