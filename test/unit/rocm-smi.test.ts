/**
 * rocm-smi JSON parsing on public samples of real output (see test/fixtures/rocm-smi/README.md).
 * UNVERIFIED against an AMD GPU: none is available here.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RocmSmiParseError, parseRocmSmiJson, probeRocm } from '../../src/core/hardware/rocm-smi.js';
import { hasCommand, repoRoot } from '../support/system.js';

const fixture = (name: string) => readFileSync(path.join(repoRoot, 'test/fixtures/rocm-smi', name), 'utf8');
const MiB = 1024 * 1024;

describe('parseRocmSmiJson', () => {
  it('reads a posted RX 7900 XT output (product name, use, VRAM)', () => {
    const gpus = parseRocmSmiJson(fixture('rx7900xt-marimo-9237.json'));
    expect(gpus).toEqual([
      {
        index: 0,
        uuid: 'amd:0',
        name: 'Radeon RX 7900 XT',
        vendor: 'amd',
        pciBusId: undefined,
        driverVersion: undefined,
        memoryTotalMiB: Math.round(21458059264 / MiB), // 20464
        memoryUsedMiB: Math.round(27856896 / MiB), // 27
        memoryFreeMiB: Math.round(21458059264 / MiB) - Math.round(27856896 / MiB),
        utilizationGpu: 0,
        temperatureC: undefined,
        powerDrawW: undefined,
        powerLimitW: undefined,
      },
    ]);
    expect(gpus[0].memoryTotalMiB).toBe(20464);
  });

  it('reads the full command output: two cards, temperatures, both power keys, driver version, leading warning', () => {
    const [dgpu, igpu, ...rest] = parseRocmSmiJson(fixture('synth-navi31-raphael-full.txt'));
    expect(rest).toEqual([]);
    expect(dgpu).toMatchObject({
      index: 0,
      uuid: '0x3d4595974090853c',
      name: 'Radeon RX 7900 XT',
      pciBusId: '0000:03:00.0',
      driverVersion: '6.7.0',
      temperatureC: 46, // edge, not junction (52)
      powerDrawW: 17,
      powerLimitW: 220,
      utilizationGpu: 1,
    });
    expect(igpu).toMatchObject({ index: 1, uuid: 'amd:1', name: 'Raphael', memoryTotalMiB: 64, memoryUsedMiB: 25, powerDrawW: 7.222, temperatureC: 31 });
  });

  it('accepts the older lower-case key spelling ("Card series")', () => {
    const [g] = parseRocmSmiJson(JSON.stringify({ card2: { 'Card series': 'Fiji [Radeon R9 FURY / NANO Series]', 'VRAM Total Memory (B)': 4294967296, 'VRAM Total Used Memory (B)': '0' } }));
    expect(g).toMatchObject({ index: 2, name: 'Fiji [Radeon R9 FURY / NANO Series]', memoryTotalMiB: 4096, memoryFreeMiB: 4096 });
  });

  it('rejects output without VRAM (product name only) and non-JSON', () => {
    expect(() => parseRocmSmiJson(fixture('mi250x-productname-rocm_smi_lib-159.json'))).toThrow(/no card with VRAM/);
    expect(() => parseRocmSmiJson('ERROR: GPU[0] : Unable to get GPU memory use.')).toThrow(RocmSmiParseError);
    expect(() => parseRocmSmiJson('[1,2]')).toThrow(RocmSmiParseError);
  });
});

describe('probeRocm', () => {
  it('a missing rocm-smi is not-present', async (ctx) => {
    if (hasCommand('rocm-smi')) ctx.skip('rocm-smi is installed here');
    const r = await probeRocm({ timeoutMs: 5_000 });
    expect(r.status).toMatchObject({ tool: 'rocm-smi', status: 'not-present' });
    expect(r.gpus).toEqual([]);
  });
});
