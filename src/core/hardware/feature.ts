/**
 * Hardware wired into the core: `hardware.report` (detection + the container platform, with VRAM
 * split between AIMA's services and foreign processes), `hardware.watch`/`unwatch` (1 Hz telemetry
 * that runs only while a lease lives, emitted as `hardware.sample`), `models.fit` (GGUF through
 * the llama.cpp estimator, safetensors through vLLM's), and the GPU list for the services' guard.
 *
 * Hardware comes before services in the core's feature list (the services' GPU guard and fit
 * check use it), yet its attribution names the services' pids. Rather than reading a supervisor
 * created after it (a mutable holder the core would fill in later), it follows the
 * `services.changed` event, which the supervisor emits after every transition and at the end of
 * its startup (adoption); `hardware.report` waits for the core's startup, as before.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type {
  CoreApi,
  FitNumbers,
  HardwareReport as HardwareReportDto,
  HardwareSample,
  ModelFit,
  ModelFitParams,
  ModelSummary,
  ServiceSummary,
} from '../../shared/contract/index.js';
import { AimaError } from '../../shared/errors.js';
import type { Env } from '../config/env.js';
import type { CoreEvents } from '../events.js';
import type { GgufMetadata, HfSafetensorsMetadata } from '../models/detect/types.js';
import type { GpuRef } from './types.js';
import { checkContainerPlatform, createDockerClient, type DockerLike } from '../runtimes/docker/platform.js';
import { detectHardware } from './detect.js';
import { fitGguf, fitVllm, vllmFactsFromHfConfig, type GgufModelFacts, type HfConfigLike, type OtherGpu, type VllmModelFacts, type VllmWeightDtype } from './fit/index.js';
import { createNvidiaSampler } from './nvidia-sampler.js';
import { attributeGpuMemory, createTelemetry, type GpuAttribution, type GpuSample, type TelemetryEvent } from './telemetry.js';
import type { GpuInfo, HardwareReport } from './types.js';
import type { Feature } from '../feature.js';

export type HardwareApi = Pick<CoreApi, 'hardware.report' | 'hardware.watch' | 'hardware.unwatch' | 'models.fit'>;

export interface HardwareFeatureOptions {
  dataDir: string;
  env: Env;
  events: CoreEvents;
  models: { get(name: string): ModelSummary };
  /** The core's startup: the report's attribution needs the adopted engines' pids. */
  ready: () => Promise<void>;
  /** Seams (tests, benchmarks). */
  seams?: HardwareSeams;
}

export interface HardwareSeams {
  /** Extra pid → service name entries counted as AIMA's own (a recording's pids cannot be real services). */
  ownPids?: () => ReadonlyMap<number, string>;
  /** Telemetry period. Default 1000 ms. */
  intervalMs?: number;
  /** Replaces the Docker client. */
  docker?: DockerLike;
  /** nvidia-smi sampler mode (see createNvidiaSampler). Default stream. */
  samplerMode?: 'stream' | 'spawn';
}

export interface HardwareFeature extends Feature {
  readonly calls: HardwareApi;
  /** GPUs for the services' guard, from a detection at most 10 s old. */
  listGpus(): Promise<GpuRef[]>;
  /**
   * GPU memory now, for placement and /metrics: each GPU's figures and the VRAM each service
   * holds (its processes and their children), sampled on demand (nvidia-smi's GPU and per-process
   * queries, no more than once per `maxAgeMs`; the telemetry's sample while it runs).
   */
  gpuMemory(maxAgeMs?: number): Promise<GpuMemory>;
  /**
   * Memory facts for a placement: each GPU's total and free memory with the processes holding it
   * (AIMA's services named), sampled now (a detection at most 2 s old), and the host's RAM.
   */
  memoryFacts(): Promise<MemoryFacts>;
  /** Whether telemetry is sampling, and how many leases are open (tests, status). */
  readonly watching: { running: boolean; leases: number };
  close(): void;
}

export interface GpuMemory {
  gpus: GpuInfo[];
  /** Service name → GPU index → bytes. */
  byService: Map<string, Record<number, number>>;
}

export interface MemoryFacts {
  gpus: GpuInfo[];
  attribution: GpuAttribution[];
  ram: { totalBytes: number; availableBytes: number } | null;
}

const DEFAULT_TTL_MS = 10_000;
const MiB = 1024 * 1024;

/** The parent pid of `pid` from /proc (Linux), or null. */
function parentPid(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return Number.isInteger(ppid) ? ppid : null;
  } catch {
    return null;
  }
}

/** Which of AIMA's services a GPU process belongs to: its own pid, or one of its ancestors (a worker's child). */
function ownerOf(pid: number, own: ReadonlyMap<number, string>): string | undefined {
  let p: number | null = pid;
  for (let depth = 0; p !== null && p > 1 && depth < 32; depth++) {
    const name = own.get(p);
    if (name !== undefined) return name;
    p = parentPid(p);
  }
  return undefined;
}

/** CPU busy percent (all cores) since the previous call, from os.cpus() counters. */
function cpuMeter(): () => number {
  const totals = () => os.cpus().reduce((acc, c) => ({ idle: acc.idle + c.times.idle, all: acc.all + c.times.user + c.times.nice + c.times.sys + c.times.irq + c.times.idle }), { idle: 0, all: 0 });
  let last = totals();
  return () => {
    const now = totals();
    const all = now.all - last.all;
    const idle = now.idle - last.idle;
    last = now;
    return all > 0 ? Math.round(1000 * (1 - idle / all)) / 10 : 0;
  };
}

export function createHardwareFeature(opts: HardwareFeatureOptions): HardwareFeature {
  const { env, events } = opts;
  const seams = opts.seams ?? {};
  const intervalMs = seams.intervalMs ?? 1000;
  let docker: DockerLike | null = seams.docker ?? null;
  const dockerClient = (): DockerLike => (docker ??= createDockerClient(env.DOCKER_HOST));
  // AIMA's services with their pids, as the supervisor last announced them (see the file's head).
  let services: ServiceSummary[] = [];
  const offServices = events.on('services.changed', (list) => void (services = list));

  // ---------------------------------------------------------------- detection (shared, cached)

  let last: { at: number; report: HardwareReport } | null = null;
  let inFlight: Promise<HardwareReport> | null = null;
  const detect = (maxAgeMs: number): Promise<HardwareReport> => {
    if (last && Date.now() - last.at <= maxAgeMs) return Promise.resolve(last.report);
    inFlight ??= detectHardware({ dataDir: opts.dataDir, nvidiaSmiPath: env.AIMA_NVIDIA_SMI })
      .then((report) => {
        last = { at: Date.now(), report };
        return report;
      })
      .finally(() => {
        inFlight = null;
      });
    return inFlight;
  };

  /** pid → service name: the services' own pids, plus injected ones. */
  const ownPidMap = (): Map<number, string> => {
    const map = new Map<number, string>();
    for (const s of services) if (s.pid !== null) map.set(s.pid, s.name);
    for (const [pid, name] of seams.ownPids?.() ?? []) map.set(pid, name);
    return map;
  };

  /** Extends the own map with GPU processes whose ancestor is a service (a worker's child process). */
  const ownPidsFor = (samples: GpuSample[]): Map<number, string> => {
    const own = ownPidMap();
    if (own.size === 0) return own;
    for (const s of samples) {
      for (const p of s.processes) {
        if (own.has(p.pid)) continue;
        const owner = ownerOf(p.pid, own);
        if (owner !== undefined) own.set(p.pid, owner);
      }
    }
    return own;
  };

  /**
   * The report reuses a detection at most 1 s old: clients asking at once (the CLI polling, a
   * page and a script) share one nvidia-smi run, and the figures are as fresh as a telemetry sample.
   */
  const report = async (): Promise<HardwareReportDto> => {
    const [hw, containerPlatform] = await Promise.all([detect(1_000), checkContainerPlatform(dockerClient(), { timeoutMs: 3_000 })]);
    const samples: GpuSample[] = hw.gpus.map((gpu) => ({ gpu, processes: hw.gpuProcesses }));
    return { ...hw, attribution: attributeGpuMemory(samples, ownPidsFor(samples)), containerPlatform };
  };

  // ---------------------------------------------------------------- telemetry behind leases

  const sampler = createNvidiaSampler({ nvidiaSmiPath: env.AIMA_NVIDIA_SMI, intervalMs, mode: seams.samplerMode });
  /** Whether nvidia-smi exists here; decided once per watch session from the (cached) detection. */
  let nvidiaPresent: Promise<boolean> | null = null;
  let ownForTick = new Map<number, string>();
  const telemetry = createTelemetry({
    intervalMs,
    sample: async () => {
      nvidiaPresent ??= detect(30_000).then((r) => r.gpuProbes.some((p) => p.tool === 'nvidia-smi' && p.status !== 'not-present'));
      const samples = (await nvidiaPresent) ? await sampler() : [];
      ownForTick = ownPidsFor(samples);
      return samples;
    },
    ownPids: () => ownForTick,
    onStop: () => {
      sampler.close();
      nvidiaPresent = null;
    },
  });
  let cpuPercent = cpuMeter();

  const toEvent = (e: TelemetryEvent): HardwareSample =>
    e.type === 'error'
      ? e
      : {
          type: 'sample',
          at: e.at,
          durationMs: e.durationMs,
          gpus: e.gpus.map((s) => s.gpu),
          attribution: e.attribution,
          memory: { totalBytes: os.totalmem(), availableBytes: os.freemem() },
          cpuPercent: cpuPercent(),
        };

  const leases = new Map<string, NodeJS.Timeout>();
  let unsubscribe: (() => void) | null = null;

  const endLease = (id: string): boolean => {
    const timer = leases.get(id);
    if (!timer) return false;
    clearTimeout(timer);
    leases.delete(id);
    if (leases.size === 0 && unsubscribe) {
      unsubscribe();
      unsubscribe = null;
    }
    return true;
  };

  const watch: HardwareApi['hardware.watch'] = async ({ leaseId, ttlMs }) => {
    const id = leaseId ?? randomUUID();
    const ttl = ttlMs ?? DEFAULT_TTL_MS;
    clearTimeout(leases.get(id));
    // A renewal of an expired lease simply opens it again: a client that was asleep carries on.
    const timer = setTimeout(() => endLease(id), ttl);
    timer.unref();
    leases.set(id, timer);
    if (!unsubscribe) {
      cpuPercent = cpuMeter();
      unsubscribe = telemetry.subscribe((e) => events.emit('hardware.sample', toEvent(e)));
    }
    return { leaseId: id, ttlMs: ttl, renewEveryMs: Math.max(500, Math.floor(ttl / 2)), intervalMs, watchers: leases.size };
  };

  // ---------------------------------------------------------------- GPU memory on demand

  const oneShot = createNvidiaSampler({ nvidiaSmiPath: env.AIMA_NVIDIA_SMI, mode: 'spawn' });
  let memo: { at: number; value: Promise<GpuSample[]> } | null = null;
  const gpuSamplesNow = (maxAgeMs: number): Promise<GpuSample[]> => {
    const latest = telemetry.latest;
    if (telemetry.running && latest?.type === 'sample' && Date.now() - latest.at <= maxAgeMs) return Promise.resolve(latest.gpus);
    if (last && Date.now() - last.at <= maxAgeMs) return Promise.resolve(last.report.gpus.map((gpu) => ({ gpu, processes: last!.report.gpuProcesses })));
    if (!memo || Date.now() - memo.at > maxAgeMs) {
      // Asked only where a detection saw nvidia-smi (cached): no spawn per start on machines without one.
      const value = detect(60_000).then(async (r) => (r.gpuProbes.some((p) => p.tool === 'nvidia-smi' && p.status === 'ok') ? await oneShot().catch(() => []) : r.gpus.map((gpu) => ({ gpu, processes: [] }))));
      memo = { at: Date.now(), value };
    }
    return memo.value;
  };
  const gpuMemory = async (maxAgeMs = 2_000): Promise<GpuMemory> => {
    const samples = await gpuSamplesNow(maxAgeMs);
    const byService = new Map<string, Record<number, number>>();
    for (const a of attributeGpuMemory(samples, ownPidsFor(samples))) {
      for (const [name, mib] of Object.entries(a.byService)) {
        const per = byService.get(name) ?? {};
        per[a.index] = (per[a.index] ?? 0) + mib * MiB;
        byService.set(name, per);
      }
    }
    return { gpus: samples.map((s) => s.gpu), byService };
  };

  // ---------------------------------------------------------------- fit

  /** The freshest GPU figures: the last telemetry sample while watching, else a detection ≤ 2 s old. */
  const currentGpus = async (): Promise<{ gpus: GpuInfo[]; ramAvailableBytes?: number }> => {
    const latest = telemetry.latest;
    if (telemetry.running && latest?.type === 'sample' && Date.now() - latest.at < 3_000 && latest.gpus.length > 0) {
      return { gpus: latest.gpus.map((s) => s.gpu), ramAvailableBytes: os.freemem() };
    }
    const hw = await detect(2_000);
    return { gpus: hw.gpus, ramAvailableBytes: hw.memory?.availableBytes };
  };

  const fit = async (p: ModelFitParams): Promise<ModelFit> => {
    const model = opts.models.get(p.name);
    const { gpus: all, ramAvailableBytes } = await currentGpus();
    const gpus = all.filter((g) => g.memoryTotalMiB > 0);
    let gpu: GpuInfo | undefined;
    if (p.gpu !== undefined) {
      gpu = gpus.find((g) => g.index === p.gpu);
      if (!gpu) {
        throw new AimaError(
          'bad-request',
          `GPU ${p.gpu} does not exist on this machine.`,
          gpus.length ? `Available: ${gpus.map((g) => `${g.index} (${g.name})`).join(', ')}.` : 'No GPU was detected: leave out --gpu to estimate for the CPU.',
        );
      }
    } else {
      gpu = [...gpus].sort((a, b) => b.memoryFreeMiB - a.memoryFreeMiB)[0];
    }
    const otherGpus: OtherGpu[] = gpus.filter((g) => g !== gpu).map((g) => ({ index: g.index, freeMiB: g.memoryFreeMiB }));
    const base = {
      model: model.name,
      format: model.format,
      gpu: gpu ? { index: gpu.index, name: gpu.name, totalMiB: gpu.memoryTotalMiB, freeMiB: gpu.memoryFreeMiB } : null,
    };
    const measured: FitNumbers = { gpuFreeMiB: gpu?.memoryFreeMiB, gpuTotalMiB: gpu?.memoryTotalMiB, ramAvailableBytes };
    /** Every answer has one shape: the model and GPU, what was measured, and the estimator's part. */
    const answer = (estimator: ModelFit['estimator'], verdict: ModelFit['verdict'], suggestions: ModelFit['suggestions'], notes: string[], estimated: Partial<FitNumbers> = {}): ModelFit => ({
      ...base,
      estimator,
      verdict,
      suggestions,
      numbers: { ...measured, ...estimated },
      notes,
    });
    const noEstimate = (reason: 'unsupported-format' | 'missing-metadata', message: string, notes: string[] = []): ModelFit =>
      answer(null, { kind: 'no-estimate', reason, message }, [], notes);

    if (model.format === 'gguf') {
      if (p.cacheType === 'fp8') throw new AimaError('bad-request', 'fp8 is a vLLM KV cache type; llama.cpp (GGUF) takes f16, q8_0 or q4_0.', 'Pass --cache-type f16, q8_0 or q4_0.');
      const facts = ggufFacts(model.metadata as unknown as GgufMetadata);
      if ('missing' in facts) return noEstimate('missing-metadata', `No estimate: the GGUF header of "${model.name}" lacks ${facts.missing.join(', ')}.`);
      const cacheType = p.cacheType;
      const r = fitGguf(facts.facts, {
        contextSize: p.ctx,
        cacheType,
        parallel: p.parallel,
        // A quantized V cache needs flash attention in llama.cpp, so the estimate assumes it then.
        flashAttention: cacheType !== undefined && cacheType !== 'f16' ? true : undefined,
        gpuFreeMiB: gpu?.memoryFreeMiB,
        ramAvailableBytes,
        otherGpus,
      });
      const e = r.estimate;
      return answer('gguf', r.verdict, r.suggestions, facts.notes, {
        contextSize: e.contextSize,
        parallel: e.parallel,
        cacheType: e.cacheType,
        weightsBytes: e.weightsBytes,
        kvCacheBytes: e.kvCacheBytes,
        kvBytesPerToken: e.kvBytesPerToken,
        computeBufferBytes: e.computeBufferBytes,
        outputBufferBytes: e.outputBufferBytes,
        totalBytes: e.totalBytes,
        gpuBytes: r.split.gpuBytes,
        cpuBytes: r.split.cpuBytes,
        gpuLayers: r.split.gpuLayers,
        totalLayers: facts.facts.layerCount + 1,
      });
    }

    if (model.format === 'safetensors') {
      if (p.cacheType === 'q8_0' || p.cacheType === 'q4_0') {
        throw new AimaError('bad-request', `${p.cacheType} is a llama.cpp KV cache type; vLLM (safetensors) takes fp8 (or the model's own dtype by default).`, 'Pass --cache-type fp8, or leave it out.');
      }
      const facts = vllmFacts(model);
      if ('missing' in facts) return noEstimate('missing-metadata', `No estimate: ${facts.missing.join('; ')}.`);
      if (!gpu) {
        return answer('vllm', { kind: 'does-not-fit', reason: 'no-gpu', message: 'vLLM serves safetensors models on a GPU, and AIMA sees none on this machine.' }, [], facts.notes);
      }
      const r = fitVllm(facts.facts, {
        gpuTotalMiB: gpu.memoryTotalMiB,
        gpuFreeMiB: gpu.memoryFreeMiB,
        maxModelLen: p.ctx,
        kvCacheDtype: p.cacheType === 'fp8' ? 'fp8' : 'auto',
        otherGpus,
      });
      const e = r.estimate;
      return answer('vllm', r.verdict, r.suggestions, facts.notes, {
        contextSize: e.maxModelLen,
        cacheType: p.cacheType === 'fp8' ? 'fp8' : 'auto',
        weightsBytes: e.weightsBytes,
        kvCacheBytes: e.kvCacheBytes,
        kvBytesPerToken: e.kvBytesPerToken,
        budgetBytes: e.budgetBytes,
        activationBytes: e.activationBytes,
        overheadBytes: e.overheadBytes,
        kvTokenCapacity: e.kvTokenCapacity,
        maxConcurrency: e.maxConcurrency,
      });
    }

    return noEstimate(
      'unsupported-format',
      `No estimate for the ${model.format} format: AIMA estimates memory for GGUF models (llama.cpp) and safetensors models (vLLM). ` +
        `"${model.name}" is a ${model.kind} model of ${(model.sizeBytes / MiB).toFixed(1)} MiB on disk; expect roughly that much memory plus its runtime's.`,
    );
  };

  return {
    events: ['hardware.sample'],
    calls: {
      // Attribution names the services' processes: it needs the adopted engines.
      'hardware.report': async () => {
        await opts.ready();
        return report();
      },
      'hardware.watch': watch,
      'hardware.unwatch': async ({ leaseId }) => ({ closed: endLease(leaseId), watchers: leases.size }),
      'models.fit': fit,
    },
    async listGpus() {
      return (await detect(10_000)).gpus.map((g) => ({ index: g.index, name: g.name }));
    },
    gpuMemory,
    async memoryFacts() {
      const hw = await detect(2_000);
      const samples: GpuSample[] = hw.gpus.map((gpu) => ({ gpu, processes: hw.gpuProcesses }));
      return { gpus: hw.gpus, attribution: attributeGpuMemory(samples, ownPidsFor(samples)), ram: hw.memory ?? null };
    },
    get watching() {
      return { running: telemetry.running, leases: leases.size };
    },
    close() {
      offServices();
      for (const t of leases.values()) clearTimeout(t);
      leases.clear();
      unsubscribe = null;
      telemetry.close();
      sampler.close();
      oneShot.close();
    },
  };
}

type FactsOrMissing<T> = { facts: T; notes: string[] } | { missing: string[] };

/**
 * Maps the stored GGUF metadata onto the estimator's facts. The library stores totals, not the
 * tensor table, so per-layer sizes are spread evenly and the token embedding is counted with the
 * GPU part (a slight over-estimate at full offload).
 */
export function ggufFacts(md: GgufMetadata): FactsOrMissing<GgufModelFacts> {
  const required = { layerCount: md.layerCount, contextLength: md.contextLength, embeddingLength: md.embeddingLength, headCount: md.headCount, vocabSize: md.vocabSize };
  const missing = Object.entries(required)
    .filter(([, v]) => typeof v !== 'number' || !(v > 0))
    .map(([k]) => k);
  if (missing.length > 0 || !(md.tensorDataBytes > 0)) return { missing: missing.length ? missing : ['tensorDataBytes'] };
  const ff = md.architecture ? md.keys?.[`${md.architecture}.feed_forward_length`] : undefined;
  const notes = ['Per-layer weight sizes are spread evenly over the layers (the library keeps totals, not the tensor table).'];
  if (typeof ff !== 'number') notes.push('No feed_forward_length in the header: the compute buffer assumes 4 × embedding length.');
  return {
    facts: {
      layerCount: md.layerCount!,
      contextLength: md.contextLength!,
      embeddingLength: md.embeddingLength!,
      headCount: md.headCount!,
      headCountKv: md.headCountKv ?? md.headCount!,
      keyLength: md.keyLength,
      valueLength: md.valueLength,
      feedForwardLength: typeof ff === 'number' ? ff : undefined,
      vocabSize: md.vocabSize!,
      tensorDataBytes: md.tensorDataBytes,
    },
    notes,
  };
}

const SAFETENSORS_DTYPES: Record<string, VllmWeightDtype> = {
  F32: 'float32',
  F16: 'float16',
  BF16: 'bfloat16',
  F8_E4M3: 'fp8',
  F8_E5M2: 'fp8',
  I8: 'int8',
  U8: 'int8',
};

/** config.json (for intermediate_size and friends) plus the safetensors totals by dtype. */
function vllmFacts(model: ModelSummary): FactsOrMissing<VllmModelFacts> {
  const md = model.metadata as unknown as HfSafetensorsMetadata;
  if (!md.hasConfig) return { missing: [`"${model.name}" has no config.json (a bare .safetensors file), so its layers and heads are unknown`] };
  let config: Partial<HfConfigLike> & { text_config?: Partial<HfConfigLike> };
  try {
    config = JSON.parse(readFileSync(path.join(model.path, 'config.json'), 'utf8'));
  } catch (err) {
    return { missing: [`cannot read ${path.join(model.path, 'config.json')}: ${(err as Error).message}`] };
  }
  // Multimodal configs keep the language model's numbers under text_config.
  const c = { ...config.text_config, ...config } as Partial<HfConfigLike>;
  const need = ['num_hidden_layers', 'num_attention_heads', 'hidden_size', 'intermediate_size', 'vocab_size', 'max_position_embeddings'] as const;
  const missing = need.filter((k) => typeof c[k] !== 'number');
  if (missing.length > 0) return { missing: [`config.json of "${model.name}" lacks ${missing.join(', ')}`] };
  const notes: string[] = [];
  const weights: VllmModelFacts['weights'] = [];
  for (const [dtype, t] of Object.entries(md.bytesByDtype ?? {})) {
    const known = SAFETENSORS_DTYPES[dtype];
    if (known) weights.push({ dtype: known, parameters: t.elements });
    else {
      // Packed quantized weights (I32 in GPTQ/AWQ): count their bytes as they are.
      weights.push({ dtype: 'int8', parameters: t.bytes });
      notes.push(`${dtype} tensors counted by their bytes (${(t.bytes / MiB).toFixed(0)} MiB).`);
    }
  }
  return { facts: vllmFactsFromHfConfig(c as HfConfigLike, weights), notes };
}
