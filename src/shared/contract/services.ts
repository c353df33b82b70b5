/**
 * Services and engines as the API shows them. A service is "this model, on this engine, on this
 * device, on this port"; an engine is an entry of the engine catalog (resources/engines/*.json
 * plus the user's <dataDir>/engines/*.json).
 */
import { z } from 'zod';
import { desiredStates, restartPolicies, servicePhases } from '../service-state.js';
import { MAX_IDLE_TTL_SECONDS, devices } from './enums.js';
import { HubModelId, HubRevision } from './hub-model.js';

export const engineKinds = ['llm', 'asr', 'tts', 'embedding'] as const;
export { MAX_IDLE_TTL_SECONDS, devices, type Device } from './enums.js';

/** Why an engine cannot run on the host: a closed union, one fix each. */
export const cannotRunReasons = [
  'binary-missing',
  'worker-not-built',
  'docker-unavailable',
  'runtime-unsupported',
  'no-gpu',
  'platform-unsupported',
] as const;
export type CannotRunReason = (typeof cannotRunReasons)[number];

export const EngineSummary = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  kind: z.enum(engineKinds),
  runtime: z.enum(['native', 'docker']),
  /** Where the entry came from: shipped with AIMA, or the user's data directory. */
  source: z.enum(['builtin', 'user']),
  file: z.string(),
  devices: z.array(z.enum(devices)),
  modelFormats: z.array(z.string()),
  modelKinds: z.array(z.string()),
  modelRequired: z.boolean(),
  /** Docker entries whose image each service names at creation (services.create's `image`). */
  imageFromService: z.boolean().default(false),
  /** Docker entries: the container limits the entry sets (the engineResources setting replaces them); null for native. */
  resources: z.object({ memory: z.string().nullable(), cpus: z.number().nullable() }).nullable().default(null),
  canRun: z.boolean(),
  reason: z.enum(cannotRunReasons).nullable(),
  /** The reason in words, with the fix ("llama-server not found on PATH; install llama.cpp or set AIMA_LLAMA_SERVER"). */
  detail: z.string().nullable(),
});
export type EngineSummary = z.infer<typeof EngineSummary>;

export const EngineList = z.object({
  engines: z.array(EngineSummary),
  /** Catalog files that failed validation (they are left out of `engines`). */
  problems: z.array(z.object({ file: z.string(), message: z.string() })),
});
export type EngineList = z.infer<typeof EngineList>;


/** What the placement step decided at the service's last start, as its summary shows it. */
export const ServicePlacement = z.object({
  device: z.enum(devices),
  gpus: z.array(z.number().int()),
  /** Layers on the GPU for a partial offload, else null. */
  gpuLayers: z.number().int().nullable(),
  /** The fit estimate the decision used (bytes), or null without one. */
  estimateBytes: z.number().nullable(),
  /** What the service holds now: RSS, plus VRAM on its GPUs (bytes), measured at the last look; null before. */
  measuredBytes: z.number().nullable(),
  /** The decision in words (also in the service's log). */
  decision: z.string(),
  /** Services stopped to make room for it. */
  evicted: z.array(z.string()),
  at: z.string(),
});
export type ServicePlacement = z.infer<typeof ServicePlacement>;

/** One model served across nodes: the node names (the first is the head) and the engine's parallel sizes. */
export const ServiceSpan = z.object({
  nodes: z.array(z.string()),
  tensorParallel: z.number().int(),
  pipelineParallel: z.number().int(),
});
export type ServiceSpan = z.infer<typeof ServiceSpan>;

export const ServiceSummary = z.object({
  id: z.string(),
  name: z.string(),
  /** The model's name, or null for an engine that needs none (the embedded TTS worker). */
  model: z.string().nullable(),
  engine: z.string(),
  kind: z.enum(engineKinds),
  device: z.enum(devices),
  gpus: z.array(z.number().int()),
  /** The port it listens on: the configured one, or the allocated one when configured as 0 (auto) and running. */
  port: z.number().int().nullable(),
  configuredPort: z.number().int(),
  /** http://127.0.0.1:PORT while it has a process, else null. */
  url: z.string().nullable(),
  state: z.enum(servicePhases),
  /** Why it is failed/crashed/stopped unexpectedly; null otherwise. */
  reason: z.string().nullable(),
  pid: z.number().int().nullable(),
  desiredState: z.enum(desiredStates),
  restartPolicy: z.enum(restartPolicies),
  threads: z.number().int().nullable(),
  ctxSize: z.number().int().nullable(),
  /** Parallel request slots; the gateway queues beyond this. */
  concurrency: z.number().int(),
  /** Crashes in a row since the last stable run. */
  restarts: z.number().int(),
  lastLogLine: z.string().nullable(),
  /** When the current state was entered. */
  since: z.string(),
  logFile: z.string(),
  createdAt: z.string(),
  /** Seconds without a request before it stops; null = the default for on-demand starts (never for a user's start); 0 = never. */
  idleTtl: z.number().int().nullable().default(null),
  /** Never stopped to make room or for idleness. */
  pinned: z.boolean().default(false),
  /** The last placement decision, or null before its first start through the scheduler. */
  placement: ServicePlacement.nullable().default(null),
  /** Times it was stopped to make room for another service, since the core started. */
  evictions: z.number().int().default(0),
  /** The primary service's name when this service is one of its replicas (same model, own process and port), else null. */
  replicaOf: z.string().nullable().default(null),
  /** The node (Docker engine) it runs on: `local`, or a node added with `nodes.add`. */
  node: z.string().default('local'),
  /** The nodes it serves its model across (--nodes), or null on one node. */
  span: ServiceSpan.nullable().default(null),
  /** Where the model's files are on its node(s) (--model-path-on-node), or null: the library's own files on `local`. */
  modelPathOnNode: z.string().nullable().default(null),
  /** The Hugging Face id its engine downloads on its node(s) (--hf-model), or null; it is also the model name clients send. */
  hfModel: z.string().nullable().default(null),
  /** The Hub revision (branch, tag or commit) of `hfModel`, or null: the Hub's default branch. */
  hfRevision: z.string().nullable().default(null),
  /**
   * The Hub id the gateway routes to this service now (null: none): while its engine exists
   * (starting to stopping, or on a silent node) the id that engine was started with, otherwise
   * `hfModel`, which its next start uses. It differs from `hfModel` after `services.update` changed
   * the id of a service whose engine still runs, until the service is restarted.
   */
  servedHfModel: z.string().nullable().default(null),
});
export type ServiceSummary = z.infer<typeof ServiceSummary>;

const serviceName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a service name uses letters, digits, ".", "_" and "-", starting with a letter or digit');

/** Replicas per model: 1 (the service alone) up to {@link MAX_REPLICAS}. */
export const MAX_REPLICAS = 64;
const replicaCount = z
  .number()
  .int('replicas is a whole number')
  .min(1, 'replicas must be at least 1 (the service itself)')
  .max(MAX_REPLICAS, `replicas must be at most ${MAX_REPLICAS}`);

/** An absolute path on a node (where a model's files already are there). */
const modelPathOnNode = z
  .string()
  .max(4096, 'modelPathOnNode is at most 4096 characters')
  .regex(/^\/[^\0\n\r]*$/, 'modelPathOnNode must be an absolute path on the node, such as "/srv/models/llama-3-8b"');

export const ServiceCreateParams = z
  .object({
    name: serviceName,
    /** Model name; optional only for engines whose catalog entry says the model is optional. */
    model: z.string().min(1).optional(),
    engine: z.string().min(1),
    device: z.enum(devices).default('cpu'),
    gpus: z.array(z.number().int().min(0)).default([]),
    /** 0 = pick a free port at each start. */
    port: z.number().int().min(0).max(65535).default(0),
    threads: z.number().int().min(1).optional(),
    ctxSize: z.number().int().min(16).optional(),
    concurrency: z.number().int().min(1).max(256).default(1),
    restartPolicy: z.enum(restartPolicies).default('on-failure'),
    /** Seconds without a request before it stops (0 = never; left out = the on-demand default). */
    idleTtl: z.number().int().min(0).max(MAX_IDLE_TTL_SECONDS).optional(),
    /** Never stop it to make room or for idleness. */
    pinned: z.boolean().optional(),
    /** How many services serve this model: the service itself and N - 1 replicas named NAME-2, NAME-3, ... */
    replicas: replicaCount.default(1),
    /**
     * Serve one model across these nodes (the first is the head), for engines whose catalog entry
     * has `multiNode` (vllm, sglang). Each node's GPUs are the service's.
     */
    nodes: z
      .array(z.string().min(1).max(64).regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a node name such as "spark2"'))
      .min(1)
      .max(64)
      .optional(),
    /** With nodes: the engine's tensor-parallel size (GPUs per pipeline stage); default: every GPU of the nodes over the pipeline stages. */
    tensorParallel: z.number().int().min(1, 'tensorParallel must be at least 1').max(1024).optional(),
    /** With nodes: the engine's pipeline-parallel size (stages); default 1. */
    pipelineParallel: z.number().int().min(1, 'pipelineParallel must be at least 1').max(1024).optional(),
    /** For an engine with imageFromService (the "custom image" entry): the image to run, e.g. "ghcr.io/me/server:1". */
    image: z
      .string()
      .min(1)
      .max(300)
      .regex(/^[a-z0-9][a-z0-9._\-/:@]*$/i, 'an image reference such as "ghcr.io/me/server:1"')
      .optional(),
    /** The node (Docker engine) to run on (`nodes.list`); Docker engines only. Default: `local`. */
    node: z.string().min(1).max(64).default('local'),
    /**
     * Where the model's files already are on the node (a service on a node other than `local`) or
     * on every node of a span (the same path on each): an absolute path there, a file or a folder as
     * the engine loads the model. AIMA does not copy weights between machines.
     */
    modelPathOnNode: modelPathOnNode.optional(),
    /**
     * A Hugging Face model id (`owner/name`) the engine downloads itself on the node(s) it runs on,
     * into a Docker volume there; instead of `model` and `modelPathOnNode`. Docker engines whose
     * entry declares `hub` (vllm, sglang). Clients send this id as the request's model.
     */
    hfModel: HubModelId.optional(),
    /** With hfModel: the branch, tag or commit to download (default: the Hub's default branch). */
    hfRevision: HubRevision.optional(),
  })
  .strict();
export type ServiceCreateParams = z.input<typeof ServiceCreateParams>;

export const ServiceRef = z.object({ name: z.string().min(1) }).strict();

/** Scale a service to N services for its model: itself and N - 1 replicas. */
export const ServiceScaleParams = z.object({ name: z.string().min(1), replicas: replicaCount }).strict();
/** The service and its replicas after scaling, and what changed. */
export const ServiceScaleResult = z.object({
  name: z.string(),
  replicas: z.array(ServiceSummary),
  added: z.array(z.string()),
  removed: z.array(z.string()),
});
export type ServiceScaleResult = z.infer<typeof ServiceScaleResult>;

export const ServiceStartParams = z
  .object({
    name: z.string().min(1),
    /** Resolve only once the service is running (or has failed); progress goes to `operation.progress`. */
    wait: z.boolean().optional(),
    timeoutMs: z.number().int().min(1).max(24 * 3600_000).optional(),
    operationId: z.string().max(100).optional(),
    /** Start even when the memory estimate says the model does not fit (estimates can be wrong). */
    ignoreFit: z.boolean().optional(),
  })
  .strict();

/** Fields of a service that change without recreating it; only the given ones change. */
export const ServiceUpdateParams = z
  .object({
    name: z.string().min(1),
    /** Seconds; 0 = never; null = back to the default. */
    idleTtl: z.number().int().min(0).max(MAX_IDLE_TTL_SECONDS).nullable().optional(),
    pinned: z.boolean().optional(),
    /** Where the model's files are on the node(s); null: none (the library's files, or a Hub id). From the next start. */
    modelPathOnNode: modelPathOnNode.nullable().optional(),
    /** The Hub id the engine downloads; null: none. From the next start. */
    hfModel: HubModelId.nullable().optional(),
    /** The Hub revision; null: the Hub's default branch. From the next start. */
    hfRevision: HubRevision.nullable().optional(),
  })
  .strict();
export type ServiceUpdateParams = z.input<typeof ServiceUpdateParams>;

/** A would-be placement: a service by name (stopped or not), optionally on another device or GPUs. */
export const ServicePlanParams = z
  .object({
    name: z.string().min(1),
    device: z.enum(devices).optional(),
    gpus: z.array(z.number().int().min(0)).optional(),
  })
  .strict();

/** Would-be placements of services that need not exist yet, placed one after another (the voice chain's links). */
export const ServicePlanChainParams = z
  .object({
    services: z
      .array(
        z
          .object({
            /** A name for the link (an existing service's name counts it as not running). */
            name: z.string().min(1),
            model: z.string().min(1),
            /** The engine (its process cost on the CPU is learned per engine). */
            engine: z.string().min(1),
            device: z.enum(devices),
            gpus: z.array(z.number().int().min(0)).default([]),
            ctxSize: z.number().int().min(16).nullable().default(null),
            concurrency: z.number().int().min(1).max(256).default(1),
          })
          .strict(),
      )
      .min(1)
      .max(16),
  })
  .strict();

const Holder = z.object({ name: z.string(), bytes: z.number(), where: z.string(), protectedBy: z.enum(['in-flight', 'pinned', 'voice', 'anti-thrash']).nullable() });

/** The placement step's answer, without starting or stopping anything (services.plan). */
export const ServicePlan = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('place'),
    device: z.enum(devices),
    gpus: z.array(z.number().int()),
    gpuLayers: z.number().int().nullable(),
    totalLayers: z.number().int().nullable(),
    needBytes: z.number().nullable(),
    evict: z.array(z.object({ name: z.string(), freesBytes: z.number(), where: z.string(), lastUsedAt: z.number() })),
    text: z.string(),
  }),
  z.object({
    kind: z.literal('refuse'),
    reason: z.enum(['no-such-gpu', 'no-gpu', 'does-not-fit', 'anti-thrash']),
    message: z.string(),
    fix: z.string(),
    holders: z.array(Holder),
    proposal: z.object({ device: z.literal('cpu'), text: z.string() }).nullable(),
  }),
]);
export type ServicePlan = z.infer<typeof ServicePlan>;
export const ServicePlanChain = z.array(z.object({ name: z.string(), plan: ServicePlan }));

export const ServiceStopParams = z.object({ name: z.string().min(1), force: z.boolean().optional() }).strict();
export const ServiceRemoveResult = z.object({ name: z.string(), removed: z.boolean() });
export const ServiceLogsParams = z.object({ name: z.string().min(1), lines: z.number().int().min(1).max(100_000).default(200) }).strict();
export const ServiceLogs = z.object({ name: z.string(), file: z.string(), lines: z.array(z.string()) });

/** New log lines of one service, as they are written (for `aima service logs -f` and the UI). */
export const ServiceLogEvent = z.object({ name: z.string(), lines: z.array(z.string()) });
