/**
 * The placement planner as a table: where a service goes, which idle services stop first, and
 * what a refusal says — on made-up machines and on the recorded H100 (idle and busy).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseNvidiaComputeApps, parseNvidiaQueryGpu } from '../../src/core/hardware/nvidia-smi.js';
import { planPlacement, planSequence, type PlanGpu, type PlanInput, type RunningService } from '../../src/core/scheduler/plan.js';
import { repoRoot, requirePart, sharedFixture } from '../support/system.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const NOW = 1_000_000_000;

const gpu = (index: number, totalGiB: number, freeGiB: number): PlanGpu => ({ index, name: 'NVIDIA H100 80GB HBM3', totalBytes: totalGiB * GiB, freeBytes: freeGiB * GiB });
const svc = (name: string, p: Partial<RunningService> = {}): RunningService => ({
  name,
  model: null,
  device: 'gpu',
  gpus: [0],
  vramBytes: null,
  rssBytes: null,
  estimateBytes: null,
  lastUsedAt: NOW - 600_000,
  inFlight: 0,
  pinned: false,
  usedByVoice: false,
  startedAt: NOW - 3_600_000,
  ...p,
});
const input = (p: Partial<PlanInput> & Pick<PlanInput, 'candidate'>): PlanInput => ({
  gpus: [],
  ram: { totalBytes: 64 * GiB, availableBytes: 48 * GiB, capBytes: 56 * GiB },
  services: [],
  now: NOW,
  antiThrashMs: 60_000,
  ...p,
});

describe('planPlacement: GPUs', () => {
  it('fits on GPU 1 when GPU 0 is full', () => {
    const plan = planPlacement(
      input({
        gpus: [gpu(0, 80, 4), gpu(1, 80, 40)],
        services: [svc('chat-70b', { vramBytes: { 0: 75 * GiB }, estimateBytes: 75 * GiB })],
        candidate: { name: 'asr', model: 'whisper', device: 'gpu', gpus: [], estimateBytes: 12 * GiB },
      }),
    );
    expect(plan).toMatchObject({ kind: 'place', device: 'gpu', gpus: [1], evict: [] });
    if (plan.kind === 'place') expect(plan.text).toMatch(/GPU 1/);
  });

  it('stops the least recently used idle service when nothing fits otherwise, and never a busy, pinned or voice one', () => {
    const plan = planPlacement(
      input({
        gpus: [gpu(0, 80, 2)],
        services: [
          svc('busy', { vramBytes: { 0: 20 * GiB }, lastUsedAt: NOW - 9_000_000, inFlight: 2 }),
          svc('pinned', { vramBytes: { 0: 20 * GiB }, lastUsedAt: NOW - 9_000_000, pinned: true }),
          svc('voice-llm', { vramBytes: { 0: 20 * GiB }, lastUsedAt: NOW - 9_000_000, usedByVoice: true }),
          svc('idle-recent', { vramBytes: { 0: 8 * GiB }, lastUsedAt: NOW - 60_000 }),
          svc('idle-old', { vramBytes: { 0: 8 * GiB }, lastUsedAt: NOW - 3_000_000 }),
        ],
        candidate: { name: 'new', model: 'm', device: 'gpu', gpus: [], estimateBytes: 9 * GiB },
      }),
    );
    expect(plan.kind).toBe('place');
    if (plan.kind !== 'place') return;
    expect(plan.evict.map((e) => e.name)).toEqual(['idle-old']);
    expect(plan.text).toMatch(/stopping "idle-old" \(idle, 8\.00 GiB on GPU 0\) first/);
  });

  it('refuses, naming the holder and the alternatives, when even every idle service is not enough', () => {
    const plan = planPlacement(
      input({
        gpus: [gpu(0, 80, 1)],
        ram: { totalBytes: 64 * GiB, availableBytes: 40 * GiB, capBytes: 56 * GiB },
        services: [svc('chat-7b', { vramBytes: { 0: 11.2 * GiB }, inFlight: 1 }), svc('big', { vramBytes: { 0: 60 * GiB }, pinned: true })],
        candidate: { name: 'asr', model: 'whisper', device: 'gpu', gpus: [], estimateBytes: 6 * GiB },
      }),
    );
    expect(plan.kind).toBe('refuse');
    if (plan.kind !== 'refuse') return;
    expect(plan.reason).toBe('does-not-fit');
    expect(plan.message).toContain('"chat-7b" (11.20 GiB, serving requests)');
    expect(plan.message).toContain('"big" (60.00 GiB, pinned)');
    expect(plan.fix).toContain('Stop "big" (60.00 GiB on GPU 0) or "chat-7b" (11.20 GiB on GPU 0)');
    expect(plan.fix).toContain('run "asr" on the CPU');
    expect(plan.proposal).toMatchObject({ device: 'cpu' });
    expect(plan.holders.map((h) => h.protectedBy)).toEqual(['pinned', 'in-flight']);
  });

  it('respects explicit GPU indexes even when another GPU has more room', () => {
    const plan = planPlacement(
      input({ gpus: [gpu(0, 80, 20), gpu(1, 80, 70)], candidate: { name: 'x', model: 'm', device: 'gpu', gpus: [0], estimateBytes: 10 * GiB } }),
    );
    expect(plan).toMatchObject({ kind: 'place', gpus: [0] });
  });

  it('refuses a GPU index that does not exist, naming the ones that do', () => {
    const plan = planPlacement(input({ gpus: [gpu(0, 80, 20)], candidate: { name: 'x', model: 'm', device: 'gpu', gpus: [3], estimateBytes: 1 * GiB } }));
    expect(plan).toMatchObject({ kind: 'refuse', reason: 'no-such-gpu' });
    if (plan.kind === 'refuse') {
      expect(plan.message).toBe('GPU 3 does not exist on this machine.');
      expect(plan.fix).toContain('0 (NVIDIA H100 80GB HBM3)');
    }
  });

  it('splits the need over several explicit GPUs', () => {
    const plan = planPlacement(
      input({ gpus: [gpu(0, 80, 30), gpu(1, 80, 30)], candidate: { name: 'x', model: 'm', device: 'gpu', gpus: [0, 1], estimateBytes: 50 * GiB } }),
    );
    expect(plan).toMatchObject({ kind: 'place', gpus: [0, 1] });
  });

  it('spreads a model over all GPUs only when no single GPU can take it', () => {
    const plan = planPlacement(
      input({ gpus: [gpu(0, 80, 30), gpu(1, 80, 30)], candidate: { name: 'x', model: 'm', device: 'gpu', gpus: [], estimateBytes: 50 * GiB } }),
    );
    expect(plan).toMatchObject({ kind: 'place', gpus: [0, 1], evict: [] });
    const single = planPlacement(
      input({ gpus: [gpu(0, 80, 30), gpu(1, 80, 30)], candidate: { name: 'x', model: 'm', device: 'gpu', gpus: [], estimateBytes: 20 * GiB } }),
    );
    expect(single).toMatchObject({ kind: 'place', gpus: [0] });
  });

  it('puts a replica on a GPU that does not already hold the same model', () => {
    const plan = planPlacement(
      input({
        gpus: [gpu(0, 80, 60), gpu(1, 80, 50)],
        services: [svc('chat-a', { model: 'llama', vramBytes: { 0: 10 * GiB } })],
        candidate: { name: 'chat-b', model: 'llama', device: 'gpu', gpus: [], estimateBytes: 10 * GiB },
      }),
    );
    expect(plan).toMatchObject({ kind: 'place', gpus: [1] });
  });

  it('counts what a loading service will still take', () => {
    const plan = planPlacement(
      input({
        gpus: [gpu(0, 80, 30), gpu(1, 80, 20)],
        // Loading on GPU 0: 2 GiB measured of a 25 GiB estimate — GPU 0 really has 7 GiB to give.
        services: [svc('loading', { vramBytes: { 0: 2 * GiB }, estimateBytes: 25 * GiB, startedAt: NOW - 5_000, lastUsedAt: NOW - 5_000 })],
        candidate: { name: 'x', model: 'm', device: 'gpu', gpus: [], estimateBytes: 15 * GiB },
      }),
    );
    expect(plan).toMatchObject({ kind: 'place', gpus: [1], evict: [] });
  });

  it('offloads part of a GGUF model when the whole does not fit anywhere', () => {
    const plan = planPlacement(
      input({
        gpus: [gpu(0, 24, 10)],
        candidate: { name: 'x', model: 'm', device: 'gpu', gpus: [], estimateBytes: 20 * GiB, layers: { total: 40, bytesPerLayer: 0.45 * GiB, fixedBytes: 2 * GiB } },
      }),
    );
    expect(plan).toMatchObject({ kind: 'place', gpus: [0], gpuLayers: 17, totalLayers: 40 });
  });

  it('refuses with the anti-thrash reason when only services started moments ago could make room', () => {
    const plan = planPlacement(
      input({
        gpus: [gpu(0, 80, 2)],
        ram: { totalBytes: 16 * GiB, availableBytes: 1 * GiB, capBytes: 12 * GiB },
        services: [svc('just-started', { vramBytes: { 0: 30 * GiB }, startedAt: NOW - 10_000, lastUsedAt: NOW - 10_000 })],
        candidate: { name: 'x', model: 'm', device: 'gpu', gpus: [], estimateBytes: 20 * GiB },
      }),
    );
    expect(plan).toMatchObject({ kind: 'refuse', reason: 'anti-thrash', proposal: null });
    if (plan.kind === 'refuse') {
      expect(plan.message).toContain('started within the last 60 s (anti-thrash window)');
      expect(plan.fix).toMatch(/not stopped again to make room \(no thrashing\): try again in 50 s/);
    }
    // Past the window, the same service is stopped.
    const later = planPlacement(
      input({
        gpus: [gpu(0, 80, 2)],
        services: [svc('just-started', { vramBytes: { 0: 30 * GiB }, startedAt: NOW - 70_000, lastUsedAt: NOW - 70_000 })],
        candidate: { name: 'x', model: 'm', device: 'gpu', gpus: [], estimateBytes: 20 * GiB },
      }),
    );
    expect(later).toMatchObject({ kind: 'place', evict: [{ name: 'just-started' }] });
  });

  it('refuses a GPU service on a machine without a GPU, proposing the CPU', () => {
    const plan = planPlacement(input({ gpus: [], candidate: { name: 'x', model: 'm', device: 'gpu', gpus: [], estimateBytes: 2 * GiB } }));
    expect(plan).toMatchObject({ kind: 'refuse', reason: 'no-gpu', proposal: { device: 'cpu' } });
  });

  it('places a model without an estimate on the GPU with the most room', () => {
    const plan = planPlacement(input({ gpus: [gpu(0, 80, 5), gpu(1, 80, 9)], candidate: { name: 'x', model: 'm', device: 'gpu', gpus: [], estimateBytes: null } }));
    expect(plan).toMatchObject({ kind: 'place', gpus: [1], needBytes: null });
  });
});

describe('planPlacement: RAM for CPU services', () => {
  const ram = { totalBytes: 16 * GiB, availableBytes: 10 * GiB, capBytes: 4 * GiB };
  const cpu = (name: string, rssGiB: number, p: Partial<RunningService> = {}) => svc(name, { device: 'cpu', gpus: [], rssBytes: rssGiB * GiB, ...p });

  it('places within the cap without stopping anything', () => {
    const plan = planPlacement(input({ ram, services: [cpu('a', 1)], candidate: { name: 'b', model: 'm', device: 'cpu', gpus: [], estimateBytes: 2 * GiB } }));
    expect(plan).toMatchObject({ kind: 'place', device: 'cpu', evict: [] });
  });

  it('stops the LRU idle CPU service to stay within the cap, not the busy or pinned one', () => {
    const plan = planPlacement(
      input({
        ram,
        services: [cpu('busy', 1, { inFlight: 1, lastUsedAt: NOW - 9e6 }), cpu('pinned', 1, { pinned: true, lastUsedAt: NOW - 9e6 }), cpu('idle-new', 0.75, { lastUsedAt: NOW - 1000 }), cpu('idle-old', 0.75, { lastUsedAt: NOW - 5000 })],
        candidate: { name: 'new', model: 'm', device: 'cpu', gpus: [], estimateBytes: 1 * GiB },
      }),
    );
    expect(plan).toMatchObject({ kind: 'place', evict: [{ name: 'idle-old' }] });
  });

  it('refuses beyond the cap with the holders named and the setting to raise', () => {
    const plan = planPlacement(input({ ram, services: [cpu('busy', 3, { inFlight: 1 })], candidate: { name: 'new', model: 'm', device: 'cpu', gpus: [], estimateBytes: 2 * GiB } }));
    expect(plan).toMatchObject({ kind: 'refuse', reason: 'does-not-fit' });
    if (plan.kind === 'refuse') {
      expect(plan.message).toBe('Service "new" does not fit: it needs 2.00 GiB on the services\' memory cap (4.00 GiB), 1.00 GiB is free. RAM is held by "busy" (3.00 GiB, serving requests).');
      expect(plan.fix).toContain('servicesMemoryCapMiB');
      expect(plan.fix).toContain('--ignore-fit');
    }
  });

  it('never counts more room than the host has available', () => {
    const plan = planPlacement(
      input({ ram: { totalBytes: 16 * GiB, availableBytes: 0.5 * GiB, capBytes: 12 * GiB }, candidate: { name: 'new', model: 'm', device: 'cpu', gpus: [], estimateBytes: 1 * GiB } }),
    );
    expect(plan.kind).toBe('refuse');
  });
});

describe('planPlacement on the recorded H100', () => {
  const busyDir = path.join(repoRoot, 'test/fixtures/nvidia-smi/busy');
  const read = (dir: string, f: string) => readFileSync(path.join(dir, f), 'utf8');
  const asPlanGpus = (csv: string): PlanGpu[] => parseNvidiaQueryGpu(csv).map((g) => ({ index: g.index, name: g.name, totalBytes: g.memoryTotalMiB * MiB, freeBytes: g.memoryFreeMiB * MiB }));

  it('idle H100: a 40 GiB model fits, a 90 GiB one is refused with the CPU proposal', (ctx) => {
    const dir = sharedFixture('nvidia-smi/h100-80gb');
    requirePart(ctx, 'shared-fixtures', existsSync(dir));
    const gpus = asPlanGpus(read(dir, 'query.csv'));
    expect(planPlacement(input({ gpus, candidate: { name: 'llm', model: 'm', device: 'gpu', gpus: [], estimateBytes: 40 * GiB } }))).toMatchObject({ kind: 'place', gpus: [0] });
    const big = planPlacement(input({ gpus, ram: { totalBytes: 256 * GiB, availableBytes: 200 * GiB, capBytes: 240 * GiB }, candidate: { name: 'llm', model: 'm', device: 'gpu', gpus: [], estimateBytes: 90 * GiB } }));
    expect(big).toMatchObject({ kind: 'refuse', reason: 'does-not-fit', proposal: { device: 'cpu' } });
    if (big.kind === 'refuse') expect(big.message).toContain('79.18 GiB is free'); // 81079 MiB free in the recording
  });

  it('busy H100: the idle LLM service (18620 MiB measured by nvidia-smi) is stopped for a 60 GiB model', () => {
    const gpus = asPlanGpus(read(busyDir, 'query.csv'));
    const apps = parseNvidiaComputeApps(read(busyDir, 'apps.csv'));
    const llm = apps.find((a) => a.pid === 41235)!;
    const asr = apps.find((a) => a.pid === 41388)!;
    const services = [
      svc('chat-7b', { vramBytes: { 0: llm.usedMemoryMiB * MiB }, lastUsedAt: NOW - 1_200_000 }),
      svc('asr', { vramBytes: { 0: asr.usedMemoryMiB * MiB }, usedByVoice: true }),
    ];
    const plan = planPlacement(input({ gpus, services, candidate: { name: 'big', model: 'm', device: 'gpu', gpus: [], estimateBytes: 60 * GiB } }));
    expect(plan).toMatchObject({ kind: 'place', gpus: [0], evict: [{ name: 'chat-7b', freesBytes: 18620 * MiB }] });
    // 50631 free + 18620 = 69251 MiB: a 70 GiB model (71680 MiB) does not fit even so; the notebook's 9614 MiB is not ours to stop.
    const refused = planPlacement(input({ gpus, services, candidate: { name: 'big', model: 'm', device: 'gpu', gpus: [], estimateBytes: 70 * GiB } }));
    expect(refused).toMatchObject({ kind: 'refuse', reason: 'does-not-fit' });
    if (refused.kind === 'refuse') expect(refused.message).toContain('"chat-7b" (18.18 GiB), "asr" (1.18 GiB, used by the voice session)');
  });
});

describe('planSequence (a chain placed link by link)', () => {
  it('later links see the earlier ones: the second goes to the other GPU, the third to the CPU with the proposal', () => {
    const base = { gpus: [gpu(0, 24, 20), gpu(1, 24, 12)], ram: { totalBytes: 64 * GiB, availableBytes: 48 * GiB, capBytes: 56 * GiB }, services: [], now: NOW, antiThrashMs: 60_000 };
    const out = planSequence(base, [
      { name: 'llm', model: 'qwen', device: 'gpu', gpus: [], estimateBytes: 16 * GiB },
      { name: 'asr', model: 'whisper', device: 'gpu', gpus: [], estimateBytes: 10 * GiB },
      { name: 'tts', model: 'kokoro', device: 'gpu', gpus: [], estimateBytes: 6 * GiB },
    ]);
    expect(out.map((o) => [o.name, o.plan.kind, o.plan.kind === 'place' ? o.plan.gpus : null])).toEqual([
      ['llm', 'place', [0]],
      ['asr', 'place', [1]],
      ['tts', 'refuse', null],
    ]);
    const tts = out[2]!.plan;
    if (tts.kind === 'refuse') {
      expect(tts.proposal).toMatchObject({ device: 'cpu' });
      expect(tts.holders.map((h) => [h.name, h.protectedBy])).toEqual([['llm', 'in-flight']]);
    }
  });

  it('a service an earlier link evicts is gone for the later ones', () => {
    const base = { gpus: [gpu(0, 80, 2)], ram: { totalBytes: 64 * GiB, availableBytes: 48 * GiB, capBytes: 56 * GiB }, services: [svc('old', { vramBytes: { 0: 30 * GiB } })], now: NOW, antiThrashMs: 60_000 };
    const out = planSequence(base, [
      { name: 'a', model: 'a', device: 'gpu', gpus: [], estimateBytes: 10 * GiB },
      { name: 'b', model: 'b', device: 'gpu', gpus: [], estimateBytes: 10 * GiB },
    ]);
    expect(out[0]!.plan).toMatchObject({ kind: 'place', evict: [{ name: 'old' }] });
    expect(out[1]!.plan).toMatchObject({ kind: 'place', evict: [] });
  });
});
