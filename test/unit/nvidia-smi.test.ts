/**
 * nvidia-smi parsing on the real H100 recordings, and the probe's four outcomes through the fake
 * binary (replay, hang, fail, garbage) and a missing binary.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { detectHardware } from '../../src/core/hardware/detect.js';
import {
  NvidiaSmiParseError,
  mergeNvidiaDetails,
  parseNvidiaComputeApps,
  parseNvidiaQueryGpu,
  parseNvidiaXml,
  probeNvidia,
} from '../../src/core/hardware/nvidia-smi.js';
import { hasCommand, repoRoot, requirePart, sharedFixture } from '../support/system.js';

const h100 = sharedFixture('nvidia-smi/h100-80gb');
const busy = path.join(repoRoot, 'test/fixtures/nvidia-smi/busy');
const h200 = path.join(repoRoot, 'test/fixtures/nvidia-smi/h200-141gb');
const fake = path.join(repoRoot, 'test/fixtures/bin/fake-nvidia-smi');
const read = (dir: string, file: string) => readFileSync(path.join(dir, file), 'utf8');

const savedEnv = { ...process.env };
afterEach(() => {
  for (const k of ['AIMA_NVIDIA_SMI_FIXTURE', 'AIMA_FAKE_NVIDIA_SMI_MODE']) {
    if (savedEnv[k] === undefined) delete process.env[k];
    else process.env[k] = savedEnv[k];
  }
});

describe('nvidia-smi parsers on the H100 recording', () => {
  it('reads the CSV summary', (ctx) => {
    requirePart(ctx, 'shared-fixtures', existsSync(h100));
    const [gpu, ...rest] = parseNvidiaQueryGpu(read(h100, 'query.csv'));
    expect(rest).toHaveLength(0);
    expect(gpu).toMatchObject({
      index: 0,
      uuid: 'GPU-4af987a7-9ef5-855d-6102-fb59c1abab1a',
      name: 'NVIDIA H100 80GB HBM3',
      vendor: 'nvidia',
      pciBusId: '00000000:00:06.0',
      driverVersion: '580.159.04',
      computeCapability: '9.0',
      memoryTotalMiB: 81559,
      memoryUsedMiB: 0,
      memoryFreeMiB: 81079,
      utilizationGpu: 0,
      temperatureC: 34,
      powerDrawW: 123.17,
      powerLimitW: 700,
      clockSmMHz: 1980,
      clockSmMaxMHz: 1980,
    });
  });

  it('reads driver, CUDA version and MIG mode from -q -x, and merges them into the summary', (ctx) => {
    requirePart(ctx, 'shared-fixtures', existsSync(h100));
    const xml = parseNvidiaXml(read(h100, 'nvidia-smi-q.xml'));
    expect(xml.driverVersion).toBe('580.159.04');
    expect(xml.cudaVersion).toBe('13.0');
    expect(xml.gpus).toEqual([
      {
        uuid: 'GPU-4af987a7-9ef5-855d-6102-fb59c1abab1a',
        pciBusId: '00000000:00:06.0',
        productName: 'NVIDIA H100 80GB HBM3',
        architecture: 'Hopper',
        computeCapability: undefined, // driver 580's XML (DTD v13) has no compute capability: the CSV has it
        migMode: { current: 'disabled', pending: 'disabled' },
      },
    ]);
    const [merged] = mergeNvidiaDetails(parseNvidiaQueryGpu(read(h100, 'query.csv')), xml);
    expect(merged).toMatchObject({ cudaVersion: '13.0', computeCapability: '9.0', driverVersion: '580.159.04', migMode: { current: 'disabled' } });
  });

  it('reads the empty three-column process list of an idle GPU', (ctx) => {
    requirePart(ctx, 'shared-fixtures', existsSync(h100));
    expect(parseNvidiaComputeApps(read(h100, 'apps.csv'))).toEqual([]);
  });
});

describe('nvidia-smi on the H200 recordings (idle, busy, with the LLM worker on CUDA)', () => {
  it('reads the idle H200: summary, XML details and an empty four-column process list', () => {
    const dir = path.join(h200, 'idle');
    const xml = parseNvidiaXml(read(dir, 'nvidia-smi-q.xml'));
    const [gpu, ...rest] = mergeNvidiaDetails(parseNvidiaQueryGpu(read(dir, 'query.csv')), xml);
    expect(rest).toHaveLength(0);
    expect(gpu).toMatchObject({
      uuid: 'GPU-debbec09-0a9f-4679-9641-19326f44d646',
      name: 'NVIDIA H200',
      computeCapability: '9.0',
      cudaVersion: '13.0',
      memoryTotalMiB: 143771,
      memoryUsedMiB: 0,
      memoryFreeMiB: 143156,
      clockSmMHz: 345,
      migMode: { current: 'disabled', pending: 'disabled' },
    });
    expect(xml.gpus[0]).toMatchObject({ productName: 'NVIDIA H200', architecture: 'Hopper' });
    expect(parseNvidiaComputeApps(read(dir, 'apps.csv'))).toEqual([]);
  });

  it('replays the busy H200 and the one running AIMA\'s LLM worker: processes with their GPU UUIDs', async () => {
    process.env.AIMA_NVIDIA_SMI_FIXTURE = path.join(h200, 'busy');
    const busyH200 = await probeNvidia({ nvidiaSmiPath: fake, timeoutMs: 10_000 });
    expect(busyH200.status.status).toBe('ok');
    expect(busyH200.gpus[0]).toMatchObject({ memoryUsedMiB: 42099, utilizationGpu: 99, powerDrawW: 690.97 });
    expect(busyH200.processes).toEqual([{ pid: 573, name: 'python3', usedMemoryMiB: 42090, gpuUuid: busyH200.gpus[0].uuid }]);
    process.env.AIMA_NVIDIA_SMI_FIXTURE = path.join(h200, 'worker');
    const withWorker = await probeNvidia({ nvidiaSmiPath: fake, timeoutMs: 10_000 });
    expect(withWorker.processes).toEqual([{ pid: 4769, name: 'node', usedMemoryMiB: 696, gpuUuid: withWorker.gpus[0].uuid }]);
  });
});

describe('nvidia-smi parsers on edge cases', () => {
  it('accepts both process list shapes, [N/A] memory and commas in names', () => {
    const three = parseNvidiaComputeApps('1234, python3, 2048\n');
    expect(three).toEqual([{ pid: 1234, name: 'python3', usedMemoryMiB: 2048 }]);
    const four = parseNvidiaComputeApps(
      '1234, /usr/bin/python3, 2048, GPU-4af987a7-9ef5-855d-6102-fb59c1abab1a\n55, app, with comma, [N/A], MIG-abc\n',
    );
    expect(four).toEqual([
      { pid: 1234, name: '/usr/bin/python3', usedMemoryMiB: 2048, gpuUuid: 'GPU-4af987a7-9ef5-855d-6102-fb59c1abab1a' },
      { pid: 55, name: 'app, with comma', usedMemoryMiB: 0, gpuUuid: 'MIG-abc' },
    ]);
    expect(parseNvidiaComputeApps('No running processes found\n')).toEqual([]);
  });

  it('treats [N/A] / [Not Supported] summary fields as unknown, and rejects lines of the wrong shape', () => {
    const line = '1, GPU-x, NVIDIA GeForce RTX 3060, 00000000:01:00.0, 550.54, 12288, 300, 11800, [N/A], [N/A], 40, [Not Supported], [N/A], 8.6, 210, 2100';
    const [g] = parseNvidiaQueryGpu(line);
    expect(g.utilizationGpu).toBeUndefined();
    expect(g.powerDrawW).toBeUndefined();
    expect(g.computeCapability).toBe('8.6');
    expect(() => parseNvidiaQueryGpu('garbage, 1, 2')).toThrow(NvidiaSmiParseError);
    expect(() => parseNvidiaXml('<html/>')).toThrow(NvidiaSmiParseError);
  });
});

describe('probeNvidia through the fake binary', () => {
  it('replays the H100 recording: ok, merged details', async (ctx) => {
    requirePart(ctx, 'shared-fixtures', existsSync(h100));
    process.env.AIMA_NVIDIA_SMI_FIXTURE = h100;
    const r = await probeNvidia({ nvidiaSmiPath: fake, timeoutMs: 10_000 });
    expect(r.status).toMatchObject({ tool: 'nvidia-smi', status: 'ok' });
    expect(r.gpus).toHaveLength(1);
    expect(r.gpus[0]).toMatchObject({ memoryTotalMiB: 81559, computeCapability: '9.0', driverVersion: '580.159.04', cudaVersion: '13.0' });
    expect(r.processes).toEqual([]);
  });

  it('reads per-process VRAM with GPU UUIDs from the busy recording', async () => {
    process.env.AIMA_NVIDIA_SMI_FIXTURE = busy;
    const r = await probeNvidia({ nvidiaSmiPath: fake, timeoutMs: 10_000 });
    expect(r.status.status).toBe('ok');
    expect(r.gpus[0].memoryUsedMiB).toBe(30448);
    expect(r.processes.map((p) => [p.pid, p.usedMemoryMiB])).toEqual([
      [41235, 18620],
      [41388, 1210],
      [39001, 9614],
      [40777, 524],
    ]);
    expect(r.processes.every((p) => p.gpuUuid === r.gpus[0].uuid)).toBe(true);
  });

  it('reports a hanging nvidia-smi as timeout, after the timeout and not later', async () => {
    process.env.AIMA_FAKE_NVIDIA_SMI_MODE = 'hang';
    const started = Date.now();
    const r = await probeNvidia({ nvidiaSmiPath: fake, timeoutMs: 700 });
    expect(r.status.status).toBe('timeout');
    expect(r.status.error).toMatch(/did not answer within 700 ms/);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(r.gpus).toEqual([]);
  });

  it('reports a failing nvidia-smi as failed, with its stderr and exit code', async () => {
    process.env.AIMA_FAKE_NVIDIA_SMI_MODE = 'fail';
    const r = await probeNvidia({ nvidiaSmiPath: fake, timeoutMs: 10_000 });
    expect(r.status.status).toBe('failed');
    expect(r.status.error).toMatch(/exited with code 9/);
    expect(r.status.error).toMatch(/couldn't communicate with the NVIDIA driver/);
  });

  it('reports garbage output as failed with the parse error', async () => {
    process.env.AIMA_FAKE_NVIDIA_SMI_MODE = 'garbage';
    const r = await probeNvidia({ nvidiaSmiPath: fake, timeoutMs: 10_000 });
    expect(r.status.status).toBe('failed');
    expect(r.status.error).toMatch(/fields, expected 16/);
  });
});

describe('no NVIDIA GPU', () => {
  it('a missing nvidia-smi binary is not-present, not an error', async () => {
    const r = await probeNvidia({ nvidiaSmiPath: '/nonexistent/bin/nvidia-smi', timeoutMs: 5_000 });
    expect(r.status).toMatchObject({ status: 'not-present' });
    expect(r.gpus).toEqual([]);
  });

  it('this machine: nvidia-smi on PATH is absent → not-present', async (ctx) => {
    if (hasCommand('nvidia-smi')) ctx.skip('nvidia-smi is installed here: the no-GPU case does not apply');
    const r = await probeNvidia({ timeoutMs: 5_000 });
    expect(r.status.status).toBe('not-present');
  });
});

describe('detectHardware', () => {
  it('on this machine: every probe answers, CPU/RAM/OS/disk are read', async () => {
    const report = await detectHardware({ dataDir: path.join(repoRoot, '.aima-test', 'does-not-exist-yet'), nvidiaSmiPath: '/nonexistent/nvidia-smi', rocmSmiPath: '/nonexistent/rocm-smi' });
    expect(report.gpuProbes.map((p) => [p.tool, p.status])).toEqual([
      ['nvidia-smi', 'not-present'],
      ['rocm-smi', 'not-present'],
      ['systeminformation', 'ok'],
    ]);
    expect(report.errors).toEqual([]);
    expect(report.cpu?.threads).toBeGreaterThan(0);
    expect(report.cpu?.brand).toBeTruthy();
    expect(typeof report.cpu?.avx2).toBe('boolean');
    expect(report.memory?.totalBytes).toBeGreaterThan(0);
    expect(report.os?.platform).toBe(process.platform);
    // The data directory does not exist: its nearest existing ancestor is measured.
    expect(report.disk?.measuredPath).toBe(repoRoot);
    expect(report.disk?.freeBytes).toBeGreaterThan(0);
  });

  it('with the fake nvidia-smi: lists the H100 once', async (ctx) => {
    requirePart(ctx, 'shared-fixtures', existsSync(h100));
    process.env.AIMA_NVIDIA_SMI_FIXTURE = h100;
    const report = await detectHardware({ dataDir: repoRoot, nvidiaSmiPath: fake, rocmSmiPath: '/nonexistent/rocm-smi' });
    expect(report.gpuProbes[0]).toMatchObject({ tool: 'nvidia-smi', status: 'ok' });
    expect(report.gpus.filter((g) => g.vendor === 'nvidia')).toHaveLength(1);
    expect(report.gpus[0].name).toBe('NVIDIA H100 80GB HBM3');
  });
});
