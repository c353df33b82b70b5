/**
 * The scheduler: the one placement step every start goes through (the supervisor calls `place`
 * before it starts a process — a user's start or restart, the gateway's start on demand, a restore
 * at core start), the idle unload of services past their TTL, and the measurements both use.
 *
 * `place` gathers the inputs (GPU memory sampled now, each service's measured RSS and VRAM, its
 * estimate, its use from the gateway, the settings), asks the pure planner (plan.ts), then stops
 * the idle services the plan names, records the decision in the service's log and summary, or
 * refuses with the planner's message. Placements run one at a time, so two starts never count the
 * same free memory twice.
 */
import os from 'node:os';
import type { ModelFit, ModelFitParams } from '../../shared/contract/hardware.js';
import type { ServicePlan, ServiceSummary } from '../../shared/contract/services.js';
import { formatDuration } from '../../shared/duration.js';
import { AimaError } from '../../shared/errors.js';
import { formatBytes } from '../../shared/format-bytes.js';
import type { GpuMemory } from '../hardware/feature.js';
import type { GpuRef } from '../hardware/types.js';
import { checkFit, fitParams } from '../services/guards.js';
import type { ServiceSupervisor } from '../services/supervisor.js';
import type { ServiceActivity, VoiceUsage } from './activity.js';
import { measureServicesRss } from './measure.js';
import { LOCAL_NODE, type NodeFacts } from '../nodes/node-facts.js';
import { nodeMachine } from './node-machine.js';
import { planPlacement, planSequence, type Candidate, type LayerSplit, type PlanDevice, type PlanInput, type RunningService } from './plan.js';
import type { HubWeights } from '../downloads/hub-weights.js';

export interface SchedulerSettings {
  servicesMemoryCapMiB: number | null;
  onDemandIdleTtlSeconds: number;
  antiThrashSeconds: number;
}

export interface SchedulerDeps {
  supervisor: Pick<ServiceSupervisor, 'list' | 'get' | 'stopBy' | 'assignPlacement' | 'setMeasured' | 'schedulerView' | 'note' | 'notePeakRss'>;
  activity: ServiceActivity;
  voice: VoiceUsage;
  settings: () => SchedulerSettings;
  fit?: (p: ModelFitParams) => Promise<ModelFit>;
  gpuMemory?: (maxAgeMs?: number) => Promise<GpuMemory>;
  listGpus: () => Promise<GpuRef[]>;
  /** The host's memory (seam for tests): total and available bytes. */
  memory?: () => { totalBytes: number; availableBytes: number };
  /** How often idle TTLs are checked. Default 1000 ms. */
  idleCheckMs?: number;
  /** Another machine's node as last read: a service there is placed on its GPUs and memory. */
  nodeFacts?: (node: string) => NodeFacts | null;
  /** The size of a Hub repository's weights (a service whose engine downloads `--hf-model`); never throws. */
  hubWeights?: (repo: string, revision: string | null) => Promise<HubWeights>;
}

/** What a placement needs to know of a service (an existing one, or one about to be created). */
export type CandidateSpec = Pick<ServiceSummary, 'name' | 'model' | 'engine' | 'device' | 'gpus' | 'ctxSize' | 'concurrency'> & Partial<Pick<ServiceSummary, 'hfModel' | 'hfRevision'>> & { node?: string };

export interface ServiceMemory {
  rssBytes: number | null;
  vramBytes: Record<number, number> | null;
}

/** The services' memory cap when the setting is null: total RAM minus a reserve for the system (10 %, at least 1 GiB, at most half). */
export function defaultMemoryCapBytes(totalBytes: number): number {
  const reserve = Math.min(totalBytes / 2, Math.max(1024 ** 3, totalBytes * 0.1));
  return Math.floor(totalBytes - reserve);
}

const PLACED_STATES = new Set(['starting', 'loading', 'running']);

/**
 * Where a Hub id's estimate comes from, or why it has none, for the decision's text: a size that
 * cannot be read is said to be unknown, and the service is placed without a memory check rather
 * than refused on a guess.
 */
function hubNotes(repo: string, w: HubWeights, estimateBytes: number | null): Pick<Candidate, 'estimateNote' | 'noEstimateNote'> {
  if (w.known) return { estimateNote: `the ${w.files} ${w.format} weight file${w.files === 1 ? '' : 's'} of ${repo} on the Hub; the engine's cache and runtime come on top` };
  const unknown = `the size of ${repo} is unknown: ${w.reason.replace(/\.$/, '')}`;
  // On the CPU the most its processes were seen holding may still stand in.
  return estimateBytes === null ? { noEstimateNote: unknown } : { estimateNote: `${unknown}; the most its engine was seen holding stands in` };
}

/** Whether a voice session holds this service: by its model, its name, or (a replica) its primary's name. */
function heldByVoice(s: Pick<ServiceSummary, 'name' | 'model' | 'replicaOf'>, voiceModels: Set<string>): boolean {
  return (s.model !== null && voiceModels.has(s.model)) || voiceModels.has(s.name) || (s.replicaOf !== null && voiceModels.has(s.replicaOf));
}

export class Scheduler {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly estimates = new Map<string, number | null>();
  private readonly idleUnloads = new Map<string, number>();
  private idleTimer: NodeJS.Timeout | null = null;
  private measured: { at: number; value: Promise<Map<string, ServiceMemory>> } | null = null;

  constructor(private readonly deps: SchedulerDeps) {}

  /** Starts the idle-TTL check. */
  start(): void {
    if (this.idleTimer) return;
    this.idleTimer = setInterval(() => void this.unloadIdle(), this.deps.idleCheckMs ?? 1000);
    this.idleTimer.unref();
  }

  close(): void {
    if (this.idleTimer) clearInterval(this.idleTimer);
    this.idleTimer = null;
  }

  /** Idle unloads per service since the core started. */
  idleUnloadCount(name: string): number {
    return this.idleUnloads.get(name) ?? 0;
  }

  /**
   * Measured memory of every service with a process: RSS of its process tree, VRAM per GPU from
   * nvidia-smi's per-process figures. Shared by placements and scrapes within `maxAgeMs`.
   */
  measure(maxAgeMs = 1000): Promise<Map<string, ServiceMemory>> {
    if (this.measured && Date.now() - this.measured.at <= maxAgeMs) return this.measured.value;
    const value = (async () => {
      const list = this.deps.supervisor.list().filter((s) => s.pid !== null);
      // VRAM only when a GPU service runs: CPU-only machines and starts never ask nvidia-smi.
      const [rss, gpu] = await Promise.all([measureServicesRss(list), list.some((s) => s.device === 'gpu') ? this.gpuMemory(maxAgeMs) : null]);
      const out = new Map<string, ServiceMemory>();
      for (const s of list) {
        const r = rss.get(s.name) ?? null;
        if (r !== null) this.deps.supervisor.notePeakRss(s.name, r);
        const vram = gpu?.byService.get(s.name) ?? null;
        out.set(s.name, { rssBytes: r, vramBytes: vram });
        const total = (r ?? 0) + Object.values(vram ?? {}).reduce((a, b) => a + b, 0);
        this.deps.supervisor.setMeasured(s.name, r === null && vram === null ? null : total);
      }
      return out;
    })();
    this.measured = { at: Date.now(), value };
    value.catch(() => {
      this.measured = null;
    });
    return value;
  }

  /** GPU memory now, or null where it cannot be read. */
  gpuMemory(maxAgeMs = 2000): Promise<GpuMemory | null> {
    return this.deps.gpuMemory ? this.deps.gpuMemory(maxAgeMs).catch(() => null) : Promise.resolve(null);
  }

  /** A would-be placement (nothing starts or stops): `services.plan`. */
  async plan(name: string, override: { device?: PlanDevice; gpus?: number[] } = {}): Promise<ServicePlan> {
    const s = this.deps.supervisor.get(name);
    const { input } = await this.inputs({ ...s, device: override.device ?? s.device, gpus: override.gpus ?? s.gpus }, false);
    return planPlacement(input);
  }

  /**
   * Would-be placements of services that may not exist yet, one after another as if each started
   * in turn (the voice chain's links): `services.planChain`, the voice setup's budget view.
   */
  async planChain(specs: CandidateSpec[]): Promise<{ name: string; plan: ServicePlan }[]> {
    const prepared = await Promise.all(specs.map((spec) => this.inputs(spec, false)));
    if (prepared.length === 0) return [];
    const names = new Set(specs.map((x) => x.name));
    const first = prepared[0]!.input;
    const base = { gpus: first.gpus, ram: first.ram, now: first.now, antiThrashMs: first.antiThrashMs, services: first.services.filter((x) => !names.has(x.name)) };
    return planSequence(base, prepared.map((p) => p.input.candidate));
  }

  /**
   * The placement step before a start: evicts what the plan says, records the decision, or throws
   * the refusal (nothing is stopped then). ignoreFit: no memory check, no eviction.
   */
  place(name: string, opts: { ignoreFit?: boolean; onDemand?: boolean } = {}): Promise<void> {
    const run = this.queue.then(() => this.placeNow(name, opts));
    this.queue = run.catch(() => {});
    return run;
  }

  private async placeNow(name: string, opts: { ignoreFit?: boolean; onDemand?: boolean }): Promise<void> {
    const s = this.deps.supervisor.get(name);
    const { input, fit } = await this.inputs(s, opts.ignoreFit ?? false);
    // A model whose estimate has no numbers keeps the estimator's own verdict (refuse / warn).
    if (!opts.ignoreFit && fit && fit.numbers.totalBytes === undefined && fit.numbers.budgetBytes === undefined) {
      const warning = checkFit(s, fit);
      if (warning) this.deps.supervisor.note(name, `fit: ${warning}`);
    }
    const plan = planPlacement(input);
    if (plan.kind === 'refuse') {
      this.deps.supervisor.note(name, `placement refused: ${plan.message} ${plan.fix}`);
      throw new AimaError('unavailable', plan.message, plan.fix);
    }
    const evicted: string[] = [];
    for (const e of plan.evict) {
      const victim = input.services.find((x) => x.name === e.name)!;
      const idleFor = formatDuration((Date.now() - victim.lastUsedAt) / 1000);
      const reason = `stopped to make room for "${name}" (it needs ${plan.needBytes !== null ? formatBytes(plan.needBytes) : 'memory'}${plan.device === 'gpu' ? ` on GPU ${plan.gpus.join(', ')}` : ' of RAM'}); "${e.name}" was idle for ${idleFor}, the least recently used`;
      await this.deps.supervisor.stopBy(e.name, 'evict', reason);
      evicted.push(e.name);
    }
    const decision = opts.ignoreFit ? `${plan.text} (--ignore-fit: no memory check)` : plan.text;
    this.estimates.set(name, plan.needBytes);
    this.deps.activity.touch(name);
    this.measured = null;
    this.deps.supervisor.assignPlacement(
      name,
      { device: plan.device, gpus: plan.gpus, gpuLayers: plan.gpuLayers, estimateBytes: plan.needBytes, measuredBytes: null, decision, evicted, at: new Date().toISOString() },
      s.device === 'gpu' && s.gpus.length === 0 ? plan.gpus : null,
    );
    this.deps.supervisor.note(name, `placement: ${decision}`);
  }

  private async inputs(s: CandidateSpec, ignoreFit: boolean): Promise<{ input: PlanInput; fit: ModelFit | null }> {
    const node = s.node ?? LOCAL_NODE;
    const remoteFacts = node !== LOCAL_NODE ? (this.deps.nodeFacts?.(node) ?? null) : null;
    const remote = remoteFacts ? nodeMachine(remoteFacts) : null;
    // The fit estimate and GPU sampling describe this machine: a service on another node is placed on that node's facts.
    // A Hub id's weights are the same wherever its engine downloads them.
    const [fit, hub, measured, gpuMem, gpuRefs] = await Promise.all([
      node === LOCAL_NODE ? this.fitOf(s) : null,
      s.hfModel && !ignoreFit ? this.hubWeightsOf(s.hfModel, s.hfRevision ?? null) : null,
      this.measure(),
      s.device === 'gpu' && node === LOCAL_NODE ? this.gpuMemory() : null,
      s.device === 'gpu' && node === LOCAL_NODE ? this.deps.listGpus().catch(() => []) : Promise.resolve([]),
    ]);
    const settings = this.deps.settings();
    const localMem = () => this.deps.memory?.() ?? { totalBytes: os.totalmem(), availableBytes: os.freemem() };
    const mem = node === LOCAL_NODE ? localMem() : (remote?.memory ?? localMem());
    const capBytes = settings.servicesMemoryCapMiB !== null ? settings.servicesMemoryCapMiB * 1024 * 1024 : defaultMemoryCapBytes(mem.totalBytes);
    const voiceModels = this.deps.voice.models();
    const now = Date.now();
    const services: RunningService[] = this.deps.supervisor
      .list()
      .filter((x) => x.name !== s.name && PLACED_STATES.has(x.state) && x.node === node)
      .map((x) => {
        const view = this.deps.supervisor.schedulerView(x.name);
        const startedAt = view.startedAt || Date.parse(x.since);
        const m = measured.get(x.name);
        return {
          name: x.name,
          model: x.model,
          device: x.device,
          gpus: x.device === 'gpu' ? (x.placement?.gpus.length ? x.placement.gpus : x.gpus) : [],
          vramBytes: m?.vramBytes ?? null,
          rssBytes: m?.rssBytes ?? null,
          estimateBytes: this.estimates.get(x.name) ?? x.placement?.estimateBytes ?? null,
          lastUsedAt: this.deps.activity.lastUsedAt(x.name) ?? startedAt,
          inFlight: this.deps.activity.requests(x.name),
          pinned: view.pinned,
          usedByVoice: heldByVoice(x, voiceModels),
          startedAt,
        };
      });
    // GPUs with memory figures when a tool reports them; without (a GPU AIMA lists but cannot
    // measure), the candidate is placed without a VRAM check.
    const measuredGpus = (gpuMem?.gpus ?? []).filter((g) => g.memoryTotalMiB > 0);
    const gpus = remote ? remote.gpus : measuredGpus.length > 0 ? measuredGpus.map((g) => ({ index: g.index, name: g.name, totalBytes: g.memoryTotalMiB * 1024 * 1024, freeBytes: g.memoryFreeMiB * 1024 * 1024 })) : gpuRefs.map((g) => ({ index: g.index, name: g.name, totalBytes: 0, freeBytes: 0 }));
    const est = ignoreFit || (s.device === 'gpu' && measuredGpus.length === 0 && !remote?.gpus.length) ? { bytes: null, layers: null } : this.estimateOf(s, fit, hub);
    const candidate: Candidate = { name: s.name, model: s.model, device: s.device, gpus: s.gpus, estimateBytes: est.bytes, layers: est.layers, ...(hub && s.hfModel ? hubNotes(s.hfModel, hub, est.bytes) : {}) };
    return { input: { gpus, ram: { ...mem, capBytes }, services, candidate, now, antiThrashMs: settings.antiThrashSeconds * 1000 }, fit };
  }

  private async hubWeightsOf(repo: string, revision: string | null): Promise<HubWeights> {
    if (!this.deps.hubWeights) return { known: false, reason: 'no Hub client is configured' };
    return this.deps.hubWeights(repo, revision);
  }

  private async fitOf(s: CandidateSpec): Promise<ModelFit | null> {
    if (!this.deps.fit || !s.model) return null;
    try {
      return await this.deps.fit(fitParams({ ...s, model: s.model }));
    } catch {
      return null;
    }
  }

  /**
   * What the candidate needs: the fit's total (a vLLM engine takes its whole budget), or for a Hub
   * id its weights' size on the Hub (a floor: the engine's KV cache and runtime come on top), and
   * on the CPU at least what its process held before (or what a running service of the same engine
   * holds): a model's estimate leaves out the engine's own memory.
   */
  private estimateOf(s: CandidateSpec, fit: ModelFit | null, hub: HubWeights | null = null): { bytes: number | null; layers: LayerSplit | null } {
    const n = fit?.numbers;
    let bytes = n ? ((fit!.estimator === 'vllm' ? n.budgetBytes : undefined) ?? n.totalBytes ?? null) : hub?.known ? hub.bytes : null;
    let layers: LayerSplit | null = null;
    if (s.device === 'gpu' && fit?.estimator === 'gguf' && n?.totalLayers && bytes !== null) {
      const perLayer = ((n.weightsBytes ?? 0) + (n.kvCacheBytes ?? 0)) / n.totalLayers;
      layers = { total: n.totalLayers, bytesPerLayer: perLayer, fixedBytes: Math.max(0, bytes - perLayer * n.totalLayers) };
    }
    if (s.device === 'cpu') {
      // The largest RSS seen (stored, so it survives a core restart): its own, else its engine's.
      const peakOf = (name: string) => {
        try {
          return this.deps.supervisor.schedulerView(name).peakRss;
        } catch {
          return null; // a service that does not exist (yet): a would-be link of services.planChain
        }
      };
      const sameEngine = this.deps.supervisor
        .list()
        .filter((x) => x.name !== s.name && x.engine === s.engine)
        .map((x) => peakOf(x.name))
        .filter((v): v is number => v !== null);
      const processCost = peakOf(s.name) ?? (sameEngine.length ? Math.max(...sameEngine) : null);
      if (processCost !== null) bytes = Math.max(bytes ?? 0, processCost);
    }
    return { bytes, layers };
  }

  /** Stops services idle past their TTL (never pinned ones, ones with requests, or ones the voice session holds). */
  private async unloadIdle(): Promise<void> {
    const { onDemandIdleTtlSeconds } = this.deps.settings();
    const voiceModels = this.deps.voice.models();
    const now = Date.now();
    for (const s of this.deps.supervisor.list()) {
      if (s.state !== 'running') continue;
      const view = this.deps.supervisor.schedulerView(s.name);
      const ttl = view.idleTtl ?? (view.startedOnDemand ? onDemandIdleTtlSeconds : 0);
      if (ttl <= 0 || view.pinned || this.deps.activity.requests(s.name) > 0) continue;
      if (heldByVoice(s, voiceModels)) continue;
      const last = Math.max(this.deps.activity.lastUsedAt(s.name) ?? 0, view.startedAt || Date.parse(s.since));
      if (now - last < ttl * 1000) continue;
      this.idleUnloads.set(s.name, (this.idleUnloads.get(s.name) ?? 0) + 1);
      await this.deps.supervisor
        .stopBy(s.name, 'idle', `idle for ${formatDuration(ttl)} (no request since ${new Date(last).toISOString()}); the next request starts it again`)
        .catch(() => {});
    }
  }
}
