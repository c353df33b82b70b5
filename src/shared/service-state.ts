/**
 * The service lifecycle as a pure transition table: no timers, no processes, no I/O. The
 * supervisor (src/core/services/supervisor.ts) feeds it events and acts on the state it
 * enters (spawn on `starting`, signal on `stopping`, a timer on `backoff`); the UI and the CLI show
 * the same phases.
 *
 * ```
 *            start                spawned             healthy
 *  stopped ────────▶ starting ────────────▶ loading ──────────▶ running
 *   ▲  │ adopt          │                   │  ▲ │                │
 *   │  └────────────────┼──────────────────▶│  │ │ progress,      │
 *   │                   │ spawn-failed      │  └─┘ health-timeout │
 *   │                   ▼                   │      (alive: stays)  │
 *   │           failed{reason} ◀────────────┘ stall-timeout        │
 *   │             ▲  (start → starting, stop → stopped)             │
 *   │             └── exited and the restart policy says no, or the 10th crash in a row
 *   │                 (from starting, loading, running)
 *   │
 *   │ exited   ┌──────────┐ ◀── stop ── starting, loading, running
 *   └───────── │ stopping │
 *              └──────────┘
 *
 *   exited (unexpected)              restart            backoff-elapsed
 *   ───────────────────▶ crashed ────────────▶ backoff ────────────────▶ starting
 *   from starting,          │ stop → stopped      │ stop → stopped, start → starting
 *   loading, running        │ start → starting
 *
 *   node-lost                        adopt (the node answers, the container lives)
 *   ──────────────▶ unreachable ─────────────────────────────────────────────────▶ loading
 *   from loading,       │ exited (the container is gone): as from running (crashed / failed / stopped)
 *   running             │ stop → stopped (the container goes when the node answers again)
 * ```
 *
 * Who owns which transition: the API (`start`, `stop`), the runtime (`spawned`, `spawn-failed`,
 * `exited`, `progress` from log output), the health prober (`healthy`), the supervisor's timers
 * (`health-timeout`, `stall-timeout`, `backoff-elapsed`, `restart`), the startup reconciler
 * (`adopt`), the node heartbeat (`node-lost`; `adopt` again when the node answers).
 *
 * `unreachable` is not a crash: the engine on another machine's node may well be running, AIMA
 * only cannot see it. Nothing is restarted while the node is silent (no restart storm against a
 * machine that does not answer); when it answers, the container is adopted again if it still runs,
 * and counts as an exit if it does not.
 *
 * Rules the table enforces, so that a slow engine is not failed and a dead one is not shown running:
 * - A process that is alive and making progress (log output, health progress) stays `loading`,
 *   however long it takes: `health-timeout` never fails it. Only `stall-timeout` (no progress at
 *   all for the stall period) fails it, with the last log line in the reason.
 * - `running` is never a stored fact: it is entered only from a health check of a live process,
 *   and any exit leaves it at once. `start` from any phase that has no live process starts it.
 *
 * Restart backoff ({@link backoffDelayMs}): 1 s × 2^n for the n-th consecutive crash, capped at
 * 60 s; the count resets after {@link STABLE_RUN_MS} of uninterrupted `running`. After
 * {@link MAX_CONSECUTIVE_CRASHES} crashes in a row without such a stable run the service is
 * `failed` (a model that cannot load would otherwise restart forever).
 */
import { assertNever } from './assert-never.js';

export const servicePhases = ['stopped', 'starting', 'loading', 'running', 'stopping', 'failed', 'crashed', 'backoff', 'unreachable'] as const;
export type ServicePhase = (typeof servicePhases)[number];

export const restartPolicies = ['always', 'on-failure', 'never'] as const;
export type RestartPolicy = (typeof restartPolicies)[number];

export const desiredStates = ['running', 'stopped'] as const;
export type DesiredState = (typeof desiredStates)[number];

/** Every event, as a closed union. */
export type ServiceEvent =
  | { type: 'start' }
  | { type: 'stop'; force?: boolean }
  | { type: 'spawned'; pid: number }
  | { type: 'spawn-failed'; reason: string }
  | { type: 'progress'; line?: string }
  | { type: 'healthy' }
  | { type: 'health-timeout'; afterMs: number }
  | { type: 'stall-timeout'; afterMs: number; lastLine: string | null }
  | { type: 'exited'; code: number | null; signal: string | null; expected: boolean; lastLine?: string | null }
  | { type: 'restart' }
  | { type: 'backoff-elapsed' }
  | { type: 'adopt'; pid: number }
  | { type: 'node-lost'; reason: string };
export type ServiceEventType = ServiceEvent['type'];

export const serviceEventTypes = [
  'start',
  'stop',
  'spawned',
  'spawn-failed',
  'progress',
  'healthy',
  'health-timeout',
  'stall-timeout',
  'exited',
  'restart',
  'backoff-elapsed',
  'adopt',
  'node-lost',
] as const satisfies readonly ServiceEventType[];

/** What the table says about one event in one phase. */
export type Outcome =
  /** Enter `to` (recorded in service_events). */
  | { kind: 'move'; to: ServicePhase; reason: string | null }
  /** Stay in the phase; `note` is worth recording (e.g. "still loading after 600 s"). */
  | { kind: 'stay'; note: string | null }
  /** A stale or redundant event: nothing happens (timers that fired late, a second stop). */
  | { kind: 'ignored'; why: string }
  /** The event cannot happen in this phase; the supervisor logs it as a bug and ignores it. */
  | { kind: 'invalid'; why: string };

/** What the table needs to know besides phase and event. */
export interface TransitionContext {
  restartPolicy: RestartPolicy;
  /** Crashes in a row without a stable run, not counting this one. */
  consecutiveCrashes: number;
}

export const BACKOFF_BASE_MS = 1_000;
export const BACKOFF_CAP_MS = 60_000;
export const STABLE_RUN_MS = 60_000;
export const MAX_CONSECUTIVE_CRASHES = 10;

/** Delay before restart attempt `n` (0-based: the first restart waits 1 s). */
export function backoffDelayMs(n: number): number {
  return Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, Math.min(n, 30)));
}

/** "exit code 1", "killed by SIGKILL". */
export function describeExit(code: number | null, signal: string | null): string {
  if (signal) return `killed by ${signal}`;
  return `exit code ${code ?? 'unknown'}`;
}

const move = (to: ServicePhase, reason: string | null = null): Outcome => ({ kind: 'move', to, reason });
const stay = (note: string | null = null): Outcome => ({ kind: 'stay', note });
const ignored = (why: string): Outcome => ({ kind: 'ignored', why });
const invalid = (why: string): Outcome => ({ kind: 'invalid', why });

/** An unexpected exit of a live process: restart (crashed) or give up (failed). */
function onUnexpectedExit(e: Extract<ServiceEvent, { type: 'exited' }>, ctx: TransitionContext, phase: ServicePhase): Outcome {
  const what = `${phase === 'running' ? 'The engine' : 'The engine, while ' + phase + ','} exited unexpectedly (${describeExit(e.code, e.signal)})`;
  const reason = e.lastLine ? `${what}; last output: ${e.lastLine}` : what;
  const cleanExit = e.code === 0 && !e.signal;
  switch (ctx.restartPolicy) {
    case 'never':
      return move('failed', reason);
    case 'on-failure':
      if (cleanExit) return move('stopped', `${what}.`);
      break;
    case 'always':
      break;
    default:
      return assertNever(ctx.restartPolicy, 'restart policy');
  }
  if (ctx.consecutiveCrashes + 1 >= MAX_CONSECUTIVE_CRASHES) {
    return move('failed', `${reason} — gave up after ${MAX_CONSECUTIVE_CRASHES} crashes in a row.`);
  }
  return move('crashed', reason);
}

/**
 * The transition table. Total by construction: every phase answers every event (the switch over
 * the closed unions is checked by `assertNever`), which test/unit/service-state.test.ts walks.
 */
export function transition(phase: ServicePhase, event: ServiceEvent, ctx: TransitionContext): Outcome {
  switch (phase) {
    case 'stopped':
      switch (event.type) {
        case 'start':
          return move('starting');
        case 'adopt':
          return move('loading', `Adopted the engine process ${event.pid} left running by an earlier core.`);
        case 'stop':
          return ignored('already stopped');
        case 'spawned':
        case 'healthy':
        case 'restart':
          return invalid('no process is being started');
        case 'spawn-failed':
        case 'progress':
        case 'health-timeout':
        case 'stall-timeout':
        case 'exited':
        case 'backoff-elapsed':
          return ignored('stale event for a stopped service');
        case 'node-lost':
          return ignored('no process to lose');
        default:
          return assertNever(event, 'event');
      }
    case 'starting':
      switch (event.type) {
        case 'start':
          return ignored('already starting');
        case 'stop':
          return move('stopping');
        case 'spawned':
          return move('loading');
        case 'spawn-failed':
          return move('failed', event.reason);
        case 'progress':
          return stay();
        case 'healthy':
          return move('running');
        case 'health-timeout':
          return stay(`Still starting after ${Math.round(event.afterMs / 1000)} s.`);
        case 'stall-timeout':
          return move('failed', stallReason(event));
        case 'exited':
          return event.expected ? move('stopped') : onUnexpectedExit(event, ctx, phase);
        case 'restart':
        case 'backoff-elapsed':
          return ignored('stale timer: already starting');
        case 'adopt':
          return invalid('adoption happens only at core startup');
        case 'node-lost':
          return ignored('the start ends on its own: spawned or spawn-failed');
        default:
          return assertNever(event, 'event');
      }
    case 'loading':
      switch (event.type) {
        case 'start':
          return ignored('already loading');
        case 'stop':
          return move('stopping');
        case 'spawned':
          return invalid('the process is already running');
        case 'spawn-failed':
          return invalid('the process is already running');
        case 'progress':
          return stay();
        case 'healthy':
          return move('running');
        case 'health-timeout':
          // A large model can take longer than the health timeout to load: alive and not stalled means still loading.
          return stay(`Still loading after ${Math.round(event.afterMs / 1000)} s; the engine is alive and making progress.`);
        case 'stall-timeout':
          return move('failed', stallReason(event));
        case 'exited':
          return event.expected ? move('stopped') : onUnexpectedExit(event, ctx, phase);
        case 'restart':
        case 'backoff-elapsed':
          return ignored('stale timer: already loading');
        case 'adopt':
          return invalid('adoption happens only at core startup');
        case 'node-lost':
          return move('unreachable', event.reason);
        default:
          return assertNever(event, 'event');
      }
    case 'running':
      switch (event.type) {
        case 'start':
          return ignored('already running');
        case 'stop':
          return move('stopping');
        case 'spawned':
        case 'spawn-failed':
          return invalid('the process is already running');
        case 'progress':
        case 'healthy':
          return stay();
        case 'health-timeout':
        case 'stall-timeout':
          return ignored('load timers do not apply once running');
        case 'exited':
          return event.expected ? move('stopped') : onUnexpectedExit(event, ctx, phase);
        case 'restart':
        case 'backoff-elapsed':
          return ignored('stale timer: already running');
        case 'adopt':
          return invalid('adoption happens only at core startup');
        case 'node-lost':
          return move('unreachable', event.reason);
        default:
          return assertNever(event, 'event');
      }
    case 'stopping':
      switch (event.type) {
        case 'start':
          return ignored('stopping: the supervisor starts it again once the process has exited');
        case 'stop':
          return stay(event.force ? 'Stop forced: SIGKILL.' : null);
        case 'exited':
          return move('stopped', event.expected ? null : describeExit(event.code, event.signal));
        case 'progress':
          return stay();
        case 'spawned':
        case 'spawn-failed':
        case 'adopt':
          return invalid('no process is started while stopping');
        case 'healthy':
        case 'health-timeout':
        case 'stall-timeout':
        case 'restart':
        case 'backoff-elapsed':
          return ignored('stopping');
        case 'node-lost':
          return ignored('stopping');
        default:
          return assertNever(event, 'event');
      }
    case 'failed':
      switch (event.type) {
        case 'start':
          return move('starting');
        case 'stop':
          return move('stopped');
        case 'adopt':
          return invalid('adoption happens only at core startup');
        case 'spawned':
        case 'healthy':
          return invalid('a failed service has no process being started');
        case 'spawn-failed':
        case 'progress':
        case 'health-timeout':
        case 'stall-timeout':
        case 'exited':
        case 'restart':
        case 'backoff-elapsed':
          // e.g. the exit of a stalled process the supervisor killed on entering `failed`.
          return ignored('the service has already failed');
        case 'node-lost':
          return ignored('the service has already failed');
        default:
          return assertNever(event, 'event');
      }
    case 'crashed':
      switch (event.type) {
        case 'restart':
          return move('backoff');
        case 'start':
          return move('starting');
        case 'stop':
          return move('stopped');
        case 'spawned':
        case 'healthy':
        case 'adopt':
          return invalid('a crashed service has no process');
        case 'spawn-failed':
        case 'progress':
        case 'health-timeout':
        case 'stall-timeout':
        case 'exited':
        case 'backoff-elapsed':
          return ignored('stale event for a crashed service');
        case 'node-lost':
          return ignored('a crashed service has no process');
        default:
          return assertNever(event, 'event');
      }
    case 'backoff':
      switch (event.type) {
        case 'backoff-elapsed':
          return move('starting');
        case 'start':
          // The user asked: no need to wait for the timer.
          return move('starting');
        case 'stop':
          return move('stopped');
        case 'spawned':
        case 'healthy':
        case 'adopt':
          return invalid('a service in backoff has no process');
        case 'restart':
          return ignored('already waiting to restart');
        case 'spawn-failed':
        case 'progress':
        case 'health-timeout':
        case 'stall-timeout':
        case 'exited':
          return ignored('stale event for a service waiting to restart');
        case 'node-lost':
          return ignored('a service in backoff has no process');
        default:
          return assertNever(event, 'event');
      }
    case 'unreachable':
      switch (event.type) {
        case 'adopt':
          return move('loading', 'The node answers again: adopted its container.');
        case 'exited':
          return event.expected ? move('stopped') : onUnexpectedExit(event, ctx, 'running');
        case 'stop':
          return move('stopped', "Stopped while its node did not answer; the container is removed when the node answers again.");
        case 'start':
          return ignored('waiting for the node to answer');
        case 'progress':
          return stay();
        case 'node-lost':
          return ignored('already unreachable');
        case 'spawned':
        case 'spawn-failed':
          return invalid('nothing is started while the node does not answer');
        case 'healthy':
        case 'health-timeout':
        case 'stall-timeout':
        case 'restart':
        case 'backoff-elapsed':
          return ignored('waiting for the node to answer');
        default:
          return assertNever(event, 'event');
      }
    default:
      return assertNever(phase, 'phase');
  }
}

function stallReason(e: Extract<ServiceEvent, { type: 'stall-timeout' }>): string {
  const secs = Math.round(e.afterMs / 1000);
  return e.lastLine
    ? `The engine made no progress for ${secs} s while loading; last output: ${e.lastLine}`
    : `The engine made no progress for ${secs} s while loading and printed nothing.`;
}

/** Phases in which a process exists (or may, while it is being stopped). */
export function hasProcess(phase: ServicePhase): boolean {
  switch (phase) {
    case 'starting':
    case 'loading':
    case 'running':
    case 'stopping':
      return true;
    case 'stopped':
    case 'failed':
    case 'crashed':
    case 'backoff':
      return false;
    case 'unreachable':
      // The engine may live on a silent node, but AIMA can neither reach nor stop it until the node answers.
      return false;
    default:
      return assertNever(phase, 'phase');
  }
}

/** Phases a `start --wait` stops waiting at. */
export function isSettled(phase: ServicePhase): boolean {
  return phase === 'running' || phase === 'failed' || phase === 'stopped';
}
