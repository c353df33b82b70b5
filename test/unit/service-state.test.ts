import { describe, expect, it } from 'vitest';
import {
  BACKOFF_CAP_MS,
  MAX_CONSECUTIVE_CRASHES,
  backoffDelayMs,
  servicePhases,
  serviceEventTypes,
  transition,
  type Outcome,
  type ServiceEvent,
  type ServiceEventType,
  type ServicePhase,
  type TransitionContext,
} from '../../src/shared/service-state.js';

const ctx: TransitionContext = { restartPolicy: 'on-failure', consecutiveCrashes: 0 };

/** One representative event of each type. */
const sample: Record<ServiceEventType, ServiceEvent> = {
  start: { type: 'start' },
  stop: { type: 'stop' },
  spawned: { type: 'spawned', pid: 42 },
  'spawn-failed': { type: 'spawn-failed', reason: 'not found' },
  progress: { type: 'progress', line: 'loading 10%' },
  healthy: { type: 'healthy' },
  'health-timeout': { type: 'health-timeout', afterMs: 600_000 },
  'stall-timeout': { type: 'stall-timeout', afterMs: 120_000, lastLine: 'loading tensors 42%' },
  exited: { type: 'exited', code: null, signal: 'SIGKILL', expected: false, lastLine: 'segfault in ggml' },
  restart: { type: 'restart' },
  'backoff-elapsed': { type: 'backoff-elapsed' },
  adopt: { type: 'adopt', pid: 42 },
  'node-lost': { type: 'node-lost', reason: 'Node "b" stopped answering' },
};

type Expect = ServicePhase | 'stay' | 'ignored' | 'invalid';

/**
 * The whole table, written out: every phase × event. A change to the state machine has to change
 * this table too, on purpose.
 */
const expected: Record<ServicePhase, Record<ServiceEventType, Expect>> = {
  stopped: {
    start: 'starting', stop: 'ignored', spawned: 'invalid', 'spawn-failed': 'ignored', progress: 'ignored', healthy: 'invalid',
    'health-timeout': 'ignored', 'stall-timeout': 'ignored', exited: 'ignored', restart: 'invalid', 'backoff-elapsed': 'ignored', adopt: 'loading', 'node-lost': 'ignored',
  },
  starting: {
    start: 'ignored', stop: 'stopping', spawned: 'loading', 'spawn-failed': 'failed', progress: 'stay', healthy: 'running',
    'health-timeout': 'stay', 'stall-timeout': 'failed', exited: 'crashed', restart: 'ignored', 'backoff-elapsed': 'ignored', adopt: 'invalid', 'node-lost': 'ignored',
  },
  loading: {
    start: 'ignored', stop: 'stopping', spawned: 'invalid', 'spawn-failed': 'invalid', progress: 'stay', healthy: 'running',
    'health-timeout': 'stay', 'stall-timeout': 'failed', exited: 'crashed', restart: 'ignored', 'backoff-elapsed': 'ignored', adopt: 'invalid', 'node-lost': 'unreachable',
  },
  running: {
    start: 'ignored', stop: 'stopping', spawned: 'invalid', 'spawn-failed': 'invalid', progress: 'stay', healthy: 'stay',
    'health-timeout': 'ignored', 'stall-timeout': 'ignored', exited: 'crashed', restart: 'ignored', 'backoff-elapsed': 'ignored', adopt: 'invalid', 'node-lost': 'unreachable',
  },
  stopping: {
    start: 'ignored', stop: 'stay', spawned: 'invalid', 'spawn-failed': 'invalid', progress: 'stay', healthy: 'ignored',
    'health-timeout': 'ignored', 'stall-timeout': 'ignored', exited: 'stopped', restart: 'ignored', 'backoff-elapsed': 'ignored', adopt: 'invalid', 'node-lost': 'ignored',
  },
  failed: {
    start: 'starting', stop: 'stopped', spawned: 'invalid', 'spawn-failed': 'ignored', progress: 'ignored', healthy: 'invalid',
    'health-timeout': 'ignored', 'stall-timeout': 'ignored', exited: 'ignored', restart: 'ignored', 'backoff-elapsed': 'ignored', adopt: 'invalid', 'node-lost': 'ignored',
  },
  crashed: {
    start: 'starting', stop: 'stopped', spawned: 'invalid', 'spawn-failed': 'ignored', progress: 'ignored', healthy: 'invalid',
    'health-timeout': 'ignored', 'stall-timeout': 'ignored', exited: 'ignored', restart: 'backoff', 'backoff-elapsed': 'ignored', adopt: 'invalid', 'node-lost': 'ignored',
  },
  backoff: {
    start: 'starting', stop: 'stopped', spawned: 'invalid', 'spawn-failed': 'ignored', progress: 'ignored', healthy: 'invalid',
    'health-timeout': 'ignored', 'stall-timeout': 'ignored', exited: 'ignored', restart: 'ignored', 'backoff-elapsed': 'starting', adopt: 'invalid', 'node-lost': 'ignored',
  },
  unreachable: {
    start: 'ignored', stop: 'stopped', spawned: 'invalid', 'spawn-failed': 'invalid', progress: 'stay', healthy: 'ignored',
    'health-timeout': 'ignored', 'stall-timeout': 'ignored', exited: 'crashed', restart: 'ignored', 'backoff-elapsed': 'ignored', adopt: 'loading', 'node-lost': 'ignored',
  },
};

const summarize = (o: Outcome): Expect => (o.kind === 'move' ? o.to : o.kind);

describe('service state machine: the full table', () => {
  const pairs = servicePhases.flatMap((phase) => serviceEventTypes.map((type) => [phase, type] as const));

  it('covers every phase × event pair (9 × 13)', () => {
    expect(pairs).toHaveLength(servicePhases.length * serviceEventTypes.length);
    expect(new Set(serviceEventTypes).size).toBe(serviceEventTypes.length);
  });

  it.each(pairs)('%s + %s', (phase, type) => {
    const outcome = transition(phase, sample[type], ctx);
    expect(summarize(outcome)).toBe(expected[phase][type]);
    if (outcome.kind === 'ignored' || outcome.kind === 'invalid') expect(outcome.why.length).toBeGreaterThan(0);
  });
});

describe('service state machine: the rules that matter', () => {
  it('a health timeout while alive never fails a loading service', () => {
    const o = transition('loading', { type: 'health-timeout', afterMs: 900_000 }, ctx);
    expect(o).toMatchObject({ kind: 'stay' });
    expect((o as { note: string }).note).toMatch(/Still loading after 900 s/);
  });

  it('a stall fails it, with the last log line in the reason', () => {
    const o = transition('loading', { type: 'stall-timeout', afterMs: 120_000, lastLine: 'llama_model_load: tensor 17/291' }, ctx);
    expect(o).toMatchObject({ kind: 'move', to: 'failed' });
    expect((o as { reason: string }).reason).toContain('llama_model_load: tensor 17/291');
    expect((o as { reason: string }).reason).toContain('120 s');
  });

  it('an expected exit (we stopped it) ends in stopped; an unexpected one crashes with the exit and last line', () => {
    expect(transition('stopping', { type: 'exited', code: 0, signal: null, expected: true }, ctx)).toMatchObject({ kind: 'move', to: 'stopped' });
    const o = transition('running', { type: 'exited', code: null, signal: 'SIGKILL', expected: false, lastLine: 'bye' }, ctx);
    expect(o).toMatchObject({ kind: 'move', to: 'crashed' });
    expect((o as { reason: string }).reason).toMatch(/killed by SIGKILL.*last output: bye/);
  });

  it('restart policies: never → failed, on-failure + clean exit → stopped, always → crashed', () => {
    const clean: ServiceEvent = { type: 'exited', code: 0, signal: null, expected: false };
    expect(transition('running', clean, { restartPolicy: 'never', consecutiveCrashes: 0 })).toMatchObject({ kind: 'move', to: 'failed' });
    expect(transition('running', clean, { restartPolicy: 'on-failure', consecutiveCrashes: 0 })).toMatchObject({ kind: 'move', to: 'stopped' });
    expect(transition('running', clean, { restartPolicy: 'always', consecutiveCrashes: 0 })).toMatchObject({ kind: 'move', to: 'crashed' });
    const crash: ServiceEvent = { type: 'exited', code: 1, signal: null, expected: false };
    expect(transition('loading', crash, { restartPolicy: 'on-failure', consecutiveCrashes: 0 })).toMatchObject({ kind: 'move', to: 'crashed' });
  });

  it(`gives up after ${MAX_CONSECUTIVE_CRASHES} crashes in a row`, () => {
    const crash: ServiceEvent = { type: 'exited', code: 1, signal: null, expected: false };
    expect(transition('loading', crash, { restartPolicy: 'always', consecutiveCrashes: MAX_CONSECUTIVE_CRASHES - 2 })).toMatchObject({ kind: 'move', to: 'crashed' });
    const o = transition('loading', crash, { restartPolicy: 'always', consecutiveCrashes: MAX_CONSECUTIVE_CRASHES - 1 });
    expect(o).toMatchObject({ kind: 'move', to: 'failed' });
    expect((o as { reason: string }).reason).toMatch(/gave up after 10 crashes/);
  });

  it('start works from every phase without a live process (a stale "running" can never block it)', () => {
    for (const phase of ['stopped', 'failed', 'crashed', 'backoff'] as const) {
      expect(transition(phase, { type: 'start' }, ctx)).toMatchObject({ kind: 'move', to: 'starting' });
    }
  });

  it('backoff: 1 s × 2^n, capped at 60 s', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 40].map(backoffDelayMs)).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, BACKOFF_CAP_MS]);
  });
});
