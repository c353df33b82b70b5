/**
 * The service supervisor: owns every service's live state and moves it toward the stored desired
 * state with the pure transition table (src/shared/service-state.ts). Its inputs:
 * - API calls (create, start, stop, restart, remove);
 * - our children's exits, at once (we are their parent);
 * - for processes adopted from PID files (not our children, so no exit event): a 250 ms poll of
 *   PID + start time, which meets the 1 s detection target;
 * - log output (followed with inotify) as `progress`, health probes as `healthy`;
 * - timers: backoff, stall and health timeouts; the same 250 ms tick is the slow safety net that
 *   re-checks liveness of every process, children included.
 * At startup it adopts live engines by PID file, forgets vanished ones, and restores services
 * whose desired state is running.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { ModelSummary } from '../../shared/contract/models.js';
import type { EngineList, ServiceCreateParams, ServicePlacement, ServiceSpan, ServiceSummary } from '../../shared/contract/services.js';
import { ServiceCreateParams as ServiceCreateSchema } from '../../shared/contract/services.js';
import { AimaError, toAimaError } from '../../shared/errors.js';
import {
  MAX_CONSECUTIVE_CRASHES,
  STABLE_RUN_MS,
  backoffDelayMs,
  hasProcess,
  isSettled,
  transition,
  type ServiceEvent,
  type ServicePhase,
} from '../../shared/service-state.js';
import type { CatalogItem, Catalog, HostFacts } from '../engines/catalog.js';
import { canRun, summarizeEngine } from '../engines/catalog.js';
import type { OperationContext } from '../operations/operations.js';
import { LogFollower } from '../runtimes/native/log-file.js';
import { readPidFile, removePidFile } from '../runtimes/native/pid-file.js';
import type { EngineHandle, Runtime } from '../runtimes/types.js';
import type { ServiceRecord, ServiceRecordPatch, ServicesRepo } from '../store/repositories/services-repo.js';
import { allocatePort, checkDevice, checkGpus, checkModelForEngine, checkModelPresent, checkPortFree, requireEngine } from './guards.js';
import { checkModelOnNode, modelOnNodesOf } from '../runtimes/docker/model-on-node.js';
import { checkHubModel, hubModelOf } from '../runtimes/docker/hub-model.js';
import type { GpuRef } from '../hardware/types.js';
import { LOCAL_NODE } from '../nodes/node-facts.js';
import type { ServiceEndpoint } from '../nodes/service-endpoint.js';
import type { EngineTls } from '../nodes/reach/container-reach.js';
import { joinHostPort } from '../../shared/host-port.js';

/** What the supervisor asks about nodes (the nodes feature's registry answers). */
export interface SupervisorNodes {
  /** Where a service on the node publishes its port and where it is reached. */
  endpoint(node: string): ServiceEndpoint;
  /** Why the node does not answer now, or null when it does. */
  unreachable(node: string): string | null;
  /** The node's GPUs as its facts list them (another machine's node), or null when unknown. */
  gpus(node: string): GpuRef[] | null;
}

/** What the supervisor needs from the rest of the core (seams for tests). */
export interface SupervisorDeps {
  repo: ServicesRepo;
  models: { getById(id: string): ModelSummary | null; getByName(name: string): ModelSummary | null };
  /** Reloaded on every create/start and engines.list, so a new user entry needs no restart. */
  loadCatalog: () => Catalog;
  /** Native processes and Docker containers behind one interface (runtimes/router.ts). */
  runtime: Runtime;
  host: Omit<HostFacts, 'gpuCount'>;
  listGpus: () => Promise<GpuRef[]>;
  /** <dataDir>/logs/services and <dataDir>/run. */
  logsDir: string;
  runDir: string;
  onChange: (all: ServiceSummary[]) => void;
  onLog: (name: string, lines: string[]) => void;
  /** Running inside Electron ({{node}} needs ELECTRON_RUN_AS_NODE). */
  electron?: boolean;
  /** Bind address of engines. */
  bindHost?: string;
  timing?: Partial<SupervisorTiming>;
  /**
   * The placement step, before every start of a process (the user's, on demand, a restore): it may
   * stop idle services to make room (a service across nodes: its nodes' facts are read), and throws
   * to refuse the start (nothing changes then).
   */
  place?: (name: string, opts: { ignoreFit?: boolean; onDemand?: boolean }) => Promise<void>;
  /** Nodes other than this machine's engine; without it every service is local. */
  nodes?: SupervisorNodes;
  /** AIMA's Hugging Face token (HF_TOKEN or the secret store), given to engines that download a Hub id; null: none set. */
  hubToken?: () => string | null;
}

export interface SupervisorTiming {
  /** Liveness poll of adopted processes, follower fallback, stall/health checks. */
  tickMs: number;
  /** Health probe interval while loading: fast at first, slower later. */
  probeFastMs: number;
  probeFastForMs: number;
  probeSlowMs: number;
  stableRunMs: number;
  /** Overrides of the catalog's timeouts (tests). */
  stallTimeoutMs?: number;
  healthTimeoutMs?: number;
  stopGraceMs?: number;
  backoff?: (n: number) => number;
}

const defaultTiming: SupervisorTiming = { tickMs: 250, probeFastMs: 50, probeFastForMs: 5_000, probeSlowMs: 500, stableRunMs: STABLE_RUN_MS };

interface Live {
  record: ServiceRecord;
  phase: ServicePhase;
  reason: string | null;
  since: number;
  handle: EngineHandle | null;
  engine: CatalogItem | null;
  follower: LogFollower | null;
  lastLine: string | null;
  lastProgressAt: number;
  lastHealthProgress: number | null;
  loadingSince: number;
  healthNoted: boolean;
  consecutiveCrashes: number;
  /** Every crash since the core started (never reset): a waiter tells a new crash by it. */
  crashCount: number;
  generation: number;
  launching: Promise<void> | null;
  /** An in-flight stop or kill; a start waits for it. */
  stopping: Promise<void> | null;
  probeTimer: NodeJS.Timeout | null;
  probing: boolean;
  backoffTimer: NodeJS.Timeout | null;
  /** When the running backoff timer fires (epoch ms), for start on demand's Retry-After. */
  backoffUntil: number | null;
  /** The reason of the last crash, kept through `backoff` (whose own reason is empty). */
  lastCrash: string | null;
  stableTimer: NodeJS.Timeout | null;
  /** When the tick first saw the process dead without an exit event yet. */
  deadSince: number | null;
  changes: EventEmitter;
  /** The scheduler's last decision for it, and the GPUs it chose when the service names none. */
  placement: ServicePlacement | null;
  placedGpus: number[] | null;
  /** Why AIMA itself stopped it (idle, evicted): kept as the stopped state's reason. */
  stopReason: string | null;
  evictions: number;
  /** Epoch ms of the last start; whether that start came from the gateway (start on demand). */
  startedAt: number;
  startedOnDemand: boolean;
}

/** Why AIMA stops a service by itself: recorded as the service event's name. */
export type SchedulerStop = 'evict' | 'idle';

/** Start on demand refused: the service is `failed` or waiting out its crash backoff (retryAfterSeconds then says how long). */
export class StartRefused extends AimaError {
  constructor(
    readonly why: 'failed' | 'backoff',
    message: string,
    fix: string,
    readonly retryAfterSeconds: number | null,
  ) {
    super('unavailable', message, fix);
    this.name = 'StartRefused';
  }
}

const isAimaHeader = (line: string) => line.startsWith('--- aima ');

/** The nodes a service needs to answer: its span's (the head first), or its one node. */
const nodesOf = (r: ServiceRecord): readonly string[] => r.span?.nodes ?? [r.node];
/** The node whose engine serves the service's HTTP: a span's head, or its one node. */
const headOf = (r: ServiceRecord): string => nodesOf(r)[0]!;

/**
 * The span a create asks for: --nodes with the parallel sizes (pipeline 1 unless given; tensor the
 * nodes' GPUs over the stages is filled in by the services feature, which knows the nodes), or null.
 * The parallel sizes without --nodes are refused: they mean nothing on one node here.
 */
function spanOf(p: { nodes?: string[]; tensorParallel?: number; pipelineParallel?: number }): ServiceSpan | null {
  if (!p.nodes) {
    if (p.tensorParallel !== undefined || p.pipelineParallel !== undefined) {
      throw new AimaError('bad-request', '--tensor-parallel and --pipeline-parallel apply to a model served across nodes.', 'Add --nodes a,b (the first is the head), or leave them out.');
    }
    return null;
  }
  return { nodes: p.nodes, tensorParallel: p.tensorParallel ?? 1, pipelineParallel: p.pipelineParallel ?? 1 };
}

export class ServiceSupervisor {
  private readonly live = new Map<string, Live>();
  private readonly timing: SupervisorTiming;
  private tick: NodeJS.Timeout | null = null;
  private gpuCache: { at: number; gpus: Promise<GpuRef[]> } | null = null;
  private closed = false;
  private shuttingDown = false;

  constructor(private readonly deps: SupervisorDeps) {
    this.timing = { ...defaultTiming, ...deps.timing };
  }

  // ---------------------------------------------------------------- startup and shutdown

  /**
   * Adopts live engines by PID file, forgets vanished ones, restores services that should run.
   * A service that should run on a node in `silentNodes` (its engine did not answer) — a span: on
   * any node in `spanSilentNodes` (where its members could not be listed) — is `unreachable` until
   * the node answers (see {@link nodeBack}).
   */
  async init(silentNodes: ReadonlySet<string> = new Set(), spanSilentNodes: ReadonlySet<string> = new Set()): Promise<void> {
    const restore: Live[] = [];
    for (const record of this.deps.repo.list()) {
      const live = this.newLive(record);
      this.live.set(record.id, live);
      const pidFile = this.pidFile(record);
      const handle = this.deps.runtime.adopt(pidFile, record.id);
      if (handle) {
        void this.adoptHandle(live, handle);
        continue;
      }
      const rec = readPidFile(pidFile);
      if (rec) {
        // Vanished while no core watched it (or its PID now belongs to another process): never adopted, never signalled.
        removePidFile(pidFile);
        this.record(live, 'stopped', 'stopped', 'vanished', `The engine (pid ${rec.pid}) exited while no AIMA core was watching it.`);
        live.reason = `The engine (pid ${rec.pid}) exited while no AIMA core was watching it.`;
      }
      const silent = record.span ? record.span.nodes.find((n) => spanSilentNodes.has(n)) : silentNodes.has(record.node) ? record.node : undefined;
      if (record.desiredState === 'running' && silent !== undefined) {
        const what = record.span ? `Node "${silent}" of its span did not answer when the core started; the group is adopted or started when it does.` : `Node "${silent}" did not answer when the core started; the service is adopted or started when it does.`;
        this.setPhase(live, 'unreachable', this.deps.nodes?.unreachable(silent) ?? what);
      } else if (record.desiredState === 'running') restore.push(live);
    }
    this.tick = setInterval(() => this.onTick(), this.timing.tickMs);
    this.tick.unref();
    for (const live of restore) {
      try {
        await this.startLive(live, { resetCrashes: true });
      } catch (err) {
        const e = toAimaError(err);
        this.record(live, live.phase, 'failed', 'start', `Could not restore at core start: ${e.message}`);
        this.setPhase(live, 'failed', `Could not restore at core start: ${e.message}${e.fix ? ' ' + e.fix : ''}`);
      }
    }
    this.emitChange();
  }

  /**
   * Called when the core closes. stopServices: stop every engine (desired states are kept, so the
   * next core start restores them); otherwise leave them running for the next core to adopt.
   */
  async shutdown(opts: { stopServices: boolean }): Promise<void> {
    if (this.tick) clearInterval(this.tick);
    this.tick = null;
    this.shuttingDown = true;
    if (opts.stopServices) {
      await Promise.all(
        [...this.live.values()].map(async (live) => {
          this.clearBackoff(live);
          if (live.launching) await live.launching;
          if (hasProcess(live.phase) || live.stopping) {
            if (live.phase !== 'stopping') this.dispatch(live, { type: 'stop' }, 'core shutdown');
            await live.stopping;
          }
        }),
      );
    }
    this.closed = true;
    for (const live of this.live.values()) this.detach(live);
  }

  // ---------------------------------------------------------------- API

  list(): ServiceSummary[] {
    return [...this.live.values()].sort((a, b) => a.record.name.localeCompare(b.record.name)).map((l) => this.summary(l));
  }

  get(name: string): ServiceSummary {
    return this.summary(this.byName(name));
  }

  /** The CA and key to reach a service's engine with (one serving TLS on another node), or null. */
  upstreamTls(name: string): EngineTls | null {
    const live = [...this.live.values()].find((l) => l.record.name === name);
    return (live && hasProcess(live.phase) ? live.handle?.tls : null) ?? null;
  }

  async engines(): Promise<EngineList> {
    const catalog = this.deps.loadCatalog();
    const needsGpuCount = [...catalog.items.values()].some((i) => !i.entry.devices.includes('cpu'));
    const gpuCount = needsGpuCount ? (await this.gpus()).length : null;
    return {
      engines: [...catalog.items.values()].sort((a, b) => a.entry.id.localeCompare(b.entry.id)).map((i) => summarizeEngine(i, { ...this.deps.host, gpuCount })),
      problems: catalog.problems,
    };
  }

  /** Creates a service; with `replicaOf` (the primary's id) it is one of that service's replicas. */
  async create(raw: ServiceCreateParams, opts: { replicaOf?: string } = {}): Promise<ServiceSummary> {
    const p = ServiceCreateSchema.parse(raw);
    if (this.deps.repo.getByName(p.name)) {
      throw new AimaError('conflict', `A service named "${p.name}" already exists.`, 'Pick another name, or remove it first with `aima service rm`.');
    }
    const catalog = this.deps.loadCatalog();
    const engine = requireEngine(catalog, p.engine);
    let model: ModelSummary | null = null;
    if (p.model) {
      model = this.deps.models.getByName(p.model);
      if (!model) throw new AimaError('not-found', `No model named "${p.model}".`, 'Import it first with `aima model import PATH --name NAME` (see `aima model list`).');
    }
    checkHubModel({ engine: engine.entry, hfModel: p.hfModel ?? null, hfRevision: p.hfRevision ?? null, model: p.model ?? null, modelPathOnNode: p.modelPathOnNode ?? null });
    checkModelForEngine(engine, model, catalog, p.hfModel ?? null);
    checkDevice(engine, p.device, p.gpus);
    if (p.port !== 0) {
      const clash = this.deps.repo.usingPort(p.port).filter((c) => c.node === p.node);
      if (clash.length > 0) {
        throw new AimaError('conflict', `Port ${p.port} is already assigned to service "${clash[0]!.name}".`, 'Pick another --port, or 0 to choose a free one at each start.');
      }
    }
    const record = this.deps.repo.insert({
      id: randomUUID(),
      name: p.name,
      modelId: model?.id ?? null,
      engineId: engine.entry.id,
      device: p.device,
      gpus: p.gpus,
      port: p.port,
      threads: p.threads ?? null,
      ctxSize: p.ctxSize ?? null,
      concurrency: p.concurrency,
      desiredState: 'stopped',
      restartPolicy: p.restartPolicy,
      idleTtl: p.idleTtl ?? null,
      pinned: p.pinned ?? false,
      node: p.node,
      span: spanOf(p),
      modelPathOnNode: p.modelPathOnNode ?? null,
      hfModel: p.hfModel ?? null,
      hfRevision: p.hfRevision ?? null,
    });
    if (opts.replicaOf) {
      this.deps.repo.setReplicaOf(record.id, opts.replicaOf);
      record.replicaOf = opts.replicaOf;
    }
    const live = this.newLive(record);
    this.live.set(record.id, live);
    this.emitChange();
    return this.summary(live);
  }

  /** The user's start: starts from any phase without a process (`failed` and `backoff` included) and resets the crash count. */
  async start(name: string, opts: { wait?: boolean; timeoutMs?: number; op?: OperationContext; ignoreFit?: boolean }): Promise<ServiceSummary> {
    const live = this.byName(name);
    await this.startLive(live, { ...opts, resetCrashes: true });
    return this.summary(live);
  }

  /**
   * Start on demand (a gateway request for a service that is not running), which must not defeat
   * crash protection, since traffic keeps coming while an engine crash-loops:
   * - `failed` is a verdict (the crash limit, a stall, restart policy never): it stays failed until
   *   the user starts it; the request is refused with {@link StartRefused} `failed`.
   * - in `backoff`, a request waits when the timer fires within `timeoutMs` (the queue wait), and is
   *   refused with {@link StartRefused} `backoff` and the seconds left otherwise; the timer, not the
   *   request, restarts the engine.
   * - a crash while the request waits refuses it too (the next restart is the timer's).
   * - it never resets the crash count: only a stable run or the user's start does.
   * From `stopped` it starts the service as the user's start does (desired state running).
   */
  async startOnDemand(name: string, opts: { timeoutMs: number; op?: OperationContext }): Promise<ServiceSummary> {
    const live = this.byName(name);
    // `crashed` lasts until a queued microtask moves it to `backoff`.
    if (live.phase === 'crashed') await new Promise((r) => setImmediate(r));
    if (live.phase === 'failed') throw this.refusedFailed(live);
    if (live.phase === 'backoff') {
      const leftMs = Math.max(0, (live.backoffUntil ?? Date.now()) - Date.now());
      if (leftMs > opts.timeoutMs) throw this.refusedBackoff(live);
      await this.waitSettled(live, opts.timeoutMs, opts.op, true);
    } else {
      await this.startLive(live, { wait: true, timeoutMs: opts.timeoutMs, op: opts.op, resetCrashes: false, onDemand: true });
    }
    return this.summary(live);
  }

  async stop(name: string, opts: { force?: boolean }): Promise<ServiceSummary> {
    const live = this.byName(name);
    this.deps.repo.setDesiredState(live.record.id, 'stopped');
    live.record = { ...live.record, desiredState: 'stopped' };
    this.dispatch(live, { type: 'stop', force: opts.force });
    if (live.launching) await live.launching;
    if (live.stopping) await live.stopping;
    this.emitChange();
    return this.summary(live);
  }

  /**
   * AIMA stops a service by itself: to make room for another (`evict`) or after its idle TTL
   * (`idle`). The reason goes into the service's log, its events and its stopped state.
   */
  async stopBy(name: string, why: SchedulerStop, reason: string): Promise<ServiceSummary> {
    const live = this.byName(name);
    if (!hasProcess(live.phase)) return this.summary(live);
    this.note(name, `${why === 'evict' ? 'evicted' : 'idle unload'}: ${reason}`);
    this.record(live, live.phase, live.phase, why, reason);
    if (why === 'evict') live.evictions++;
    live.stopReason = reason;
    return this.stop(name, {});
  }

  /** A node stopped answering: its services that had an engine there (a span: a member) are `unreachable` (not crashed). */
  nodeLost(node: string, reason: string): void {
    for (const live of this.live.values()) if (nodesOf(live.record).includes(node)) this.dispatch(live, { type: 'node-lost', reason });
  }

  /** Ids of the services on `node` (a span: one of its nodes) that wait for it: `unreachable` ones, and ones stopped while it was silent. */
  waitingOn(node: string): Set<string> {
    return new Set([...this.live.values()].filter((l) => nodesOf(l.record).includes(node) && (l.phase === 'unreachable' || (l.phase === 'stopped' && l.handle !== null))).map((l) => l.record.id));
  }

  /** Every service id (a container of this install whose service is not among them is left over). */
  serviceIds(): Set<string> {
    return new Set(this.live.keys());
  }

  /**
   * A node answers again (its runtime has rescanned): each waiting service's container is adopted
   * if it still runs — and stopped again if the service was stopped meanwhile — and a service
   * whose container is gone counts as an exit (restart policy and backoff as for any crash); one
   * that should run but had no engine yet (the core started while the node was silent) starts.
   * A span waits on until every node of it answers (`stillSilent`: nodes its runtime could not list).
   */
  async nodeBack(node: string, stillSilent: ReadonlySet<string> = new Set()): Promise<void> {
    for (const live of [...this.live.values()].filter((l) => nodesOf(l.record).includes(node))) {
      const waiting = live.phase === 'unreachable' || (live.phase === 'stopped' && live.handle !== null);
      if (!waiting) continue;
      const other = nodesOf(live.record).find((n) => n !== node && (stillSilent.has(n) || this.deps.nodes?.unreachable(n)));
      if (other !== undefined) {
        if (live.phase === 'unreachable') this.setPhase(live, 'unreachable', this.deps.nodes?.unreachable(other) ?? `Node "${other}" of its span does not answer; the group is adopted or started when it does.`);
        continue;
      }
      const handle = this.deps.runtime.adopt(this.pidFile(live.record), live.record.id);
      if (handle) {
        await this.adoptHandle(live, handle);
      } else if (live.phase === 'stopped') {
        live.handle = null;
      } else if (live.handle) {
        this.onExit(live, live.generation, null, null);
      } else {
        this.setPhase(live, 'stopped', null);
        await this.startLive(live, { resetCrashes: true }).catch((err: unknown) => {
          const e = toAimaError(err);
          this.setPhase(live, 'failed', `Could not start once node "${node}" answered: ${e.message}${e.fix ? ' ' + e.fix : ''}`);
        });
      }
    }
    this.emitChange();
  }

  /**
   * Takes over a live engine (at core start, or when its node answers again): follows its log,
   * watches its exit, enters `loading` (the probe then finds it running); one whose service should
   * be stopped is stopped.
   */
  private async adoptHandle(live: Live, handle: EngineHandle): Promise<void> {
    live.handle = handle;
    live.engine = this.deps.loadCatalog().items.get(live.record.engineId) ?? null;
    live.follower?.close();
    live.follower = this.follow(live, handle.logFile);
    const gen = ++live.generation;
    // Runtimes with exit events for engines they did not start (Docker) report at once; the tick polls the rest.
    this.deps.runtime.watch?.(handle, (code, signal) => this.onExit(live, gen, code, signal));
    this.dispatch(live, { type: 'adopt', pid: handle.pid });
    if (live.record.desiredState === 'stopped') await this.stop(live.record.name, {}).catch(() => {});
  }

  /**
   * Changes stored fields that need no recreation: idle TTL and pinning at once; where the model
   * comes from (a path on the node, a Hub id and revision) from the next start, checked as a create
   * checks it. A new Hub id without a revision drops the old id's revision.
   *
   * A running engine is not restarted for a new model: a new Hub id may mean a download of many
   * gigabytes, and a restart drops the requests in flight, so the user chooses when (`service
   * restart`; the CLI's answer says so). Until then the engine keeps serving what it was started
   * with, and the gateway routes by that (`servedHfModel`): the new id is never sent to an engine
   * that serves the old one, and the old id keeps working until the restart.
   */
  update(name: string, patch: ServiceRecordPatch): ServiceSummary {
    const live = this.byName(name);
    const r = live.record;
    const next = { ...patch };
    if (patch.hfModel !== undefined && patch.hfModel !== r.hfModel && patch.hfRevision === undefined) next.hfRevision = null;
    if (next.modelPathOnNode !== undefined || next.hfModel !== undefined || next.hfRevision !== undefined) this.checkModelSource(r, next);
    live.record = this.deps.repo.update(r.id, next);
    this.emitChange();
    return this.summary(live);
  }

  /** The scheduler's decision for the next start: its summary, and the GPUs it chose (null: the service's own). */
  assignPlacement(name: string, placement: ServicePlacement, gpus: number[] | null): void {
    const live = this.byName(name);
    live.placement = placement;
    live.placedGpus = gpus;
  }

  /** What the service holds now, as last measured (shown with its placement). */
  setMeasured(name: string, bytes: number | null): void {
    const live = this.byName(name);
    if (live.placement) live.placement = { ...live.placement, measuredBytes: bytes };
  }

  /** Scheduler facts about a live service: when it started, whether on demand, its stored choices and the largest RSS seen. */
  schedulerView(name: string): { startedAt: number; startedOnDemand: boolean; idleTtl: number | null; pinned: boolean; peakRss: number | null } {
    const live = this.byName(name);
    return { startedAt: live.startedAt, startedOnDemand: live.startedOnDemand, idleTtl: live.record.idleTtl, pinned: live.record.pinned, peakRss: live.record.peakRss };
  }

  /** Stores a new largest RSS (only when it grew by a tenth or more, so a scrape rarely writes). */
  notePeakRss(name: string, bytes: number): void {
    const live = this.byName(name);
    if (live.record.peakRss !== null && bytes < live.record.peakRss * 1.1) return;
    this.deps.repo.setPeakRss(live.record.id, bytes);
    live.record = { ...live.record, peakRss: Math.round(bytes) };
  }

  async restart(name: string, opts: { wait?: boolean; timeoutMs?: number; op?: OperationContext; ignoreFit?: boolean }): Promise<ServiceSummary> {
    await this.stop(name, {});
    return this.start(name, opts);
  }

  async remove(name: string): Promise<{ name: string; removed: boolean }> {
    const live = this.byName(name);
    await this.stop(name, { force: false });
    this.detach(live);
    this.deps.repo.delete(live.record.id);
    removePidFile(this.pidFile(live.record));
    this.live.delete(live.record.id);
    this.emitChange();
    return { name, removed: true };
  }

  async logs(name: string, lines: number): Promise<{ name: string; file: string; lines: string[] }> {
    const live = this.byName(name);
    const file = this.logFile(live.record);
    return { name, file, lines: await this.deps.runtime.logs(file, lines) };
  }

  // ---------------------------------------------------------------- start

  private async startLive(live: Live, opts: { wait?: boolean; timeoutMs?: number; op?: OperationContext; resetCrashes: boolean; onDemand?: boolean; ignoreFit?: boolean }): Promise<void> {
    if (live.launching) await live.launching;
    if (live.stopping) await live.stopping;
    if (live.phase === 'unreachable') {
      const where = live.record.span ? `spans nodes ${live.record.span.nodes.join(', ')}, and one does not answer` : `is on node "${live.record.node}", which does not answer`;
      throw new AimaError('unavailable', `Service "${live.record.name}" ${where}: ${live.reason ?? ''}`.trim(), `It is adopted again (or started) when the node answers; see \`aima node list\`.`);
    }
    if (!(live.phase === 'starting' || live.phase === 'loading' || live.phase === 'running')) {
      // Guards first, then the placement: a refused start changes nothing (not even the desired state).
      await this.checkStartable(live.record);
      await this.deps.place?.(live.record.name, { ignoreFit: opts.ignoreFit, onDemand: opts.onDemand });
      if (hasProcess(live.phase as ServicePhase)) {
        // Started by another caller while this one was being placed.
        if (opts.wait) await this.waitSettled(live, opts.timeoutMs ?? 600_000, opts.op, opts.onDemand ?? false);
        return;
      }
      this.deps.repo.setDesiredState(live.record.id, 'running');
      live.record = { ...live.record, desiredState: 'running' };
      if (opts.resetCrashes) live.consecutiveCrashes = 0;
      live.stopReason = null;
      live.startedAt = Date.now();
      live.startedOnDemand = opts.onDemand ?? false;
      this.dispatch(live, { type: 'start' });
    }
    if (opts.wait) await this.waitSettled(live, opts.timeoutMs ?? 600_000, opts.op, opts.onDemand ?? false);
  }

  /** Start on demand's answer for a `failed` service: the user decides, not traffic. */
  private refusedFailed(live: Live): StartRefused {
    const name = live.record.name;
    return new StartRefused(
      'failed',
      `Service "${name}" failed and is not restarted on demand: ${live.reason ?? 'unknown reason'}`,
      `See \`aima service logs ${name}\`, fix the cause, then start it with \`aima service start ${name}\`.`,
      null,
    );
  }

  /** Start on demand's answer for a service waiting out its crash backoff. */
  private refusedBackoff(live: Live): StartRefused {
    const name = live.record.name;
    const seconds = Math.max(1, Math.ceil(((live.backoffUntil ?? Date.now()) - Date.now()) / 1000));
    return new StartRefused(
      'backoff',
      `Service "${name}" crashed (${live.lastCrash ?? 'no reason recorded'}) and restarts by itself in ${seconds} s (crash ${live.consecutiveCrashes} in a row; it gives up after ${MAX_CONSECUTIVE_CRASHES}).`,
      `Retry after ${seconds} s; see \`aima service logs ${name}\` for why it crashes, or restart it now with \`aima service start ${name}\`.`,
      seconds,
    );
  }

  /** The refusals of create for where a stored service's model would come from after `patch`. */
  private checkModelSource(r: ServiceRecord, patch: ServiceRecordPatch): void {
    const catalog = this.deps.loadCatalog();
    const item = requireEngine(catalog, r.engineId);
    const model = r.modelId ? this.deps.models.getById(r.modelId) : null;
    const hfModel = patch.hfModel !== undefined ? patch.hfModel : r.hfModel;
    const modelPathOnNode = patch.modelPathOnNode !== undefined ? patch.modelPathOnNode : r.modelPathOnNode;
    checkHubModel({ engine: item.entry, hfModel, hfRevision: patch.hfRevision !== undefined ? patch.hfRevision : r.hfRevision, model: model?.name ?? null, modelPathOnNode });
    checkModelForEngine(item, model, catalog, hfModel);
    if (item.entry.runtime === 'docker') checkModelOnNode({ nodes: r.span?.nodes ?? [r.node], model: model?.name ?? null, modelPathOnNode });
  }

  /** Everything that can be checked before a process exists. Returns what launch needs. */
  private async checkStartable(record: ServiceRecord): Promise<{ item: CatalogItem; model: ModelSummary | null; binary: string }> {
    const catalog = this.deps.loadCatalog();
    const item = requireEngine(catalog, record.engineId);
    const run = canRun(item.entry, { ...this.deps.host, gpuCount: null });
    if (!run.ok) throw new AimaError('unavailable', `Engine "${item.entry.id}" cannot run here (${run.reason}): ${run.detail}`, run.detail);
    let model: ModelSummary | null = null;
    if (record.modelId) {
      model = this.deps.models.getById(record.modelId);
      if (!model) throw new AimaError('not-found', `The model of service "${record.name}" is no longer in the library.`, 'Re-import it, or recreate the service with another --model.');
      // A model read from the node(s) at --model-path-on-node needs no files here.
      if (!record.modelPathOnNode) checkModelPresent(model);
    }
    checkHubModel({ engine: item.entry, hfModel: record.hfModel, hfRevision: record.hfRevision, model: model?.name ?? null, modelPathOnNode: record.modelPathOnNode });
    checkModelForEngine(item, model, catalog, record.hfModel);
    checkDevice(item, record.device, record.gpus);
    if (record.node !== LOCAL_NODE) {
      const silent = this.deps.nodes?.unreachable(record.node);
      if (silent) throw new AimaError('unavailable', silent, `Start "${record.name}" once node "${record.node}" answers (see \`aima node list\`).`);
      if (record.device === 'gpu') checkGpus(record.gpus, this.deps.nodes?.gpus(record.node) ?? []);
      // A port on another machine is checked by its engine when the container is created.
      return { item, model, binary: run.binary };
    }
    // A span's nodes (whether they answer, their GPUs) are checked by its plan; a head on another machine checks its port itself when the engine binds it.
    if (headOf(record) !== LOCAL_NODE) return { item, model, binary: run.binary };
    if (record.device === 'gpu') checkGpus(record.gpus, await this.gpus());
    if (record.port !== 0) await checkPortFree(this.bindHost, record.port, record.name);
    return { item, model, binary: run.binary };
  }

  /** Entering `starting`: plan and spawn. Ends in `spawned` or `spawn-failed`. */
  private launch(live: Live): void {
    const gen = ++live.generation;
    // The Hub id this start gives the engine, recorded before anything awaits: from here on the
    // gateway routes by it (an update during the start applies to the start after).
    const hub = { hfModel: live.record.hfModel, hfRevision: live.record.hfRevision };
    if (live.record.startedHfModel !== hub.hfModel) {
      this.deps.repo.setStartedHfModel(live.record.id, hub.hfModel);
      live.record = { ...live.record, startedHfModel: hub.hfModel };
    }
    live.launching = (async () => {
      try {
        const { item, model, binary } = await this.checkStartable(live.record);
        live.engine = item;
        const local = headOf(live.record) === LOCAL_NODE;
        const { publishHost } = this.endpointOf(live.record);
        // Another machine's container gets a free port from Docker (0); this one's is allocated here. A span's engine
        // listens on its head's host network, where nothing picks one: a port free here is the candidate there (a
        // clash fails that start with the engine's bind error in the log, and the restart allocates another).
        const port = live.record.port !== 0 ? live.record.port : local || live.record.span ? await allocatePort(this.bindHost) : 0;
        const logFile = this.logFile(live.record);
        const plan = this.deps.runtime.plan({
          serviceId: live.record.id,
          serviceName: live.record.name,
          engine: item.entry,
          binary,
          model: model ? { name: model.name, path: model.path } : null,
          device: live.record.device,
          gpus: live.record.gpus.length > 0 ? live.record.gpus : (live.placedGpus ?? []),
          host: publishHost,
          port,
          threads: live.record.threads,
          ctxSize: live.record.ctxSize,
          gpuLayers: live.record.device === 'gpu' ? (live.placement?.gpuLayers ?? null) : null,
          concurrency: live.record.concurrency,
          node: this.deps.host.node,
          dockerNode: live.record.node,
          workersDir: this.deps.host.workersDir,
          logFile,
          pidFile: this.pidFile(live.record),
          electron: this.deps.electron ?? false,
          span: live.record.span,
          modelOnNodes: hubModelOf(hub.hfModel, hub.hfRevision) ?? modelOnNodesOf(live.record.modelPathOnNode),
          hubToken: hub.hfModel ? (this.deps.hubToken?.() ?? null) : null,
        });
        live.follower?.close();
        live.follower = this.follow(live, logFile);
        const handle = await this.deps.runtime.start(plan, { onExit: (code, signal) => this.onExit(live, gen, code, signal) });
        live.handle = handle;
        live.lastProgressAt = Date.now();
        if (gen !== live.generation || live.phase !== 'starting') {
          // Stopped while spawning: the stop effect waits for this launch and then ends the process.
          return;
        }
        this.dispatch(live, { type: 'spawned', pid: handle.pid });
      } catch (err) {
        if (gen !== live.generation || live.phase !== 'starting') return;
        const e = toAimaError(err);
        this.dispatch(live, { type: 'spawn-failed', reason: e.fix ? `${e.message} ${e.fix}` : e.message });
      }
    })().finally(() => {
      if (live.generation === gen) live.launching = null;
    });
  }

  /** Waits until running (or throws once failed or stopped). onDemand: a crash ends the wait too, and `failed` says how to start it again. */
  private async waitSettled(live: Live, timeoutMs: number, op?: OperationContext, onDemand = false): Promise<void> {
    const crashesAtStart = live.crashCount;
    const report = () => op?.report(live.phase === 'running' ? 100 : Math.round((live.lastHealthProgress ?? 0) * 100), 100, `${live.phase}${live.lastLine ? ` — ${live.lastLine}` : ''}`);
    const settledOrThrow = () => {
      if (live.phase === 'running') return true;
      if (onDemand && live.phase === 'failed') throw this.refusedFailed(live);
      if (onDemand && live.phase === 'backoff' && live.crashCount !== crashesAtStart) throw this.refusedBackoff(live);
      if (live.phase === 'failed') {
        throw new AimaError('unavailable', `Service "${live.record.name}" failed: ${live.reason ?? 'unknown reason'}`, `See \`aima service logs ${live.record.name}\`.`);
      }
      if (live.phase === 'unreachable') {
        throw new AimaError('unavailable', `Service "${live.record.name}" lost its node: ${live.reason ?? 'the node does not answer'}`, 'It is adopted again when the node answers; see `aima node list`.');
      }
      if (live.phase === 'stopped' && isSettled(live.phase)) {
        throw new AimaError('unavailable', `Service "${live.record.name}" stopped before it was running${live.reason ? `: ${live.reason}` : '.'}`, `See \`aima service logs ${live.record.name}\`.`);
      }
      return false;
    };
    report();
    if (settledOrThrow()) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        done();
        reject(
          new AimaError(
            'unavailable',
            `Service "${live.record.name}" is still ${live.phase} after ${Math.round(timeoutMs / 1000)} s${live.lastLine ? `; last output: ${live.lastLine}` : ''}.`,
            `It keeps starting in the background: check \`aima service list\`, or stop it with \`aima service stop ${live.record.name}\`.`,
          ),
        );
      }, timeoutMs);
      const onChange = () => {
        report();
        try {
          if (settledOrThrow()) {
            done();
            resolve();
          }
        } catch (err) {
          done();
          reject(err);
        }
      };
      const onAbort = () => {
        done();
        reject(new AimaError('cancelled', `Stopped waiting for "${live.record.name}"; it keeps starting in the background.`, `Stop it with \`aima service stop ${live.record.name}\`.`));
      };
      const done = () => {
        clearTimeout(timer);
        live.changes.off('change', onChange);
        op?.signal.removeEventListener('abort', onAbort);
      };
      live.changes.on('change', onChange);
      op?.signal.addEventListener('abort', onAbort);
    });
  }

  // ---------------------------------------------------------------- the state machine

  /** Feeds one event through the table and performs the effects of the state entered. */
  private dispatch(live: Live, event: ServiceEvent, why?: string): void {
    const outcome = transition(live.phase, event, { restartPolicy: live.record.restartPolicy, consecutiveCrashes: live.consecutiveCrashes });
    switch (outcome.kind) {
      case 'ignored':
        return;
      case 'invalid':
        process.stderr.write(`aima: service ${live.record.name}: ${event.type} in ${live.phase} is invalid (${outcome.why}); ignored\n`);
        return;
      case 'stay':
        if (outcome.note) this.record(live, live.phase, live.phase, event.type, outcome.note);
        if (event.type === 'stop' && event.force && live.handle) void this.deps.runtime.stop(live.handle, { graceMs: 0, force: true });
        return;
      case 'move': {
        const from = live.phase;
        const reason = outcome.reason ?? why ?? null;
        this.record(live, from, outcome.to, event.type, reason);
        this.setPhase(live, outcome.to, outcome.to === 'stopped' && from === 'stopping' ? live.stopReason : reason);
        this.enter(live, outcome.to, from, event);
        return;
      }
    }
  }

  private enter(live: Live, phase: ServicePhase, from: ServicePhase, event: ServiceEvent): void {
    switch (phase) {
      case 'starting':
        this.clearBackoff(live);
        live.lastLine = null;
        live.lastHealthProgress = null;
        this.launch(live);
        break;
      case 'loading':
        live.loadingSince = Date.now();
        live.lastProgressAt = Date.now();
        live.healthNoted = false;
        this.scheduleProbe(live, 0);
        break;
      case 'running':
        this.clearProbe(live);
        live.stableTimer = setTimeout(() => {
          if (live.phase === 'running') live.consecutiveCrashes = 0;
        }, this.timing.stableRunMs);
        live.stableTimer.unref();
        break;
      case 'stopping': {
        this.clearProbe(live);
        const force = event.type === 'stop' && event.force === true;
        const gen = live.generation;
        live.stopping = (async () => {
          if (live.launching) await live.launching;
          const handle = live.handle;
          if (handle) {
            await this.deps.runtime.stop(handle, { graceMs: this.stopGrace(live), force });
            // Our child's exit event dispatches `exited`; an adopted process has none.
            if (!handle.ownChild) this.onExit(live, gen, null, null);
          } else {
            this.onExit(live, gen, null, null);
          }
        })().finally(() => {
          live.stopping = null;
        });
        break;
      }
      case 'stopped':
        this.settleProcessless(live);
        if (!this.shuttingDown) {
          // A clean exit the policy does not restart, or a user's stop. (A core shutdown keeps
          // desired states, so the next core start restores the services.)
          this.deps.repo.setDesiredState(live.record.id, 'stopped');
          live.record = { ...live.record, desiredState: 'stopped' };
        }
        break;
      case 'failed':
        this.settleProcessless(live);
        if (live.handle && from !== 'stopping') {
          // A stalled engine is still alive: end it (a later start waits for this).
          const handle = live.handle;
          live.stopping = this.deps.runtime
            .stop(handle, { graceMs: this.stopGrace(live) })
            .then(() => {
              if (!handle.ownChild) removePidFile(this.pidFile(live.record));
              if (live.handle === handle) live.handle = null;
            })
            .finally(() => {
              live.stopping = null;
            });
        }
        break;
      case 'crashed':
        live.consecutiveCrashes++;
        live.crashCount++;
        live.lastCrash = live.reason;
        this.settleProcessless(live);
        live.handle = null;
        queueMicrotask(() => this.dispatch(live, { type: 'restart' }));
        break;
      case 'unreachable':
        // No probes or timers against a node that does not answer; the handle stays, to be adopted again.
        this.settleProcessless(live);
        break;
      case 'backoff': {
        const delay = (this.timing.backoff ?? backoffDelayMs)(live.consecutiveCrashes - 1);
        live.backoffUntil = Date.now() + delay;
        live.backoffTimer = setTimeout(() => {
          live.backoffTimer = null;
          live.backoffUntil = null;
          this.dispatch(live, { type: 'backoff-elapsed' });
        }, delay);
        live.backoffTimer.unref();
        break;
      }
    }
    this.emitChange();
  }

  private onExit(live: Live, gen: number, code: number | null, signal: string | null): void {
    // A removed service's engine may report its end after the row is gone (Docker reports a
    // container's end a moment later): there is nothing left to record it against.
    if (gen !== live.generation || this.closed || this.live.get(live.record.id) !== live) return;
    // Pick up the last lines the engine wrote before it died: they go into the reason.
    live.follower?.poll();
    const wasHandle = live.handle;
    if (live.phase !== 'failed') live.handle = null;
    if (wasHandle && !wasHandle.ownChild) removePidFile(this.pidFile(live.record));
    this.dispatch(live, { type: 'exited', code, signal, expected: live.phase === 'stopping', lastLine: live.lastLine });
  }

  // ---------------------------------------------------------------- watching

  private follow(live: Live, file: string): LogFollower {
    return new LogFollower(file, (lines, partial) => {
      const visible = lines.filter((l) => !isAimaHeader(l));
      const last = partial.trim() || visible.at(-1);
      if (last) live.lastLine = last.length > 500 ? last.slice(0, 500) + '…' : last;
      live.lastProgressAt = Date.now();
      if (lines.length > 0) this.deps.onLog(live.record.name, lines);
      this.dispatch(live, { type: 'progress', line: live.lastLine ?? undefined });
      live.changes.emit('change');
      // Output often means "something changed": look now rather than at the next probe tick.
      if (live.phase === 'loading' || live.phase === 'starting') this.scheduleProbe(live, 0);
    });
  }

  private scheduleProbe(live: Live, delay: number): void {
    if (live.probing) return;
    if (live.probeTimer) clearTimeout(live.probeTimer);
    live.probeTimer = setTimeout(() => void this.probe(live), delay);
    live.probeTimer.unref();
  }

  private async probe(live: Live): Promise<void> {
    live.probeTimer = null;
    const handle = live.handle;
    const health = live.engine?.entry.health;
    if (!handle || !health || live.phase !== 'loading') return;
    live.probing = true;
    let result;
    try {
      result = await this.deps.runtime.probe(handle, health);
    } finally {
      live.probing = false;
    }
    if (live.phase !== 'loading' || live.handle !== handle) return;
    if (result.kind === 'ready') {
      this.dispatch(live, { type: 'healthy' });
      return;
    }
    if (result.kind === 'not-ready' && result.progress !== null && result.progress !== live.lastHealthProgress) {
      live.lastHealthProgress = result.progress;
      live.lastProgressAt = Date.now();
      live.changes.emit('change');
    }
    const elapsed = Date.now() - live.loadingSince;
    this.scheduleProbe(live, elapsed < this.timing.probeFastForMs ? this.timing.probeFastMs : this.timing.probeSlowMs);
  }

  /** The 250 ms tick: liveness of adopted processes (and children, as a safety net), log fallback, load timers. */
  private onTick(): void {
    const now = Date.now();
    for (const live of this.live.values()) {
      live.follower?.poll();
      const handle = live.handle;
      if (handle && hasProcess(live.phase) && live.phase !== 'stopping' && !live.launching && !this.deps.runtime.isAlive(handle)) {
        // Adopted processes have no exit event: this poll is how their death is seen. For our own
        // children the exit event (with code and signal) is authoritative and normally arrives
        // within milliseconds; the poll only steps in if it has not come a second later.
        live.deadSince ??= now;
        if (!handle.ownChild || now - live.deadSince > 1000) {
          this.onExit(live, live.generation, null, null);
          continue;
        }
      } else {
        live.deadSince = null;
      }
      if (live.phase === 'loading' && handle) {
        const stallMs = this.timing.stallTimeoutMs ?? live.engine?.entry.defaults.stallTimeoutMs ?? 120_000;
        const healthMs = this.timing.healthTimeoutMs ?? live.engine?.entry.defaults.healthTimeoutMs ?? 600_000;
        // An engine downloading a Hub id may print nothing for as long as the download takes
        // (vLLM hides its download bars): while its container runs it is not failed for silence.
        if (!live.record.hfModel && now - live.lastProgressAt > stallMs) {
          this.dispatch(live, { type: 'stall-timeout', afterMs: now - live.lastProgressAt, lastLine: live.lastLine });
        } else if (!live.healthNoted && now - live.loadingSince > healthMs) {
          live.healthNoted = true;
          this.dispatch(live, { type: 'health-timeout', afterMs: now - live.loadingSince });
        }
      }
    }
  }

  // ---------------------------------------------------------------- helpers

  private get bindHost(): string {
    return this.deps.bindHost ?? '127.0.0.1';
  }

  /** Where the engine listens and is reached: on its node, or for a span on its head (the engine serves HTTP there). */
  private endpointOf(record: ServiceRecord): ServiceEndpoint {
    const node = headOf(record);
    return node === LOCAL_NODE || !this.deps.nodes ? { publishHost: this.bindHost, upstreamHost: this.bindHost } : this.deps.nodes.endpoint(node);
  }

  private stopGrace(live: Live): number {
    return this.timing.stopGraceMs ?? live.engine?.entry.defaults.stopGraceMs ?? 10_000;
  }

  private gpus(): Promise<GpuRef[]> {
    if (!this.gpuCache || Date.now() - this.gpuCache.at > 60_000) {
      this.gpuCache = { at: Date.now(), gpus: this.deps.listGpus().catch(() => []) };
    }
    return this.gpuCache.gpus;
  }

  private newLive(record: ServiceRecord): Live {
    const changes = new EventEmitter();
    changes.setMaxListeners(0);
    return {
      record,
      phase: 'stopped',
      reason: null,
      since: Date.now(),
      handle: null,
      engine: null,
      follower: null,
      lastLine: null,
      lastProgressAt: 0,
      lastHealthProgress: null,
      loadingSince: 0,
      healthNoted: false,
      consecutiveCrashes: 0,
      crashCount: 0,
      generation: 0,
      launching: null,
      stopping: null,
      probeTimer: null,
      probing: false,
      backoffTimer: null,
      backoffUntil: null,
      lastCrash: null,
      stableTimer: null,
      deadSince: null,
      changes,
      placement: null,
      placedGpus: null,
      stopReason: null,
      evictions: 0,
      startedAt: 0,
      startedOnDemand: false,
    };
  }

  private byName(name: string): Live {
    for (const live of this.live.values()) if (live.record.name === name) return live;
    throw new AimaError('not-found', `No service named "${name}".`, 'See `aima service list`, or create one with `aima service create`.');
  }

  private pidFile(record: ServiceRecord): string {
    return path.join(this.deps.runDir, `${record.id}.pid`);
  }

  /** A line from AIMA itself in the service's log (and to whoever follows it), e.g. a fit warning. */
  note(name: string, text: string): void {
    const live = this.byName(name);
    const line = `--- aima: ${text}`;
    mkdirSync(this.deps.logsDir, { recursive: true });
    appendFileSync(this.logFile(live.record), line + '\n');
    this.deps.onLog(live.record.name, [line]);
  }

  private logFile(record: ServiceRecord): string {
    return path.join(this.deps.logsDir, `${record.name}.log`);
  }

  private setPhase(live: Live, phase: ServicePhase, reason: string | null): void {
    live.phase = phase;
    live.reason = reason;
    live.since = Date.now();
    live.changes.emit('change');
  }

  private record(live: Live, from: ServicePhase, to: ServicePhase, event: string, reason: string | null): void {
    if (this.closed) return;
    this.deps.repo.addEvent({ serviceId: live.record.id, at: Date.now(), from, to, event, reason });
  }

  private clearProbe(live: Live): void {
    if (live.probeTimer) clearTimeout(live.probeTimer);
    live.probeTimer = null;
  }

  private clearBackoff(live: Live): void {
    if (live.backoffTimer) clearTimeout(live.backoffTimer);
    live.backoffTimer = null;
    live.backoffUntil = null;
  }

  private settleProcessless(live: Live): void {
    this.clearProbe(live);
    this.clearBackoff(live);
    if (live.stableTimer) clearTimeout(live.stableTimer);
    live.stableTimer = null;
  }

  private detach(live: Live): void {
    this.settleProcessless(live);
    live.follower?.close();
    live.follower = null;
    live.changes.removeAllListeners();
  }

  private emitChange(): void {
    if (!this.closed) this.deps.onChange(this.list());
  }

  private summary(live: Live): ServiceSummary {
    const r = live.record;
    const model = r.modelId ? this.deps.models.getById(r.modelId) : null;
    const engine = live.engine ?? this.deps.loadCatalog().items.get(r.engineId) ?? null;
    if (!live.engine && engine) live.engine = engine;
    const handle = hasProcess(live.phase) ? live.handle : null;
    const port = handle?.port ?? (r.port !== 0 ? r.port : null);
    const host = handle?.host ?? this.endpointOf(r).upstreamHost;
    return {
      id: r.id,
      name: r.name,
      model: model?.name ?? null,
      engine: r.engineId,
      kind: engine?.entry.kind ?? 'llm',
      device: r.device,
      gpus: r.gpus,
      port,
      configuredPort: r.port,
      url: handle ? `${handle.tls ? 'https' : 'http'}://${joinHostPort(host, handle.port)}` : null,
      state: live.phase,
      reason: live.reason,
      // A process on another machine has no pid here (memory measurements read this machine's /proc).
      pid: r.node === LOCAL_NODE ? (handle?.pid ?? null) : null,
      desiredState: r.desiredState,
      restartPolicy: r.restartPolicy,
      threads: r.threads,
      ctxSize: r.ctxSize,
      concurrency: r.concurrency,
      restarts: live.consecutiveCrashes,
      lastLogLine: live.lastLine,
      since: new Date(live.since).toISOString(),
      logFile: this.logFile(r),
      createdAt: new Date(r.createdAt).toISOString(),
      idleTtl: r.idleTtl,
      pinned: r.pinned,
      placement: live.placement,
      evictions: live.evictions,
      replicaOf: r.replicaOf ? (this.live.get(r.replicaOf)?.record.name ?? null) : null,
      node: r.node,
      span: r.span,
      modelPathOnNode: r.modelPathOnNode,
      hfModel: r.hfModel,
      hfRevision: r.hfRevision,
      // An engine that exists (or may, on a silent node) serves the id it was started with; without one the next start's id is what a request would start.
      servedHfModel: hasProcess(live.phase) || live.phase === 'unreachable' ? r.startedHfModel : r.hfModel,
    };
  }
}
