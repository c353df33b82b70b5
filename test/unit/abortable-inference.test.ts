/**
 * The ASR worker's queue mechanics, with scripted units standing in for inference processes (the
 * real processes and model are exercised in test/integration/asr-worker-abort.test.ts): who is
 * dropped, who is killed, which unit takes the next job, and when a spare's load is paused.
 */
import { describe, expect, it } from 'vitest';
import { AbortableInference, TranscriptionAborted, type InferenceUnit, type Loading } from '../../src/workers/asr/abortable-inference.js';

class ScriptedUnit implements InferenceUnit {
  alive = true;
  readonly runs: string[] = [];
  private finish: (() => void) | undefined;
  constructor(readonly name: string) {}
  transcribe(samples: Float32Array): Promise<string> {
    this.runs.push(String(samples[0]));
    return new Promise((resolve, reject) => {
      this.finish = () => resolve(`${this.name}:${samples[0]}`);
      this.kill = () => {
        this.alive = false;
        reject(new Error('killed'));
      };
    });
  }
  done(): void {
    this.finish?.();
  }
  kill(): void {
    this.alive = false;
  }
}

function harness() {
  const events: string[] = [];
  const launched: ScriptedUnit[] = [];
  const loads: ((u: ScriptedUnit) => void)[] = [];
  const launch = (): Loading<ScriptedUnit> => {
    const unit = new ScriptedUnit(`spare${launched.length + 1}`);
    launched.push(unit);
    return {
      ready: new Promise((resolve) => loads.push(() => resolve(unit))),
      pause: () => events.push(`pause ${unit.name}`),
      resume: () => events.push(`resume ${unit.name}`),
      kill: () => events.push(`kill ${unit.name}`),
    };
  };
  const first = new ScriptedUnit('first');
  const q = new AbortableInference(first, launch);
  const loadSpare = async (i: number) => {
    loads[i](launched[i]);
    await tick();
  };
  return { q, first, launched, events, loadSpare };
}

const tick = () => new Promise((r) => setTimeout(r, 0));
const job = (q: AbortableInference<ScriptedUnit>, signal: AbortSignal, n: number) => q.run(signal, (u) => u.transcribe(Float32Array.of(n)));

describe('AbortableInference', () => {
  it('drops a job aborted while queued without running it', async () => {
    const { q, first } = harness();
    const a = job(q, new AbortController().signal, 1);
    const ac = new AbortController();
    const b = job(q, ac.signal, 2);
    await tick();
    ac.abort();
    await expect(b).rejects.toBeInstanceOf(TranscriptionAborted);
    first.done();
    await expect(a).resolves.toBe('first:1');
    await tick();
    expect(first.runs).toEqual(['1']);
    expect(q.aborts).toEqual({ dropped: 1, cancelled: 0 });
  });

  it('drops a job whose signal had aborted before it was queued', async () => {
    const { q } = harness();
    const ac = new AbortController();
    ac.abort();
    await expect(job(q, ac.signal, 1)).rejects.toBeInstanceOf(TranscriptionAborted);
    expect(q.aborts).toEqual({ dropped: 1, cancelled: 0 });
  });

  it('kills the unit of a running job and runs the next on the loaded spare at once', async () => {
    const { q, first, launched, loadSpare } = harness();
    await loadSpare(0);
    expect(q.spareState).toBe('ready');
    const ac = new AbortController();
    const a = job(q, ac.signal, 1);
    await tick();
    ac.abort();
    await expect(a).rejects.toBeInstanceOf(TranscriptionAborted);
    expect(first.alive).toBe(false);
    const b = job(q, new AbortController().signal, 2);
    await tick();
    expect(launched[0].runs).toEqual(['2']);
    launched[0].done();
    await expect(b).resolves.toBe('spare1:2');
    expect(q.aborts).toEqual({ dropped: 0, cancelled: 1 });
  });

  it('pauses a loading spare while a job runs and resumes it when idle', async () => {
    const { q, first, events } = harness();
    expect(q.spareState).toBe('loading');
    const a = job(q, new AbortController().signal, 1);
    await tick();
    expect(events).toEqual(['pause spare1']);
    first.done();
    await a;
    await tick();
    expect(events).toEqual(['pause spare1', 'resume spare1']);
    expect(q.busy).toBe(false);
  });

  it('a job arriving with no live unit waits for the spare, resumed, and a new spare starts afterwards', async () => {
    const { q, launched, events, loadSpare } = harness();
    const ac = new AbortController();
    const a = job(q, ac.signal, 1);
    await tick();
    ac.abort();
    await expect(a).rejects.toBeInstanceOf(TranscriptionAborted);
    const b = job(q, new AbortController().signal, 2);
    await tick();
    expect(events.at(-1)).toBe('resume spare1');
    expect(launched[0].runs).toEqual([]);
    await loadSpare(0);
    expect(launched[0].runs).toEqual(['2']);
    launched[0].done();
    await b;
    await tick();
    expect(launched.map((u) => u.name)).toEqual(['spare1', 'spare2']);
  });

  it('close kills the active unit and the spare and rejects queued jobs', async () => {
    const { q, first, events } = harness();
    const a = job(q, new AbortController().signal, 1);
    const b = job(q, new AbortController().signal, 2);
    await tick();
    q.close();
    await expect(b).rejects.toThrow(/stopping/);
    await expect(a).rejects.toThrow(/killed/);
    expect(first.alive).toBe(false);
    expect(events).toContain('kill spare1');
  });
});
