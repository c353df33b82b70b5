/**
 * The Docker runtime's plan: the container a service gets — image candidates that fit this
 * machine, entrypoint and arguments, environment, labels, the model mounted read-only (the
 * library's file on `local`, the service's --model-path-on-node on another node) or a Hugging
 * Face id the engine downloads into the node's Hub cache volume (hub-model.ts), the port
 * published on 127.0.0.1 only, memory/CPU limits and GPU requests — computed from the catalog
 * entry, the service settings and the host facts alone (pure; test/unit/docker-plans.test.ts
 * snapshots it for every catalog entry).
 */
import path from 'node:path';
import type { DockerEngineEntry, EngineEntry, TemplateVar } from '../../engines/catalog-schema.js';
import { MissingTemplateValue, renderArgv, renderTemplate, type TemplateValues } from '../../engines/template.js';
import type { Device } from '../../../shared/contract/services.js';
import { templateValues } from '../native/plan.js';
import type { DockerPlan, DockerMount, PlanInput } from '../types.js';
import type { EngineResourceOverride } from '../../../shared/contract/settings.js';
import { LOCAL_NODE } from '../../nodes/node-facts.js';
import { modelNotOnNode } from './model-on-node.js';
import { hubEnv, hubMount, hubValues } from './hub-model.js';
import { hostForPort } from '../../../shared/host-port.js';

/** What the plan needs to know about the machine (resolved once by the runtime). */
export interface DockerHostFacts {
  arch: string;
  /** The GPUs' vendor and lowest compute capability ("8.9"), when there are GPUs. */
  gpuVendor: 'nvidia' | 'amd' | 'intel' | 'apple' | null;
  computeCapability: string | null;
  /** AIMA_<ENGINE>_MEMORY / _CPU / _GPU overrides (from config/env.ts); they win over `resources`. */
  env: Partial<Record<string, string>>;
  /** The `engineResources` setting: per-engine limits that replace the catalog entry's. */
  resources?: Record<string, EngineResourceOverride>;
}

/** The label every AIMA container carries: its service id. */
export const SERVICE_LABEL = 'aima.service';

/**
 * The label of the install (data directory) that made the container: its install id
 * (config/install-id.ts). Containers made before it existed lack it; see DockerRuntime.init.
 */
export const INSTALL_LABEL = 'aima.install';

/**
 * `aima-<first 8 of the install id>-<service name>`: service names are unique per install, and
 * the prefix keeps two installs on one daemon from claiming the same name.
 */
export function containerNameFor(installId: string, serviceName: string): string {
  return `aima-${installId.slice(0, 8)}-${serviceName}`;
}

/** AIMA_VLLM, AIMA_LLAMA_CPP, ...: the prefix of an engine's resource variables. */
export function resourceEnvPrefix(engineId: string): string {
  return `AIMA_${engineId.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}`;
}

/** "16g" → bytes. Throws with the variable's name when malformed. */
export function parseMemory(value: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)([bkmg]?)$/i.exec(value.trim());
  if (!m) throw new Error(`${what} must be bytes or a number with b, k, m or g (e.g. "16g"), got "${value}".`);
  const mult = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as '' | 'b' | 'k' | 'm' | 'g'];
  return Math.round(Number(m[1]) * mult);
}

function parseCpus(value: string, what: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${what} must be a positive number of cores (e.g. "4" or "1.5"), got "${value}".`);
  return n;
}

/** "0,1" → [0, 1]; "all" → []. */
function parseGpuList(value: string, what: string): number[] {
  if (value.trim() === 'all') return [];
  const parts = value.split(',').map((p) => p.trim());
  if (parts.some((p) => !/^\d+$/.test(p))) throw new Error(`${what} must be "all" or GPU indexes such as "0,1", got "${value}".`);
  return parts.map(Number);
}

function ccAtLeast(have: string, need: string): boolean {
  const [ha, hb] = have.split('.').map(Number) as [number, number];
  const [na, nb] = need.split('.').map(Number) as [number, number];
  return ha > na || (ha === na && hb >= nb);
}

/** Which image candidates fit the device and the machine, in priority order, and why the others do not. */
export function eligibleImages(engine: DockerEngineEntry, device: 'cpu' | 'gpu', facts: DockerHostFacts): { images: string[]; skipped: { image: string; why: string }[] } {
  const images: string[] = [];
  const skipped: { image: string; why: string }[] = [];
  const arch = facts.arch === 'x86_64' || facts.arch === 'amd64' ? 'x64' : facts.arch === 'aarch64' ? 'arm64' : facts.arch;
  for (const c of engine.images) {
    const r = c.requires;
    let why: string | null = null;
    if (r.device && r.device !== device) why = `for device ${r.device}`;
    else if (r.arch && r.arch !== arch) why = `for ${r.arch} (this machine is ${arch})`;
    else if (r.gpuVendor && device === 'gpu' && facts.gpuVendor !== null && r.gpuVendor !== facts.gpuVendor) why = `for ${r.gpuVendor} GPUs (this machine has ${facts.gpuVendor})`;
    else if (r.minComputeCapability && device === 'gpu' && facts.computeCapability && !ccAtLeast(facts.computeCapability, r.minComputeCapability)) {
      why = `needs compute capability ${r.minComputeCapability} (this GPU has ${facts.computeCapability})`;
    }
    if (why) skipped.push({ image: c.image, why });
    else images.push(c.image);
  }
  return { images, skipped };
}

/**
 * The arguments that name the model, first: a Hub id's (`hub.args`, and `hub.revisionArgs` with a
 * revision) or the mounted files' (`optionArgs.model_path`), else none.
 */
function modelArgs(engine: DockerEngineEntry, values: TemplateValues): string[] {
  if (values.hf_model !== undefined && engine.hub) {
    return [...renderArgv(engine.hub.args, values), ...(values.hf_revision !== undefined ? renderArgv(engine.hub.revisionArgs, values) : [])];
  }
  const files = engine.optionArgs.model_path;
  return files && values.model_path !== undefined ? renderArgv(files, values) : [];
}

/** The model's args, the entry's args, the other option args whose variable has a value, then the device's args. */
export function engineArgs(engine: DockerEngineEntry, device: Device, values: TemplateValues): string[] {
  const cmd = [...modelArgs(engine, values), ...renderArgv(engine.args, values)];
  for (const [name, args] of Object.entries(engine.optionArgs) as [TemplateVar, string[]][]) {
    if (name !== 'model_path' && values[name] !== undefined) cmd.push(...renderArgv(args, values));
  }
  cmd.push(...renderArgv(engine.deviceArgs[device] ?? [], values));
  return cmd;
}

/** The entry's environment and the device's; a variable whose template lacks a value is left out. */
export function engineEnv(engine: DockerEngineEntry, device: Device, values: TemplateValues): Record<string, string> {
  const env: Record<string, string> = {};
  for (const vars of [engine.env, engine.deviceEnv[device] ?? {}]) {
    for (const [k, t] of Object.entries(vars)) {
      try {
        env[k] = renderTemplate(t, values);
      } catch (err) {
        if (!(err instanceof MissingTemplateValue)) throw err;
      }
    }
  }
  return env;
}

/**
 * The container limits of an engine: AIMA_<ENGINE>_MEMORY / _CPU / _GPU, then the engineResources
 * setting, then the catalog entry. `gpus` is the default GPU list ([] = all) when the service names none.
 */
export function dockerLimits(engine: DockerEngineEntry, facts: Pick<DockerHostFacts, 'env' | 'resources'>): { memoryBytes: number | null; nanoCpus: number | null; gpus: number[] } {
  const prefix = engine.resourceEnvPrefix ?? resourceEnvPrefix(engine.id);
  const memEnv = facts.env[`${prefix}_MEMORY`];
  const cpuEnv = facts.env[`${prefix}_CPU`];
  const gpuEnv = facts.env[`${prefix}_GPU`];
  // Precedence: environment variable, then the engineResources setting, then the catalog entry.
  const setting = facts.resources?.[engine.id] ?? {};
  const settingName = (field: string) => `the setting engineResources.${engine.id}.${field}`;
  const memory = memEnv ?? setting.memory ?? engine.resources.memory;
  const memoryFrom = memEnv !== undefined ? `${prefix}_MEMORY` : setting.memory !== undefined ? settingName('memory') : `${engine.id}: resources.memory`;
  const cpus = cpuEnv !== undefined ? parseCpus(cpuEnv, `${prefix}_CPU`) : (setting.cpus ?? engine.resources.cpus);
  const gpus = gpuEnv !== undefined ? parseGpuList(gpuEnv, `${prefix}_GPU`) : setting.gpus !== undefined ? parseGpuList(setting.gpus, settingName('gpus')) : [];
  return {
    memoryBytes: memory !== undefined ? parseMemory(memory, memoryFrom) : null,
    nanoCpus: cpus !== undefined ? Math.round(cpus * 1e9) : null,
    gpus,
  };
}

/** Model files (a GGUF, an ONNX graph) are mounted by themselves; folders as the mount path. */
const MODEL_FILE = /\.(gguf|onnx|bin|pt|safetensors)$/i;

/** The container for `input`, made by the install `installId` (its name and labels carry it). */
export function planDocker(input: PlanInput, facts: DockerHostFacts, installId: string): DockerPlan {
  const engine: EngineEntry = input.engine;
  if (engine.runtime !== 'docker') throw new Error(`planDocker: engine ${engine.id} is a ${engine.runtime} engine`);

  const mounts: DockerMount[] = [];
  let modelPathInside: string | undefined;
  // A Hub id is downloaded by the engine on whichever node it runs, `local` included.
  const hubRef = input.modelOnNodes?.kind === 'hf' ? input.modelOnNodes : null;
  if (hubRef) {
    if (!engine.hub) throw new Error(`planDocker: engine ${engine.id} has no "hub" declaration for ${hubRef.id}`);
    mounts.push(hubMount(engine.hub));
  } else if (input.model) {
    // `local` reads the library's files; another node reads what the service names there.
    const onNode = input.dockerNode === LOCAL_NODE ? { path: input.model.path } : input.modelOnNodes?.kind === 'path' ? input.modelOnNodes : null;
    if (!onNode) throw modelNotOnNode(input.dockerNode, input.model.name);
    modelPathInside = MODEL_FILE.test(onNode.path) ? path.posix.join(engine.modelMountPath, path.basename(onNode.path)) : engine.modelMountPath;
    mounts.push({ source: onNode.path, target: modelPathInside, readOnly: true });
  }
  // Inside the container the engine listens on all interfaces at the catalog's port; the host side is 127.0.0.1:PORT.
  const values: TemplateValues = { ...templateValues(input), host: '0.0.0.0', port: String(engine.containerPort), ...(hubRef ? hubValues(hubRef) : {}) };
  if (modelPathInside) values.model_path = modelPathInside;
  else delete values.model_path;

  const cmd = engineArgs(engine, input.device, values);
  const env = { ...engineEnv(engine, input.device, values), ...(hubRef && engine.hub ? hubEnv(engine.hub, input.hubToken) : {}) };

  const limits = dockerLimits(engine, facts);
  let gpus: number[] | null = null;
  if (input.device === 'gpu') gpus = input.gpus.length > 0 ? input.gpus : limits.gpus;

  const { images, skipped } = eligibleImages(engine, input.device, facts);
  const urlHost = hostForPort(input.host);
  return {
    runtime: 'docker',
    serviceId: input.serviceId,
    serviceName: input.serviceName,
    node: input.dockerNode,
    containerName: containerNameFor(installId, input.serviceName),
    images,
    skippedImages: skipped,
    entrypoint: engine.entrypoint ? renderArgv(engine.entrypoint, values) : null,
    cmd,
    env,
    labels: { [SERVICE_LABEL]: input.serviceId, [INSTALL_LABEL]: installId, 'aima.service.name': input.serviceName, 'aima.engine': engine.id },
    mounts,
    containerPort: engine.containerPort,
    host: input.host,
    port: input.port,
    memoryBytes: limits.memoryBytes,
    nanoCpus: limits.nanoCpus,
    shmSizeBytes: engine.shmSizeMb !== undefined ? engine.shmSizeMb * 1024 * 1024 : null,
    gpus,
    healthUrl: `http://${urlHost}:${input.port}${engine.health.path}`,
    health: engine.health,
    logFile: input.logFile,
  };
}
