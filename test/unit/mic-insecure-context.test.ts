/** The Voice page's message for a page without a secure context: HTTPS on the same port, and where to turn it on. */
import { describe, expect, it } from 'vitest';
import { insecureContextMessage } from '../../src/renderer/src/features/voice/mic-errors.js';

describe('insecureContextMessage', () => {
  it.each([
    [{ protocol: 'http:', hostname: 'gpu-box.lan', port: '8765' }, 'https://gpu-box.lan:8765/'],
    [{ protocol: 'http:', hostname: '192.168.1.20', port: '8765' }, 'https://192.168.1.20:8765/'],
    [{ protocol: 'http:', hostname: 'fd00::20', port: '' }, 'https://[fd00::20]/'],
  ])('%j → %s', (loc, url) => {
    const m = insecureContextMessage(loc);
    expect(m).toContain(`Open ${url} instead`);
    expect(m).toContain('Settings → Remote access');
    expect(m).not.toContain('127.0.0.1');
  });
});
