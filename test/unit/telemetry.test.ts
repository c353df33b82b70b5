/**
 * The telemetry loop: samples only while subscribed, never overlaps, emits errors as events, and
 * attributes VRAM to AIMA's services vs foreign processes (busy recording, synthesized from the H100's).
 */
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { attributeGpuMemory, createTelemetry, type GpuSample, type TelemetryEvent } from '../../src/core/hardware/telemetry.js';
import { createNvidiaSampler } from '../../src/core/hardware/nvidia-sampler.js';
import { parseNvidiaQueryGpu } from '../../src/core/hardware/nvidia-smi.js';
import { repoRoot } from '../support/system.js';

const fake = path.join(repoRoot, 'test/fixtures/bin/fake-nvidia-smi');
const busy = path.join(repoRoot, 'test/fixtures/nvidia-smi/busy');
const gpu = parseNvidiaQueryGpu(
  '0, GPU-a, NVIDIA H100 80GB HBM3, 00000000:00:06.0, 580.159.04, 81559, 1000, 80079, 5, 1, 30, 100, 700, 9.0, 1980, 1980',
)[0];

afterEach(() => {
  vi.useRealTimers();
  delete process.env.AIMA_NVIDIA_SMI_FIXTURE;
  delete process.env.AIMA_FAKE_NVIDIA_SMI_MODE;
});

describe('createTelemetry lifecycle', () => {
  it('samples only while at least one subscriber is attached', async () => {
    vi.useFakeTimers();
    const sample = vi.fn(async (): Promise<GpuSample[]> => [{ gpu, processes: [] }]);
    const t = createTelemetry({ sample, intervalMs: 1000 });
    await vi.advanceTimersByTimeAsync(5000);
    expect(sample).not.toHaveBeenCalled();
    expect(t.running).toBe(false);

    const a: TelemetryEvent[] = [];
    const b: TelemetryEvent[] = [];
    const offA = t.subscribe((e) => a.push(e));
    await vi.advanceTimersByTimeAsync(0); // the first sample comes at once, not a period later
    expect(sample).toHaveBeenCalledTimes(1);
    const offB = t.subscribe((e) => b.push(e));
    await vi.advanceTimersByTimeAsync(3000);
    expect(sample).toHaveBeenCalledTimes(4); // 1 Hz: t = 0, 1, 2, 3 s; a second subscriber adds no extra sampling
    expect(a).toHaveLength(4);
    expect(b).toHaveLength(3);

    offA();
    offA(); // idempotent
    expect(t.running).toBe(true);
    await vi.advanceTimersByTimeAsync(1000);
    expect(sample).toHaveBeenCalledTimes(5);

    offB();
    expect(t.running).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(sample).toHaveBeenCalledTimes(5);

    // Subscribing again restarts it; the last event is kept for a new subscriber's first paint.
    expect(t.latest?.type).toBe('sample');
    t.subscribe(() => {});
    await vi.advanceTimersByTimeAsync(0);
    expect(sample).toHaveBeenCalledTimes(6);
    t.close();
    expect(t.running).toBe(false);
    expect(t.listenerCount).toBe(0);
  });

  it('never overlaps samples: a slow sample stretches the period', async () => {
    vi.useFakeTimers();
    let active = 0;
    let maxActive = 0;
    let calls = 0;
    const sample = async (): Promise<GpuSample[]> => {
      calls++;
      active++;
      maxActive = Math.max(maxActive, active);
      await new Promise((r) => setTimeout(r, 2500)); // a hung-ish nvidia-smi: 2.5 s per call
      active--;
      return [{ gpu, processes: [] }];
    };
    const t = createTelemetry({ sample, intervalMs: 1000 });
    const off = t.subscribe(() => {});
    await vi.advanceTimersByTimeAsync(10_000);
    expect(maxActive).toBe(1);
    expect(calls).toBe(4); // starts at 0, 2.5, 5, 7.5 s
    off();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls).toBe(4);
  });

  it('unsubscribing during a sample stops after it; resubscribing does not start a second loop', async () => {
    vi.useFakeTimers();
    let active = 0;
    let maxActive = 0;
    const sample = async (): Promise<GpuSample[]> => {
      active++;
      maxActive = Math.max(maxActive, active);
      await new Promise((r) => setTimeout(r, 500));
      active--;
      return [];
    };
    const t = createTelemetry({ sample, intervalMs: 1000 });
    const off = t.subscribe(() => {});
    await vi.advanceTimersByTimeAsync(100); // mid-sample
    off();
    const events: TelemetryEvent[] = [];
    t.subscribe((e) => events.push(e));
    await vi.advanceTimersByTimeAsync(3000);
    expect(maxActive).toBe(1);
    expect(events.length).toBe(3); // the in-flight one at 0.5 s, then 1 s, 2 s
    t.close();
  });

  it('emits sampler failures as error events and keeps going; a throwing listener harms no one', async () => {
    vi.useFakeTimers();
    let n = 0;
    const sample = async (): Promise<GpuSample[]> => {
      n++;
      if (n === 2) throw new Error('nvidia-smi did not answer within 5000 ms (killed)');
      return [{ gpu, processes: [] }];
    };
    const t = createTelemetry({ sample, intervalMs: 1000 });
    const events: TelemetryEvent[] = [];
    t.subscribe(() => {
      throw new Error('bad listener');
    });
    t.subscribe((e) => events.push(e));
    await vi.advanceTimersByTimeAsync(2500);
    expect(events.map((e) => e.type)).toEqual(['sample', 'error', 'sample']);
    expect(events[1]).toMatchObject({ type: 'error', error: expect.stringMatching(/did not answer/) });
    t.close();
  });
});

describe('VRAM attribution', () => {
  it('splits the busy recording into AIMA services (children included) and named foreign processes', async () => {
    process.env.AIMA_NVIDIA_SMI_FIXTURE = busy;
    // 41235 is the LLM service's llama-server; 41388 a child process of the ASR worker.
    const own = new Map([
      [41235, 'llm'],
      [41388, 'asr'],
    ]);
    const sampler = createNvidiaSampler({ nvidiaSmiPath: fake, timeoutMs: 10_000 });
    const t = createTelemetry({ sample: sampler, ownPids: () => own, onStop: sampler.close });
    const event = await new Promise<TelemetryEvent>((resolve) => {
      const off = t.subscribe((e) => {
        off();
        resolve(e);
      });
    });
    expect(t.running).toBe(false);
    if (event.type !== 'sample') throw new Error(`expected a sample, got ${event.error}`);
    const [a] = event.attribution;
    expect(a).toMatchObject({
      uuid: 'GPU-4af987a7-9ef5-855d-6102-fb59c1abab1a',
      usedMiB: 30448,
      totalMiB: 81559,
      ownMiB: 18620 + 1210,
      byService: { llm: 18620, asr: 1210 },
      foreignMiB: 9614 + 524,
      unattributedMiB: 30448 - 29968,
    });
    expect(a.foreign).toEqual([
      { pid: 39001, name: '/usr/bin/python3', usedMemoryMiB: 9614 },
      { pid: 40777, name: '/usr/local/bin/ollama', usedMemoryMiB: 524 },
    ]);
    expect(event.gpus[0].gpu).toMatchObject({ utilizationGpu: 87, temperatureC: 61 });
  });

  it('attributes the H200 recording with AIMA\'s LLM worker on CUDA to that service (nvidia-smi names it "node")', async () => {
    process.env.AIMA_NVIDIA_SMI_FIXTURE = path.join(repoRoot, 'test/fixtures/nvidia-smi/h200-141gb/worker');
    const sampler = createNvidiaSampler({ nvidiaSmiPath: fake, timeoutMs: 10_000 });
    const t = createTelemetry({ sample: sampler, ownPids: () => new Map([[4769, 'llm']]), onStop: sampler.close });
    const event = await new Promise<TelemetryEvent>((resolve) => {
      const off = t.subscribe((e) => {
        off();
        resolve(e);
      });
    });
    if (event.type !== 'sample') throw new Error(`expected a sample, got ${event.error}`);
    expect(event.attribution[0]).toMatchObject({ totalMiB: 143771, usedMiB: 705, ownMiB: 696, byService: { llm: 696 }, foreignMiB: 0, unattributedMiB: 9 });
  });

  it('places processes without a GPU UUID only when there is a single GPU', () => {
    const procs = [{ pid: 7, name: 'llama-server', usedMemoryMiB: 500 }];
    const one = attributeGpuMemory([{ gpu, processes: procs }], new Map([[7, 'llm']]));
    expect(one[0]).toMatchObject({ ownMiB: 500, unattributedMiB: 500 });
    const gpu2 = { ...gpu, index: 1, uuid: 'GPU-b' };
    const two = attributeGpuMemory(
      [
        { gpu, processes: procs },
        { gpu: gpu2, processes: [] },
      ],
      new Map([[7, 'llm']]),
    );
    expect(two.map((x) => x.ownMiB)).toEqual([0, 0]);
  });
});

/** Our child processes that are looping fake nvidia-smis (read from /proc; Linux only). */
function loopingChildren(): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8');
      if (ppid === process.pid && cmd.includes('fake-nvidia-smi') && cmd.includes('-lms')) out.push(Number(d));
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

describe('createNvidiaSampler', () => {
  it('stream mode: one looping nvidia-smi feeds the samples, follows changes, and ends with the last subscriber', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'aima-busy-'));
    try {
      cpSync(busy, dir, { recursive: true });
      process.env.AIMA_NVIDIA_SMI_FIXTURE = dir;
      const sampler = createNvidiaSampler({ nvidiaSmiPath: fake, intervalMs: 300, timeoutMs: 10_000 });
      const t = createTelemetry({ sample: sampler, intervalMs: 300, onStop: sampler.close });
      const used: number[] = [];
      const errors: string[] = [];
      let childrenWhileRunning = -1;
      const done = new Promise<void>((resolve) => {
        const off = t.subscribe((e) => {
          if (e.type === 'error') errors.push(e.error);
          else used.push(e.gpus[0].gpu.memoryUsedMiB);
          if (used.length === 2) {
            childrenWhileRunning = loopingChildren().length; // asserted below: listeners' throws are swallowed
            // The GPU's use changes: the looping child re-reads its recording and reports it.
            writeFileSync(path.join(dir, 'query.csv'), readFileSync(path.join(dir, 'query.csv'), 'utf8').replace(' 30448, 50631,', ' 40448, 40631,'));
          }
          if (used.includes(40448)) {
            off();
            resolve();
          }
        });
      });
      await done;
      expect(errors).toEqual([]);
      expect(childrenWhileRunning).toBe(1);
      expect(used[0]).toBe(30448);
      expect(t.running).toBe(false);
      // The loop child is killed when the last subscriber leaves.
      for (let i = 0; i < 50 && loopingChildren().length > 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(loopingChildren()).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('falls back to spawning when nvidia-smi rejects loop mode', async () => {
    process.env.AIMA_NVIDIA_SMI_FIXTURE = busy;
    process.env.AIMA_FAKE_NVIDIA_SMI_MODE = 'no-loop';
    const sampler = createNvidiaSampler({ nvidiaSmiPath: fake, intervalMs: 100, timeoutMs: 10_000 });
    const results: Array<'ok' | 'error'> = [];
    // Drive the sampler directly, one call after another as the telemetry loop would.
    for (let i = 0; i < 9; i++) {
      try {
        const s = await sampler();
        expect(s[0].gpu.memoryUsedMiB).toBe(30448);
        results.push('ok');
      } catch {
        results.push('error');
      }
    }
    sampler.close();
    // Each failed stream costs at most one error; after three, every sample is a plain spawn.
    expect(results.filter((r) => r === 'error').length).toBeLessThanOrEqual(3);
    expect(results.slice(-3)).toEqual(['ok', 'ok', 'ok']);
  });

  it('spawn mode answers every sample with fresh processes', async () => {
    process.env.AIMA_NVIDIA_SMI_FIXTURE = busy;
    const sampler = createNvidiaSampler({ nvidiaSmiPath: fake, mode: 'spawn', timeoutMs: 10_000 });
    const [s] = await sampler();
    expect(s.processes).toHaveLength(4);
    expect(loopingChildren()).toEqual([]);
    sampler.close();
  });
});
