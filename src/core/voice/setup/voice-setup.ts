/**
 * `voice.plan` and `voice.setup`: the voice chain planned from the library, the services, the
 * remotes and the machine's memory (resolve-links.ts, then budget.ts, both pure), and set up as
 * planned — model files imported, services created on the embedded engines, the config saved, the
 * services started — as one cancellable operation. A plan that does not fit is refused unless
 * forced, with what to change.
 *
 * The memory facts come through `machine`, one function, so that a general placement step can
 * take its place later without the voice code changing.
 */
import { readFileSync, statSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { CoreApi, ModelSummary, ServiceCreateParams, VoiceConfig, VoiceConfigPatch, VoiceGpuHolder, VoicePlan, VoicePlanParams, VoiceRole, VoiceSetupParams, VoiceSetupResult } from '../../../shared/contract/index.js';
import { AimaError } from '../../../shared/errors.js';
import { formatBytes } from '../../../shared/format-bytes.js';
import type { Operations } from '../../operations/operations.js';
import type { CoreEvents } from '../../events.js';
import { MiB } from '../../hardware/fit/index.js';
import type { MemoryFacts } from '../../hardware/feature.js';
import { importedFrom, resolveVoiceLinks, ROLE_LABEL, type ChainFacts, type ResolvedLink, type VoiceEngineFacts } from './resolve-links.js';
import { planVoiceBudget, type LinkMemory } from './budget.js';

export type VoiceSetupApi = Pick<
  CoreApi,
  'models.list' | 'models.import' | 'models.fit' | 'services.list' | 'services.create' | 'services.start' | 'services.stop' | 'services.remove' | 'remotes.list' | 'engines.list'
>;

export interface VoiceSetupDeps {
  api: VoiceSetupApi;
  config: { get(): VoiceConfig; set(patch: VoiceConfigPatch): VoiceConfig };
  operations: Operations;
  events: CoreEvents;
  /** GPUs with who holds their memory, and the host's RAM. */
  machine: () => Promise<MemoryFacts>;
}

/** RAM of an embedded worker beyond its model: Node and the runtime (a rough, deliberately round figure). */
export const WORKER_RAM_BYTES = 96 * MiB;
/** ONNX Runtime and sherpa-onnx hold the weights plus working buffers: about half again the file. */
const ONNX_RAM_FACTOR = 1.5;
/** The embedded LLM worker's default context per sequence (its --ctx-size auto). */
const LLM_DEFAULT_CTX = 4096;

const ENGINE_OF: Record<VoiceRole, string> = { asr: 'aima-asr', llm: 'aima-llm', tts: 'aima-tts' };

/** Bytes of a file, or of the files under a folder. */
function sizeOnDisk(p: string): number {
  try {
    const st = statSync(p);
    if (!st.isDirectory()) return st.size;
    return readdirSync(p, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .reduce((s, e) => s + statSync(path.join(e.parentPath, e.name)).size, 0);
  } catch {
    return 0;
  }
}

/** Resident memory of a process (Linux /proc), or null. */
function rssOf(pid: number | null): number | null {
  if (pid === null) return null;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

export function createVoiceSetup(deps: VoiceSetupDeps) {
  const { api } = deps;

  const chainFacts = async (): Promise<ChainFacts> => {
    const [models, services, remotes, engines] = await Promise.all([api['models.list']({}), api['services.list']({}), api['remotes.list']({}), api['engines.list']({})]);
    const engine = (role: VoiceRole): VoiceEngineFacts => {
      const e = engines.engines.find((x) => x.id === ENGINE_OF[role]);
      if (!e) throw new AimaError('internal', `The embedded ${ROLE_LABEL[role]} engine ${ENGINE_OF[role]} is missing from the engine catalog.`, 'Reinstall AIMA.');
      return { id: e.id, formats: e.modelFormats, devices: e.devices, modelRequired: e.modelRequired };
    };
    const cfg = deps.config.get();
    return {
      current: { asr: cfg.asr, llm: cfg.llm, tts: cfg.tts },
      models,
      services,
      remoteModels: remotes.flatMap((r) => r.models),
      engines: { asr: engine('asr'), llm: engine('llm'), tts: engine('tts') },
    };
  };

  /** The LLM's memory on the CPU and fully on the GPU, from the estimator (GGUF) or the file size. */
  const llmMemory = async (link: ResolvedLink, ctxChoice: number | undefined): Promise<LinkMemory> => {
    const model = link.model;
    if (model?.format === 'gguf') {
      const trained = Number((model.metadata as { contextLength?: number }).contextLength) || LLM_DEFAULT_CTX;
      const ctx = ctxChoice ?? link.existing?.ctxSize ?? Math.min(trained, LLM_DEFAULT_CTX);
      const fit = await api['models.fit']({ name: model.name, ctx });
      const bytes = fit.numbers.totalBytes ?? model.sizeBytes;
      const smaller = fit.suggestions.find((s) => s.kind === 'smaller-context');
      return {
        cpu: { ramBytes: bytes + WORKER_RAM_BYTES },
        gpu: { gpuBytes: bytes, ramBytes: WORKER_RAM_BYTES },
        contextSize: fit.numbers.contextSize ?? ctx,
        smallerContext: smaller && smaller.kind === 'smaller-context' && smaller.contextSize < ctx ? smaller.contextSize : null,
        estimated: true,
      };
    }
    const size = model ? model.sizeBytes : link.importPath ? sizeOnDisk(link.importPath) : 0;
    return { cpu: { ramBytes: size + WORKER_RAM_BYTES }, gpu: { gpuBytes: size, ramBytes: WORKER_RAM_BYTES }, contextSize: ctxChoice ?? null, smallerContext: null, estimated: size > 0 };
  };

  const onnxMemory = (link: ResolvedLink): LinkMemory => {
    const size = link.model ? link.model.sizeBytes : link.importPath ? sizeOnDisk(link.importPath) : 0;
    return { cpu: { ramBytes: Math.round(size * ONNX_RAM_FACTOR) + WORKER_RAM_BYTES }, gpu: null, contextSize: null, smallerContext: null, estimated: link.via !== 'remote' };
  };

  const plan = async (params: VoicePlanParams): Promise<VoicePlan> => {
    const [facts, machine] = await Promise.all([chainFacts(), deps.machine()]);
    const links = resolveVoiceLinks(params, facts);
    const holders: VoiceGpuHolder[] = machine.attribution.flatMap((a) => [
      ...a.own.map((p) => ({ gpu: a.index, pid: p.pid, name: p.service, service: p.service, usedBytes: p.usedMemoryMiB * MiB })),
      ...a.foreign.map((p) => ({ gpu: a.index, pid: p.pid, name: p.name, service: null, usedBytes: p.usedMemoryMiB * MiB })),
    ]);
    const memory = {} as Record<VoiceRole, LinkMemory>;
    for (const link of links) {
      const m = link.role === 'llm' ? await llmMemory(link, params.llmContext) : onnxMemory(link);
      if (link.existing?.state === 'running') {
        const gpuMiB = machine.attribution.reduce((s, a) => s + (a.byService[link.existing!.name] ?? 0), 0);
        const rss = rssOf(link.existing.pid);
        if (rss !== null || gpuMiB > 0) m.measured = { gpuBytes: gpuMiB * MiB, ramBytes: rss ?? 0 };
      }
      memory[link.role] = m;
    }
    return planVoiceBudget(links, { gpus: machine.gpus, ram: machine.ram, holders, memory, llmDevice: params.llmDevice ?? 'auto' });
  };

  /** The import step: each file not yet in the library is imported; the link then names the model. */
  const importFiles = async (params: VoiceSetupParams, signal: AbortSignal, report: (msg: string) => void): Promise<VoicePlanParams> => {
    if (!params.asrModelPath && !params.llmModelPath) return params;
    const next: VoicePlanParams = { ...params };
    for (const [key, role] of [
      ['asrModelPath', 'asr'],
      ['llmModelPath', 'llm'],
    ] as const) {
      const file = params[key];
      if (!file) continue;
      if (!path.isAbsolute(file)) throw new AimaError('bad-request', `${key} must be an absolute path; got "${file}".`, 'Give the full path of the model file or folder on the machine AIMA runs on.');
      let model: ModelSummary | undefined = importedFrom(await api['models.list']({}), file);
      if (!model) {
        report(`Importing ${file}`);
        model = await api['models.import']({ path: file, kind: role, mode: 'link' });
      }
      if (signal.aborted) throw new AimaError('cancelled', 'Voice setup: cancelled.');
      delete next[key];
      next[role] = model.name;
    }
    return next;
  };

  const setup = async (params: VoiceSetupParams): Promise<VoiceSetupResult> => {
    // Bad choices are refused before anything is imported or created.
    const first = await plan(params);
    if (first.verdict.kind === 'does-not-fit' && !params.force) throw refusal(first);
    const operationId = params.operationId ?? randomUUID();
    return deps.operations.run({ id: operationId, label: 'Setting up the voice chain', unit: 'items' }, async (op) => {
      const created: string[] = [];
      const started: string[] = [];
      const steps = first.creates.length + (params.start === false ? 0 : 3) + 1;
      let done = 0;
      const say = (msg: string) => op.report(done, steps, msg);
      const choices = await importFiles(params, op.signal, say);
      const planned = choices === params ? first : await plan(choices);
      if (planned.verdict.kind === 'does-not-fit' && !params.force) throw refusal(planned);
      const links = planned.links;
      try {
        for (const link of links) {
          if (link.via !== 'new-service' || !link.service || !link.engine) continue;
          if (op.signal.aborted) throw new AimaError('cancelled', 'Voice setup: cancelled.');
          say(`Creating ${link.service} (${link.engine}${link.model ? `, ${link.model}` : ''}, ${link.device})`);
          const spec: ServiceCreateParams = { name: link.service, engine: link.engine, device: link.device === 'gpu' ? 'gpu' : 'cpu' };
          // On the GPU the budget was judged against: the one with the most free memory.
          if (link.device === 'gpu' && planned.gpu) spec.gpus = [planned.gpu.index];
          if (link.model) spec.model = link.model;
          if (link.role === 'llm' && choices.llmContext !== undefined) spec.ctxSize = choices.llmContext;
          await api['services.create'](spec);
          created.push(link.service);
          done++;
        }
      } catch (err) {
        // A half-created chain is undone: nothing is left behind by a setup that failed.
        for (const name of created) await api['services.remove']({ name }).catch(() => undefined);
        throw err;
      }
      const patch: VoiceConfigPatch = { asr: links[0]!.name, llm: links[1]!.name, tts: links[2]!.name };
      if (params.voice !== undefined) patch.voice = params.voice;
      if (params.systemPrompt !== undefined) patch.systemPrompt = params.systemPrompt;
      if (params.silenceMs !== undefined) patch.silenceMs = params.silenceMs;
      if (params.maxTokens !== undefined) patch.maxTokens = params.maxTokens;
      const config = deps.config.set(patch);
      done++;
      if (params.start !== false) {
        for (const link of links) {
          if (!link.service || link.state === 'running') {
            done++;
            continue;
          }
          say(`Starting ${link.service}`);
          const sub = `${operationId}:${link.service}`;
          const onAbort = () => deps.operations.cancel(sub);
          op.signal.addEventListener('abort', onAbort);
          const service = link.service;
          const off = deps.events.on('operation.progress', (p) => {
            if (p.id === sub && p.message) say(`${service}: ${p.message}`);
          });
          try {
            if (op.signal.aborted) throw new AimaError('cancelled', 'Voice setup: cancelled.');
            const r = await api['services.start']({ name: link.service, wait: true, operationId: sub, ...(params.timeoutMs ? { timeoutMs: params.timeoutMs } : {}), ...(params.force ? { ignoreFit: true } : {}) });
            if (r.state !== 'running') throw new AimaError('unavailable', `${link.service} did not start: ${r.reason ?? r.state}.`, `See its log: aima service logs ${link.service}.`);
            started.push(link.service);
          } catch (err) {
            // Cancelled: the start in flight is stopped too (the ones already running stay).
            if (op.signal.aborted) await api['services.stop']({ name: service }).catch(() => undefined);
            throw err;
          } finally {
            off();
            op.signal.removeEventListener('abort', onAbort);
          }
          done++;
        }
      }
      say('Voice chain ready');
      return { plan: planned, config, created, started };
    });
  };

  return { plan, setup };
}

/** The error of a plan that does not fit: the verdict, and what to do. */
function refusal(plan: VoicePlan): AimaError {
  const v = plan.verdict;
  const ways = plan.alternatives.map((a) => a.message);
  const holders = plan.holders.filter((h) => !h.service).map((h) => `${h.name} (pid ${h.pid}, ${formatBytes(h.usedBytes)})`);
  const fix = [...ways, holders.length ? `Also holding the GPU: ${holders.join(', ')}.` : '', 'Or set it up anyway with force (--force); estimates can be wrong.'].filter(Boolean).join(' ');
  return new AimaError('conflict', `The voice chain does not fit: ${v.message}`, fix);
}
