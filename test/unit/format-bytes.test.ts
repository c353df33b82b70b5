/** The one size formatter the UI, the CLI and the core's messages share. */
import { describe, expect, it } from 'vitest';
import { formatBytes } from '../../src/shared/format-bytes.js';

describe('formatBytes', () => {
  it('picks the largest binary unit: KiB and MiB with one decimal, GiB and TiB with two', () => {
    expect(formatBytes(0)).toBe('0.0 KiB');
    expect(formatBytes(512)).toBe('0.5 KiB');
    expect(formatBytes(6.1 * 1024 ** 2)).toBe('6.1 MiB');
    expect(formatBytes(1.5 * 1024 ** 3)).toBe('1.50 GiB');
    expect(formatBytes(2 * 1024 ** 4)).toBe('2.00 TiB');
  });

  it('keeps the sign of a negative size (a shortfall)', () => {
    expect(formatBytes(-3 * 1024 ** 3)).toBe('-3.00 GiB');
  });
});
