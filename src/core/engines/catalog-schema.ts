/**
 * The engine catalog format: one JSON file per engine, shipped in resources/engines/ and
 * user-extendable in <dataDir>/engines/. Engines are data: how to start one, how to tell it is
 * ready, what it accepts — the runtimes never branch on an engine's name or image.
 *
 * Templates: strings in `command`, `optionArgs`, `deviceArgs`, `env` may use the placeholders in
 * {@link templateVars}; an unknown placeholder is a validation error, so a typo never reaches a
 * process's argv.
 */
import { z } from 'zod';
import { devices, engineKinds } from '../../shared/contract/services.js';
import { modelFormats, modelKinds } from '../../shared/contract/models.js';

/**
 * Placeholders a template may use. `model_path` is what the model's `path` says an engine loads;
 * `node` is the running Node/Electron binary (process.execPath, with ELECTRON_RUN_AS_NODE set for
 * Electron); `workers_dir` is the built out/workers folder; `gpus` is a comma-separated list of
 * GPU indices; `concurrency` is the parallel slots. The rest are for a service spanning nodes
 * (`multiNode`): `tensor_parallel` and `pipeline_parallel` as the service sets them, `nnodes` the
 * number of nodes, `node_rank` this member's place (0 = the head), `head_address` the head node's
 * address on the cluster link, `dist_port` the engine's own rendezvous port there and
 * `head_dist_address` the two joined (`10.0.0.1:20000`; an IPv6 head in brackets, `[fd00::1]:20000`,
 * which `{{head_address}}:{{dist_port}}` would get wrong).
 * `hf_model` and `hf_revision` are a Hugging Face id and revision the engine downloads (`hub`).
 */
export const templateVars = [
  'model_path',
  'model_name',
  'port',
  'host',
  'threads',
  'ctx_size',
  'gpu_layers',
  'concurrency',
  'gpus',
  'node',
  'workers_dir',
  'service_name',
  'tensor_parallel',
  'pipeline_parallel',
  'nnodes',
  'node_rank',
  'head_address',
  'dist_port',
  'head_dist_address',
  'hf_model',
  'hf_revision',
] as const;
export type TemplateVar = (typeof templateVars)[number];

const PLACEHOLDER = /\{\{\s*([a-z_]+)\s*\}\}/g;

/** A template string: checked for unknown placeholders. */
const templateString = z.string().superRefine((s, ctx) => {
  for (const m of s.matchAll(PLACEHOLDER)) {
    if (!(templateVars as readonly string[]).includes(m[1]!)) {
      ctx.addIssue({ code: 'custom', message: `unknown placeholder {{${m[1]}}} (known: ${templateVars.map((v) => `{{${v}}}`).join(', ')})` });
    }
  }
});
const argvTemplate = z.array(templateString);

/** What "ready" means: an HTTP status on a path, optionally a JSON field value in the body. */
export const HealthSpec = z
  .object({
    path: z.string().startsWith('/').default('/health'),
    status: z.number().int().default(200),
    /** e.g. { "field": "status", "equals": "ok" }; dotted paths allowed. */
    json: z.object({ field: z.string().min(1), equals: z.union([z.string(), z.number(), z.boolean()]) }).strict().optional(),
    /** A JSON field holding load progress (0..1) while not ready; a change counts as progress. */
    progressField: z.string().optional(),
  })
  .strict();
export type HealthSpec = z.infer<typeof HealthSpec>;

export const ResourceDefaults = z
  .object({
    threads: z.number().int().min(1).optional(),
    ctxSize: z.number().int().min(16).optional(),
    /** For device gpu: layers to offload ("max" or a number); ignored on cpu. */
    gpuLayers: z.union([z.literal('max'), z.number().int().min(0)]).optional(),
    concurrency: z.number().int().min(1).optional(),
    /** After this long without becoming healthy, record a note: the service stays loading while alive and progressing. */
    healthTimeoutMs: z.number().int().min(100).default(600_000),
    /** No log output or health progress for this long while loading = failed (last log line in the reason). */
    stallTimeoutMs: z.number().int().min(100).default(120_000),
    /** SIGTERM, then SIGKILL after this long. */
    stopGraceMs: z.number().int().min(0).default(10_000),
  })
  .strict();

const ModelSpec = z
  .object({
    /** false: the engine runs without a model (a model, when given, adds optionArgs.model_path). */
    required: z.boolean().default(true),
    formats: z.array(z.enum(modelFormats)).min(1),
    kinds: z.array(z.enum(modelKinds)).min(1),
  })
  .strict();

const common = {
  /** Stable id: lower-case letters, digits and dashes. */
  id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'an engine id uses lower-case letters, digits and "-"'),
  name: z.string().min(1),
  description: z.string().default(''),
  kind: z.enum(engineKinds),
  devices: z.array(z.enum(devices)).min(1),
  model: ModelSpec,
  health: HealthSpec.default({ path: '/health', status: 200 }),
  defaults: ResourceDefaults.default({ healthTimeoutMs: 600_000, stallTimeoutMs: 120_000, stopGraceMs: 10_000 }),
  /** Extra environment for the process or container. */
  env: z.record(z.string(), templateString).default({}),
  /** Arguments added only when the variable has a value (a service setting or an engine default). */
  optionArgs: z.partialRecord(z.enum(templateVars), argvTemplate).default({}),
  /** Arguments and environment added for the service's device. */
  deviceArgs: z.partialRecord(z.enum(devices), argvTemplate).default({}),
  deviceEnv: z.partialRecord(z.enum(devices), z.record(z.string(), templateString)).default({}),
};

export const NativeEngine = z
  .object({
    ...common,
    runtime: z.literal('native'),
    /** argv template; never run through a shell. argv[0] is {{node}}, an absolute path, or a name found on PATH. */
    command: argvTemplate.min(1),
    /** For argv[0] given by name: an environment variable (declared in config/env.ts) that may hold its path. */
    binaryEnv: z.string().regex(/^[A-Z][A-Z0-9_]*$/).optional(),
    /** Files that must exist (templates, e.g. "{{workers_dir}}/llm.mjs"): missing = worker-not-built. */
    requiresFiles: argvTemplate.default([]),
    /**
     * CPU scheduling: the process's nice value (0 = normal; 1..19 yield the cores when they are
     * contended). A long CPU-bound generation set to 10 lets short latency-critical work (speech
     * synthesis of the first sentence while the LLM writes the rest of the reply) run first; alone
     * it runs at full speed. Applied on Linux (to the process and its autogroup) and macOS; Windows
     * keeps normal priority for values under 10.
     */
    niceness: z.number().int().min(0).max(19).default(0),
  })
  .strict();

/** One container image, tried in order: the first whose constraints the machine meets is used. */
export const ImageCandidate = z
  .object({
    image: z.string().min(1),
    requires: z
      .object({
        device: z.enum(devices).optional(),
        gpuVendor: z.enum(['nvidia', 'amd', 'intel', 'apple']).optional(),
        minComputeCapability: z.string().regex(/^\d+\.\d+$/).optional(),
        arch: z.enum(['x64', 'arm64']).optional(),
      })
      .strict()
      .default({}),
  })
  .strict();

/** The engine's own TLS and API-key flags, and what its key leaves open. */
export const RemoteAccess = z
  .object({
    tlsKeyFileFlag: z.string().startsWith('-'),
    tlsCertFileFlag: z.string().startsWith('-'),
    apiKeyFlag: z.string().startsWith('-'),
    /** The path prefix the key guards ("/" for everything, "/v1" when only the OpenAI API is guarded). */
    keyGuards: z.string().startsWith('/').default('/'),
    /** Paths under `keyGuards` the engine still serves without the key (e.g. health, metrics). */
    openPaths: z.array(z.string().startsWith('/')).default([]),
  })
  .strict();
export type RemoteAccess = z.infer<typeof RemoteAccess>;

/**
 * How one model spans several nodes. `ray`: a Ray head container on the first node and Ray workers
 * on the others (same image, host network); once the cluster shows every node's GPUs, `command`
 * plus the entry's args and these `args` run in the head container (vLLM's documented recipe).
 * `torch-distributed`: the engine's own launcher; every node runs the entry's command plus these
 * `args` with its rank, the head (rank 0) serving HTTP (SGLang's `--nnodes`/`--node-rank`).
 */
export const MultiNode = z.discriminatedUnion('launcher', [
  z
    .object({
      launcher: z.literal('ray'),
      /** Ray's GCS port on the head node. */
      rayPort: z.number().int().min(1).max(65535).default(6379),
      /** The engine's argv, run in the head container (the image's entrypoint is Ray's there). */
      command: argvTemplate.min(1),
      args: argvTemplate,
    })
    .strict(),
  z
    .object({
      launcher: z.literal('torch-distributed'),
      /** The rendezvous port on the head node ({{dist_port}}). */
      distPort: z.number().int().min(1).max(65535).default(20000),
      args: argvTemplate,
    })
    .strict(),
]);
export type MultiNode = z.infer<typeof MultiNode>;

/**
 * How the engine takes a Hugging Face model id and downloads it itself (services created with
 * `--hf-model`): the arguments that name the id (in place of the entry's `optionArgs.model_path`,
 * which names a mounted folder), those that name a revision, where the engine keeps its Hub cache
 * in the container (a Docker volume on the node is mounted there), and the variable that carries
 * AIMA's Hugging Face token when one is set.
 */
export const HubModel = z
  .object({
    /** e.g. ["--model", "{{hf_model}}"]. */
    args: argvTemplate.min(1),
    /** Added only when the service names a revision, e.g. ["--revision", "{{hf_revision}}"]. */
    revisionArgs: argvTemplate.default([]),
    /** The engine's Hugging Face cache inside the container (HF_HOME), e.g. "/root/.cache/huggingface". */
    cachePath: z.string().startsWith('/'),
    /** The environment variable the engine reads the Hub token from. */
    tokenEnv: z.string().regex(/^[A-Z][A-Z0-9_]*$/).default('HF_TOKEN'),
  })
  .strict()
  .superRefine((hub, ctx) => {
    if (!hub.args.some((a) => a.includes('{{hf_model}}'))) ctx.addIssue({ code: 'custom', path: ['args'], message: 'hub.args must name the id: {{hf_model}}' });
  });
export type HubModel = z.infer<typeof HubModel>;

export const DockerResources = z
  .object({
    memory: z.string().regex(/^\d+(\.\d+)?[bkmg]?$/i, 'memory is bytes or a number with b, k, m or g (e.g. "16g")').optional(),
    cpus: z.number().positive().optional(),
  })
  .strict();
export type DockerResources = z.infer<typeof DockerResources>;

export const DockerEngine = z
  .object({
    ...common,
    runtime: z.literal('docker'),
    /** Empty only for an entry whose image is given per service (`imageFromService`). */
    images: z.array(ImageCandidate).default([]),
    /** The "custom image" entry: each service names its image at creation (services.create's `image`). */
    imageFromService: z.boolean().default(false),
    /** Where the model's folder is mounted inside the container (read-only). */
    modelMountPath: z.string().startsWith('/'),
    containerPort: z.number().int().min(1).max(65535),
    /**
     * How the engine is made safe to reach across a network when it runs on another machine's node
     * (docs/nodes-threat-model.md): the flags that make it serve TLS from a key and certificate
     * file and require a bearer key. Without it, such an engine runs on SSH nodes only (reached
     * through a tunnel to the node's loopback).
     */
    remoteAccess: RemoteAccess.optional(),
    /** Replaces the image's entrypoint (for images without a server entrypoint, e.g. SGLang's). */
    entrypoint: argvTemplate.optional(),
    /** argv after the image's entrypoint; {{model_path}} is the path inside the container. */
    args: argvTemplate.default([]),
    shmSizeMb: z.number().int().min(0).optional(),
    /**
     * Container limits; each overridable by AIMA_<ENGINE>_MEMORY / _CPU / _GPU (engine id upper-cased,
     * "-" as "_", declared in config/env.ts). memory: "16g", "512m" or bytes; cpus: cores (fractions
     * allowed); unset = no limit.
     */
    resources: DockerResources.default({}),
    /** Prefix of the resource variables (default AIMA_<ID>); entries derived from "custom image" share its variables. */
    resourceEnvPrefix: z.string().regex(/^AIMA_[A-Z0-9_]+$/).optional(),
    /** Present when a service of this engine may span nodes (`--nodes`). */
    multiNode: MultiNode.optional(),
    /** Present when the engine downloads a Hugging Face model id itself (`--hf-model`). */
    hub: HubModel.optional(),
  })
  .strict();

export const EngineEntry = z.discriminatedUnion('runtime', [NativeEngine, DockerEngine]);
export type EngineEntry = z.infer<typeof EngineEntry>;
export type DockerEngineEntry = z.infer<typeof DockerEngine>;
