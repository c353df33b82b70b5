/**
 * The scheduler's parts around the planner: RSS of a process tree, durations as people write them,
 * and the idle unload's rules (TTL, the on-demand default, and the services it never stops: pinned,
 * busy at the gateway, held by a voice session, started by the user without a TTL).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { formatDuration, parseDurationSeconds } from '../../src/shared/duration.js';
import { treeRss } from '../../src/core/scheduler/measure.js';
import { ServiceActivity, VoiceUsage } from '../../src/core/scheduler/activity.js';
import { Scheduler, defaultMemoryCapBytes, type SchedulerDeps } from '../../src/core/scheduler/scheduler.js';
import type { ServiceSummary } from '../../src/shared/contract/index.js';

describe('treeRss', () => {
  it('sums a process with its descendants, per root, and survives a ppid loop', () => {
    const table = [
      { pid: 10, ppid: 1, rssBytes: 100 },
      { pid: 11, ppid: 10, rssBytes: 20 },
      { pid: 12, ppid: 11, rssBytes: 3 },
      { pid: 20, ppid: 1, rssBytes: 50 },
      { pid: 30, ppid: 31, rssBytes: 1 },
      { pid: 31, ppid: 30, rssBytes: 2 },
    ];
    expect(treeRss(table, [10, 20, 30, 99])).toEqual(
      new Map([
        [10, 123],
        [20, 50],
        [30, 3],
      ]),
    );
  });
});

describe('durations', () => {
  it.each([
    ['0', 0],
    ['45', 45],
    ['90s', 90],
    ['10m', 600],
    ['1h30m', 5400],
    ['2d', 172_800],
    [' 10M ', 600],
    ['-1', null],
    ['abc', null],
    ['1.5m', null],
    ['10 m', null],
    ['', null],
  ])('parses %j as %j', (text, seconds) => expect(parseDurationSeconds(text)).toBe(seconds));
  it.each([
    [0, '0s'],
    [45, '45s'],
    [600, '10m'],
    [5400, '1h 30m'],
    [90_061, '1d 1h'],
  ])('formats %j as %j', (s, text) => expect(formatDuration(s)).toBe(text));
});

describe('defaultMemoryCapBytes', () => {
  it('keeps 10 % for the system, at least 1 GiB, at most half', () => {
    const GiB = 1024 ** 3;
    expect(defaultMemoryCapBytes(64 * GiB)).toBe(Math.floor(64 * GiB * 0.9));
    expect(defaultMemoryCapBytes(4 * GiB)).toBe(3 * GiB);
    expect(defaultMemoryCapBytes(1 * GiB)).toBe(0.5 * GiB);
  });
});

describe('idle unload', () => {
  let scheduler: Scheduler | null = null;
  afterEach(() => scheduler?.close());

  it('stops services past their TTL and none of those it must keep', async () => {
    const past = Date.now() - 60_000;
    const views: Record<string, { idleTtl: number | null; pinned: boolean; startedOnDemand: boolean; model?: string }> = {
      ttl: { idleTtl: 5, pinned: false, startedOnDemand: false },
      'on-demand': { idleTtl: null, pinned: false, startedOnDemand: true },
      'user-started': { idleTtl: null, pinned: false, startedOnDemand: false },
      never: { idleTtl: 0, pinned: false, startedOnDemand: true },
      pinned: { idleTtl: 5, pinned: true, startedOnDemand: false },
      busy: { idleTtl: 5, pinned: false, startedOnDemand: false },
      voice: { idleTtl: 5, pinned: false, startedOnDemand: false, model: 'whisper' },
      'used-lately': { idleTtl: 5, pinned: false, startedOnDemand: false },
    };
    const activity = new ServiceActivity();
    const voice = new VoiceUsage();
    voice.hold({}, ['whisper', 'llm', 'tts']);
    activity.begin('busy'); // never ends: a request in flight
    activity.touch('used-lately');
    const stopped: { name: string; why: string; reason: string }[] = [];
    const summaries = Object.entries(views).map(([name, v]) => ({ name, state: 'running', model: v.model ?? null, since: new Date(past).toISOString() }) as ServiceSummary);
    const deps: SchedulerDeps = {
      supervisor: {
        list: () => summaries.filter((s) => !stopped.some((x) => x.name === s.name)),
        get: (name: string) => summaries.find((s) => s.name === name)!,
        schedulerView: (name: string) => ({ ...views[name]!, startedAt: past }),
        stopBy: async (name: string, why: 'evict' | 'idle', reason: string) => {
          stopped.push({ name, why, reason });
          return summaries.find((s) => s.name === name)!;
        },
        assignPlacement: () => {},
        setMeasured: () => {},
        note: () => {},
      } as unknown as SchedulerDeps['supervisor'],
      activity,
      voice,
      settings: () => ({ servicesMemoryCapMiB: null, onDemandIdleTtlSeconds: 30, antiThrashSeconds: 30 }),
      listGpus: async () => [],
      idleCheckMs: 20,
    };
    scheduler = new Scheduler(deps);
    scheduler.start();
    await new Promise((r) => setTimeout(r, 200));
    expect(stopped.map((s) => s.name).sort()).toEqual(['on-demand', 'ttl']);
    expect(stopped.every((s) => s.why === 'idle')).toBe(true);
    expect(stopped.find((s) => s.name === 'ttl')!.reason).toMatch(/^idle for 5s \(no request since .*\); the next request starts it again$/);
    expect(stopped.find((s) => s.name === 'on-demand')!.reason).toMatch(/^idle for 30s/);
    expect(scheduler.idleUnloadCount('ttl')).toBe(1);
    expect(scheduler.idleUnloadCount('busy')).toBe(0);
  });
});
