/**
 * The services feature: the supervisor with its real dependencies (catalog files, the native and
 * Docker runtimes, hardware detection for the GPU guard) and the calls `services.*` and
 * `engines.list`. Its `startup` (the core's slow step, run once the core's server listens) lists
 * Docker's containers and adopts running engines; `close` shuts the supervisor down. Every call
 * waits for `startup`: before it, the supervisor does not know the engines left running by an
 * earlier core, and a start would spawn a second one beside them.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { CoreApi } from '../../shared/contract/index.js';
import { AimaError, toAimaError } from '../../shared/errors.js';
import type { Env } from '../config/env.js';
import type { DataPaths } from '../config/paths.js';
import type { CoreEvents } from '../events.js';
import type { Db } from '../store/database.js';
import { loadCatalog } from '../engines/catalog.js';
import { detectHardware } from '../hardware/detect.js';
import type { Operations } from '../operations/operations.js';
import { NativeRuntime } from '../runtimes/native/native-runtime.js';
import { DockerRuntime } from '../runtimes/docker/docker-runtime.js';
import { dockerPreflight } from '../runtimes/docker/preflight.js';
import { resourceEnvPrefix, type DockerHostFacts } from '../runtimes/docker/plan.js';
import type { EngineResourceOverride } from '../../shared/contract/settings.js';
import { RuntimeRouter, type DockerRuntimes } from '../runtimes/router.js';
import type { NodeRegistry } from '../nodes/registry.js';
import { serviceEndpointOn } from '../nodes/service-endpoint.js';
import { createContainerReach, type ContainerReach } from '../nodes/reach/container-reach.js';
import { remoteReach, type NodeTransport } from '../nodes/reach/remote-reach.js';
import { createSshTunnels } from '../nodes/ssh/tunnel.js';
import type { SecretStore } from '../secrets/secret-store.js';
import { readOrCreateInstallId } from '../config/install-id.js';
import { createDockerClient } from '../runtimes/docker/platform.js';
import type { HostFacts } from '../engines/catalog.js';
import type { Device } from '../../shared/contract/services.js';
import { ModelsRepo } from '../store/repositories/models-repo.js';
import { ServicesRepo } from '../store/repositories/services-repo.js';
import { requireEngine } from './guards.js';
import { Scheduler, type SchedulerSettings } from '../scheduler/scheduler.js';
import { ServiceActivity, VoiceUsage } from '../scheduler/activity.js';
import type { GpuMemory } from '../hardware/feature.js';
import type { GpuRef } from '../hardware/types.js';
import type { ModelFit, ModelFitParams } from '../../shared/contract/hardware.js';
import { ServiceSupervisor, type SupervisorTiming } from './supervisor.js';
import { planScale, replicaName, replicasOf } from './replicas.js';
import type { ServiceCreateParams, ServiceSummary } from '../../shared/contract/services.js';
import type { CloseOptions, Feature } from '../feature.js';
import type Docker from 'dockerode';
import { SpanRuntime } from '../cluster/span-runtime.js';
import { checkSpan } from '../cluster/span-validate.js';
import { checkModelOnNode, modelOnNodesOf } from '../runtimes/docker/model-on-node.js';
import { checkHubModel, hubModelOf } from '../runtimes/docker/hub-model.js';
import { huggingFaceToken } from '../downloads/hf-token.js';
import { HuggingFaceHub } from '../downloads/huggingface-hub.js';
import { cachedHubWeights } from '../downloads/hub-weights.js';
import type { NodeClusterLink } from '../cluster/span.js';
import { LOCAL_NODE, type NodeFacts } from '../nodes/node-facts.js';

export type ServicesApi = Pick<
  CoreApi,
  | 'services.list'
  | 'services.get'
  | 'services.create'
  | 'services.start'
  | 'services.stop'
  | 'services.restart'
  | 'services.remove'
  | 'services.scale'
  | 'services.logs'
  | 'services.update'
  | 'services.plan'
  | 'services.planChain'
  | 'engines.list'
>;

export interface ServicesOptions {
  db: Db;
  events: CoreEvents;
  paths: DataPaths;
  env: Env;
  operations: Operations;
  /** The repository root or app root: resources/engines and out/workers live there. */
  appRoot: string;
  /** Replaces hardware detection for the GPU guard (tests). */
  listGpus?: () => Promise<GpuRef[]>;
  timing?: Partial<SupervisorTiming>;
  /** The Hardware layer's fit estimate (models.fit), checked before a stopped service starts. */
  fit?: (p: ModelFitParams) => Promise<ModelFit>;
  /** The engineResources setting now; kept current through settings.changed. */
  engineResources?: () => Record<string, EngineResourceOverride>;
  /** Whether a close without an explicit choice stops the engines (the onQuit setting). */
  stopOnQuit?: () => boolean;
  /** The scheduler's settings now (memory cap, idle TTL for on-demand starts, anti-thrash window). */
  schedulerSettings?: () => SchedulerSettings;
  /** Requests per service as the gateway reports them; models the voice sessions hold. */
  activity?: ServiceActivity;
  voice?: VoiceUsage;
  /** GPU memory sampled on demand (the hardware feature). */
  gpuMemory?: (maxAgeMs?: number) => Promise<GpuMemory>;
  /** Test seam: replaces parts of the nodes registry's view for services across nodes. */
  spanNodes?: Partial<SpanNodes>;
  /** Scheduler seams (tests): the host's memory, the idle check's period. */
  hostMemory?: () => { totalBytes: number; availableBytes: number };
  idleCheckMs?: number;
  /** The nodes (Docker engines) services may run on; without it, only this machine's. */
  nodes?: NodeRegistry;
  /** Where the keys of engines on TCP nodes are kept (with the nodes). */
  secrets?: SecretStore;
}

/** What a service across nodes needs from the nodes registry. */
export interface SpanNodes {
  /** A node's facts (reachable, architecture, GPUs), or null for a name it does not know. */
  facts(name: string): NodeFacts | null;
  /** The node's cluster address and NCCL/Gloo interface, or null when it has none. */
  clusterLink(name: string): NodeClusterLink | null;
  /** The node's Docker client (`local`: the core's own). */
  docker(name: string): Docker;
  /** How AIMA talks to the node's engine (`local` for the core's own engine and for a name the registry does not know). */
  transport(name: string): NodeTransport;
}

export interface ServicesFeature extends Feature {
  readonly calls: ServicesApi;
  readonly supervisor: ServiceSupervisor;
  readonly scheduler: Scheduler;
  /**
   * The slow part of the start, run once (later calls return the same promise): Docker's
   * containers of this install are listed, then the supervisor adopts running engines and
   * restores services whose desired state is running. The calls run it themselves.
   */
  startup(): Promise<void>;
  /** Shuts the supervisor down; stopServices defaults to {@link ServicesOptions.stopOnQuit}. */
  close(opts: CloseOptions): Promise<void>;
}

/** After a core start, how long until a span node that did not list its members in time (yet answers the heartbeat) is asked again. */
const SPAN_RELIST_MS = 5000;

export function createServicesFeature(opts: ServicesOptions): ServicesFeature {
  const { paths, env, events, operations } = opts;
  const builtinDir = path.join(opts.appRoot, 'resources', 'engines');
  const userDir = path.join(paths.dataDir, 'engines');
  const models = new ModelsRepo(opts.db);
  const catalog = () => loadCatalog({ builtin: builtinDir, user: userDir });
  // dockerode takes a noticeable share of the core's start to load: created on first use.
  let dockerClient: ReturnType<typeof createDockerClient> | null = null;
  const localDocker = () => (dockerClient ??= createDockerClient(env.DOCKER_HOST));
  const nodes = opts.nodes ?? null;
  const docker = (node: string) => (node === LOCAL_NODE || !nodes ? localDocker() : nodes.client(node));
  const dockerFacts: DockerHostFacts = { arch: process.arch, gpuVendor: null, computeCapability: null, env, resources: opts.engineResources?.() ?? {} };
  const installId = readOrCreateInstallId(paths.installId);
  /** Another machine's engine: its architecture and GPUs as its facts say (this machine's env and settings still apply). */
  const factsOf = (node: string): DockerHostFacts => {
    if (node === LOCAL_NODE) return dockerFacts;
    const f = nodes?.facts(node);
    return { ...dockerFacts, arch: f?.arch ?? dockerFacts.arch, gpuVendor: f?.nvidiaRuntime && f.gpus.length > 0 ? 'nvidia' : null, computeCapability: null };
  };
  /** How another machine's node reaches its engines: an SSH tunnel, or TLS with a key (remote-reach.ts decides). */
  const newReach = (node: string): ContainerReach | undefined => {
    const transport = nodes?.transport(node) ?? 'local';
    const address = nodes?.address(node) ?? null;
    if (!nodes || transport === 'local' || address === null) return undefined;
    const secrets = opts.secrets;
    if (!secrets) throw new AimaError('unavailable', `Services on node "${node}" need the secret store (their engines' keys live there).`, 'Start the core with its secret store.');
    return createContainerReach({
      node,
      transport,
      address,
      dataDir: paths.dataDir,
      secrets,
      tunnels: () => {
        const link = nodes.sshLink(node);
        if (!link) throw new AimaError('unavailable', `Node "${node}" has no SSH connection to open a tunnel over.`, 'See `aima node list`.');
        return createSshTunnels(link);
      },
    });
  };
  /**
   * One reach per node, shared by the node's Docker runtime and the span runtime (a span's head
   * there): one SSH connection's tunnels, one place for the engines' keys.
   */
  const reaches = new Map<string, ContainerReach>();
  const reachOn = (node: string): ContainerReach | undefined => {
    let reach = reaches.get(node);
    if (!reach) {
      reach = newReach(node);
      if (reach) reaches.set(node, reach);
    }
    return reach;
  };
  const runtimes = new Map<string, DockerRuntime>();
  const dockerRuntimes: DockerRuntimes = {
    get(node) {
      let rt = runtimes.get(node);
      if (!rt) {
        if (node !== LOCAL_NODE && !nodes?.has(node)) throw new AimaError('not-found', `No node named "${node}".`, 'See `aima node list`.');
        rt = new DockerRuntime({ docker: () => docker(node), facts: factsOf(node), installId, operations, node, reach: reachOn(node), log: (line) => process.stderr.write(`aima: ${node === LOCAL_NODE ? '' : `node ${node}: `}${line}\n`) });
        runtimes.set(node, rt);
      }
      // Another machine's facts are read by the nodes feature at its own pace: plans take the latest.
      if (node !== LOCAL_NODE) rt.setFacts(factsOf(node));
      return rt;
    },
    all: () => [...runtimes.values()],
  };
  const dockerRuntime = dockerRuntimes.get(LOCAL_NODE);
  events.on('settings.changed', (s) => {
    dockerFacts.resources = s.engineResources;
    for (const rt of runtimes.values()) rt.setFacts({ resources: s.engineResources });
  });
  const spanNodes: SpanNodes = {
    facts: (name) => nodes?.facts(name) ?? null,
    clusterLink: (name) => nodes?.clusterLink(name) ?? null,
    docker: (name) => {
      if (name !== LOCAL_NODE && !nodes?.has(name)) throw new AimaError('not-found', `Node "${name}" is not known.`, 'See `aima node list`.');
      return docker(name);
    },
    transport: (name) => nodes?.transport(name) ?? 'local',
    ...opts.spanNodes,
  };
  const spanRuntime = new SpanRuntime({
    dockerFor: (name) => spanNodes.docker(name),
    planContext: () => ({ nodeFacts: (n) => spanNodes.facts(n), clusterLink: (n) => spanNodes.clusterLink(n), transport: (n) => spanNodes.transport(n), install: { env, resources: opts.engineResources?.() ?? {} }, installId }),
    operations,
    // A span's engine on another machine's head is reached as a single container there is.
    reachFor: (name) => (name === LOCAL_NODE ? null : (reachOn(name) ?? null)),
  });
  const router = new RuntimeRouter(new NativeRuntime(), dockerRuntimes, spanRuntime);
  const host: Omit<HostFacts, 'gpuCount'> = {
    node: process.execPath,
    workersDir: path.join(opts.appRoot, 'out', 'workers'),
    searchPath: env.PATH ?? '',
    env,
    platform: process.platform,
  };
  const listGpus =
    opts.listGpus ??
    (async () => {
      const report = await detectHardware({ dataDir: paths.dataDir, nvidiaSmiPath: env.AIMA_NVIDIA_SMI });
      const nvidia = report.gpus.filter((g) => g.vendor === 'nvidia' && g.computeCapability);
      const lowest = nvidia.map((g) => g.computeCapability!).sort((a, b) => Number(a) - Number(b))[0] ?? null;
      const vendor = report.gpus[0]?.vendor;
      dockerFacts.gpuVendor = vendor && vendor !== 'other' ? vendor : null;
      dockerFacts.computeCapability = lowest;
      dockerRuntime.setFacts({ gpuVendor: dockerFacts.gpuVendor, computeCapability: lowest });
      return report.gpus.map((g) => ({ index: g.index, name: g.name }));
    });
  const supervisor: ServiceSupervisor = new ServiceSupervisor({
    repo: new ServicesRepo(opts.db),
    models,
    loadCatalog: catalog,
    runtime: router,
    host,
    listGpus,
    logsDir: path.join(paths.logs, 'services'),
    runDir: paths.run,
    onChange: (all) => events.emit('services.changed', all),
    onLog: (name, lines) => events.emit('services.log', { name, lines }),
    electron: Boolean(process.versions.electron),
    hubToken: () => huggingFaceToken(env, opts.secrets),
    timing: opts.timing,
    // A service across nodes takes every GPU of its nodes: its placement is a fresh read of their facts
    // (none are read yet right after a core start), which its plan's checks use.
    place: async (name, o): Promise<void> => {
      const span = supervisor.get(name).span;
      if (span) await nodes?.fresh(span.nodes);
      else await scheduler.place(name, o);
    },
    nodes: nodes
      ? {
          endpoint: (node) => serviceEndpointOn(node, nodes.transport(node), nodes.address(node), '127.0.0.1'),
          unreachable: (node) => nodes.unreachableReason(node),
          gpus: (node) => nodes.facts(node)?.gpus.map((g) => ({ index: g.index, name: g.name })) ?? null,
        }
      : undefined,
  });
  const scheduler: Scheduler = new Scheduler({
    supervisor,
    activity: opts.activity ?? new ServiceActivity(),
    voice: opts.voice ?? new VoiceUsage(),
    settings: opts.schedulerSettings ?? (() => ({ servicesMemoryCapMiB: null, onDemandIdleTtlSeconds: 0, antiThrashSeconds: 30 })),
    fit: opts.fit,
    gpuMemory: opts.gpuMemory,
    listGpus,
    memory: opts.hostMemory,
    idleCheckMs: opts.idleCheckMs,
    nodeFacts: nodes ? (node) => nodes.facts(node) : undefined,
    // A Hub id's size for its placement, from the downloads' Hub client (HF_ENDPOINT, the token).
    // A hub that does not answer within 5 s leaves the size unknown rather than holding the start.
    hubWeights: cachedHubWeights(new HuggingFaceHub({ endpoint: env.HF_ENDPOINT, token: () => huggingFaceToken(env, opts.secrets), timeoutMs: 5_000 })),
  });
  let initialized: Promise<void> | null = null;
  const init = () =>
    (initialized ??= (async () => {
      // Containers left running by an earlier core are found by label before the supervisor adopts;
      // this install's service ids claim the containers of versions that did not label the install.
      const records = new ServicesRepo(opts.db).list();
      // Meanwhile the groups of services across nodes are looked for on their nodes (a few seconds at most
      // for a silent one), and the facts of the nodes of those that should run are read (within the
      // nodes' connect timeout): their plans check them at the restore and at every restart after a crash.
      const spanRecords = records.filter((r) => r.span !== null);
      const spans = Promise.all([
        spanRuntime.init(spanRecords.map((r) => ({ id: r.id, name: r.name, nodes: r.span!.nodes }))),
        nodes?.fresh([...new Set(spanRecords.filter((r) => r.desiredState === 'running').flatMap((r) => r.span!.nodes))]),
      ]);
      await dockerRuntime.init(new Map(records.map((r) => [r.id, r.name])));
      // Other machines' engines that have services, in parallel; one that does not answer leaves its services `unreachable`.
      const remote = [...new Set(records.map((r) => r.node))].filter((n) => n !== LOCAL_NODE && nodes?.has(n));
      const silent = new Set<string>();
      await Promise.all(
        remote.map(async (n) => {
          const answered = await dockerRuntimes.get(n).init(new Map(records.filter((r) => r.node === n).map((r) => [r.id, r.name])));
          if (!answered) silent.add(n);
        }),
      );
      // A node of a span that did not answer leaves that span `unreachable` until it does (nodeBack).
      const [spanSilent] = await spans;
      await supervisor.init(silent, spanSilent);
      scheduler.start();
      // A node slow to list but answering the heartbeat gives no reachability news: it is asked once more.
      for (const n of spanSilent) if (!nodes?.unreachableReason(n)) setTimeout(() => void nodeBack(n), SPAN_RELIST_MS).unref();
    })());
  // Reachability of other machines' nodes: a silent one marks its services (and spans with a node
  // there) `unreachable`; when it answers, their containers (groups) are looked for again and the
  // supervisor adopts them.
  let closing = false;
  const nodeBack = async (node: string) => {
    await init();
    if (closing) return;
    const waiting = supervisor.waitingOn(node);
    if (waiting.size === 0) return;
    // Spans that wait for the node look for their groups on every node of theirs; single containers on the node's runtime.
    const spans = new ServicesRepo(opts.db).list().filter((r) => r.span !== null && waiting.has(r.id));
    const single = new Set([...waiting].filter((id) => !spans.some((r) => r.id === id)));
    let still = new Set<string>();
    try {
      if (single.size > 0) await dockerRuntimes.get(node).rescan(single, supervisor.serviceIds());
      still = await spanRuntime.rescan(spans.map((r) => ({ id: r.id, name: r.name, nodes: r.span!.nodes })));
    } catch {
      return; // silent again: the next answer tries again
    }
    if (still.has(node)) return;
    // A span with another node still silent waits on (that node's answer comes back here).
    await supervisor.nodeBack(node, still);
  };
  // A removed node had no services left (the registry refuses otherwise): its runtime's streams end.
  nodes?.onRemove((node) => {
    runtimes.get(node)?.close();
    runtimes.delete(node);
    void reaches.get(node)?.close();
    reaches.delete(node);
  });
  nodes?.onReachability((node, reachable, error) => {
    if (reachable) return void nodeBack(node);
    // The groups of spans with a member there are let go first (no exit, nothing removed): their services become `unreachable` too.
    spanRuntime.nodeLost(node);
    supervisor.nodeLost(node, error ?? `Node "${node}" does not answer.`);
  });
  // The Docker runtime's event and log streams end with the supervisor (containers keep running
  // unless the shutdown stops them), so they do not hold the process open.
  const shutdown = supervisor.shutdown.bind(supervisor);
  supervisor.shutdown = async (o) => {
    closing = true;
    try {
      // An init under way finishes first: an engine it adopts after the shutdown would be left unwatched.
      await initialized?.catch(() => {});
      await shutdown(o);
    } finally {
      for (const rt of runtimes.values()) rt.close();
      spanRuntime.close();
      for (const reach of reaches.values()) void reach.close();
    }
  };

  /**
   * Refusals for Docker engines before anything is created or started: daemon down, GPU without
   * the NVIDIA runtime, no image and no registry. Native engines pass through.
   */
  const preflight = async (engineId: string, device: Device, node: string = LOCAL_NODE) => {
    const item = requireEngine(catalog(), engineId);
    if (item.entry.runtime !== 'docker') {
      if (node !== LOCAL_NODE) {
        throw new AimaError('bad-request', `${item.entry.name} (${item.entry.id}) is a native engine: it runs as a process on this machine, not on node "${node}".`, 'Leave out --node, or pick a Docker engine (see `aima engine list`).');
      }
      return;
    }
    if (node !== LOCAL_NODE) {
      // An engine whose port would be open to the network in clear there is refused before anything is made.
      const reach = remoteReach(item.entry, nodes?.transport(node) ?? 'local', node);
      if (reach.kind === 'refused') throw reach.error;
      const silent = nodes?.unreachableReason(node);
      if (silent) throw new AimaError('unavailable', silent, `Try again once node "${node}" answers (see \`aima node list\`).`);
      await dockerPreflight({ docker: docker(node), engine: item.entry, device, facts: factsOf(node), where: `on node "${node}"` });
      return;
    }
    if (device === 'gpu') await listGpus().catch(() => []); // fills the GPU facts image candidates are chosen by
    try {
      await dockerPreflight({ docker: docker(LOCAL_NODE), engine: item.entry, device, facts: dockerFacts });
      host.docker = { usable: true };
    } catch (err) {
      const e = toAimaError(err);
      if (/Docker is not usable/.test(e.message)) host.docker = { usable: false, detail: `${e.message} ${e.fix ?? ''}`.trim() };
      throw err;
    }
  };
  const preflightService = async (name: string) => {
    const s = supervisor.get(name);
    // A group's members are checked on their own nodes as they start (image, pull, GPUs).
    if (!s.span) await preflight(s.engine, s.device, s.node);
  };

  // The placement (fit, GPU choice, evictions) is the supervisor's `place` step, run for every start.
  const startOrRestart = (which: 'start' | 'restart') => async (p: { name: string; wait?: boolean; timeoutMs?: number; operationId?: string; ignoreFit?: boolean }) => {
    await preflightService(p.name);
    const ignoreFit = p.ignoreFit ?? false;
    if (!p.wait) return supervisor[which](p.name, { ignoreFit });
    return operations.run({ id: p.operationId, label: `Starting ${p.name}`, unit: 'percent' }, (op) =>
      supervisor[which](p.name, { wait: true, timeoutMs: p.timeoutMs, op, ignoreFit }),
    );
  };

  /** Refusals of a replica count before anything is created or removed. */
  const checkReplicas = (name: string, n: number, port: number, add: string[]) => {
    if (n > 1 && port !== 0) {
      throw new AimaError('bad-request', `${n} replicas cannot share the fixed port ${port}: each replica listens on a port of its own.`, `Leave out --port (each service then takes a free port at start), or run one service.`);
    }
    const names = new Set(supervisor.list().map((x) => x.name));
    const taken = add.filter((r) => names.has(r));
    if (taken.length > 0) {
      throw new AimaError('conflict', `The replicas of "${name}" are named ${add.join(', ')}, but ${taken.map((t) => `"${t}"`).join(', ')} already exists as a service of its own.`, `Remove or rename that service first, or pick another name than "${name}".`);
    }
  };
  /**
   * Creates replicas of a primary with its settings (idle TTL and pin included), a port of their own (0: free at each start)
   * and GPUs left to the placement step (`[]` = auto, so replicas spread over the GPUs instead of
   * piling onto the primary's); the ones made are removed again on a failure.
   */
  const createReplicas = async (primary: ServiceSummary, names: string[]) => {
    const made: string[] = [];
    try {
      for (const name of names) {
        const params: ServiceCreateParams = { name, model: primary.model ?? undefined, engine: primary.engine, device: primary.device, gpus: [], port: 0, concurrency: primary.concurrency, restartPolicy: primary.restartPolicy, ...(primary.threads !== null ? { threads: primary.threads } : {}), ...(primary.ctxSize !== null ? { ctxSize: primary.ctxSize } : {}), ...(primary.idleTtl !== null ? { idleTtl: primary.idleTtl } : {}), ...(primary.pinned ? { pinned: true } : {}), node: primary.node, ...(primary.modelPathOnNode !== null ? { modelPathOnNode: primary.modelPathOnNode } : {}), ...(primary.hfModel !== null ? { hfModel: primary.hfModel } : {}), ...(primary.hfRevision !== null ? { hfRevision: primary.hfRevision } : {}) };
        await supervisor.create(params, { replicaOf: primary.id });
        made.push(name);
      }
    } catch (err) {
      for (const name of made.reverse()) await supervisor.remove(name).catch(() => {});
      throw err;
    }
    return made;
  };
  /** start, stop and restart of a primary apply to its replicas too (each on its own; the primary's answer is returned). */
  const withReplicas =
    <P extends { name: string; operationId?: string }, R>(handler: (p: P) => Promise<R>) =>
    async (p: P): Promise<R> => {
      const replicas = replicasOf(supervisor.list(), p.name);
      if (replicas.length === 0) return handler(p);
      const [own] = await Promise.all([handler(p), ...replicas.map((r) => handler({ ...p, name: r.name, operationId: undefined }).catch(() => null))]);
      return own;
    };

  /**
   * A service across nodes: the span's refusals (engine, nodes, GPUs, model on the nodes) before
   * anything is stored; the tensor-parallel size defaults to the nodes' GPUs over the pipeline stages.
   */
  const createSpan = async (params: Parameters<ServicesApi['services.create']>[0] & { nodes: string[] }) => {
    const engine = requireEngine(catalog(), params.engine).entry;
    // The registry reads nodes' facts on demand: the span's, never read (right after a start) or stale, are read now.
    await nodes?.fresh(params.nodes);
    const pipelineParallel = params.pipelineParallel ?? 1;
    const gpus = params.nodes.reduce((sum, n) => sum + (spanNodes.facts(n)?.gpus.length ?? 0), 0);
    const tensorParallel = params.tensorParallel ?? Math.max(1, Math.floor(gpus / pipelineParallel));
    checkSpan({ engine, span: { nodes: params.nodes, tensorParallel, pipelineParallel }, nodeFacts: (n) => spanNodes.facts(n), clusterLink: (n) => spanNodes.clusterLink(n), transport: (n) => spanNodes.transport(n), modelOnNodes: hubModelOf(params.hfModel, params.hfRevision) ?? modelOnNodesOf(params.modelPathOnNode), hasModel: params.model !== undefined });
    checkModelOnNode({ nodes: params.nodes, model: params.model ?? null, modelPathOnNode: params.modelPathOnNode ?? null });
    return supervisor.create({ ...params, device: params.device ?? 'gpu', tensorParallel, pipelineParallel });
  };

  const createOne = async (params: Parameters<ServicesApi['services.create']>[0]) => {
    // Where the model comes from, before any node is contacted and anything is written.
    checkHubModel({ engine: requireEngine(catalog(), params.engine).entry, hfModel: params.hfModel ?? null, hfRevision: params.hfRevision ?? null, model: params.model ?? null, modelPathOnNode: params.modelPathOnNode ?? null });
    if (params.nodes) {
      if (params.node !== undefined && params.node !== LOCAL_NODE) throw new AimaError('bad-request', `--node ${params.node} and --nodes ${params.nodes.join(',')} were both given: a service runs on one node or spans several.`, 'Give --nodes a,b to span nodes (the first is the head), or --node NAME for one node.');
      return createSpan({ ...params, nodes: params.nodes });
    }
    const template = requireEngine(catalog(), params.engine).entry;
    const node = params.node ?? LOCAL_NODE;
    if (node !== LOCAL_NODE && !nodes?.has(node)) throw new AimaError('not-found', `No node named "${node}".`, 'See `aima node list`, or add it with `aima node add`.');
    // Before the node is contacted (a native engine on another node is refused by the preflight).
    if (template.runtime === 'docker' || node === LOCAL_NODE) checkModelOnNode({ nodes: [node], model: params.model ?? null, modelPathOnNode: params.modelPathOnNode ?? null });
    if (template.runtime !== 'docker' || !template.imageFromService) {
      if (params.image) throw new AimaError('bad-request', `Engine "${params.engine}" brings its own images; an image is given only for "custom image" engines.`, 'Leave out the image, or use --engine custom-image.');
      await preflight(params.engine, params.device ?? 'cpu', node);
      return supervisor.create(params);
    }
    if (!params.image) throw new AimaError('bad-request', `Engine "${params.engine}" runs the image you name.`, 'Give the image, e.g. "ghcr.io/me/server:1".');
    // The custom entry becomes a user entry of its own (custom-<service name>) holding the image: engines stay data.
    const id = `custom-${params.name.toLowerCase().replace(/[^a-z0-9-]+/g, '-')}`;
    const file = path.join(userDir, `${id}.json`);
    if (existsSync(file)) throw new AimaError('conflict', `An engine entry ${file} already exists.`, 'Pick another service name, or remove that file.');
    const entry = { ...template, id, name: `${params.image} (custom image)`, images: [{ image: params.image, requires: {} }], imageFromService: false, resourceEnvPrefix: template.resourceEnvPrefix ?? resourceEnvPrefix(template.id) };
    mkdirSync(userDir, { recursive: true });
    writeFileSync(file, JSON.stringify(entry, null, 2) + '\n');
    try {
      await preflight(id, params.device ?? 'cpu', node);
      return await supervisor.create({ ...params, engine: id, image: undefined });
    } catch (err) {
      rmSync(file, { force: true }); // nothing half-made
      throw err;
    }
  };
  const removeOne = async (name: string) => {
    const { engine, id, node, span } = supervisor.get(name);
    const result = await supervisor.remove(name);
    if (node !== LOCAL_NODE && nodes?.has(node)) dockerRuntimes.get(node).forget(id);
    // A span's engine key (a head on a TCP node) goes with it too.
    const head = span?.nodes[0];
    if (head && head !== LOCAL_NODE && nodes?.has(head)) reachOn(head)?.forget(id);
    // A custom image's own entry goes with its last service (replicas share the primary's).
    const file = path.join(userDir, `${engine}.json`);
    if (engine.startsWith('custom-') && catalog().items.get(engine)?.file === file && !supervisor.list().some((x) => x.engine === engine)) rmSync(file, { force: true });
    return result;
  };

  const handlers: ServicesApi = {
    'services.list': async () => supervisor.list(),
    'services.get': async ({ name }) => supervisor.get(name),
    'services.create': async (params) => {
      const n = params.replicas ?? 1;
      if (params.nodes && n > 1) throw new AimaError('bad-request', 'A model served across nodes is one service: it has no replicas.', 'Leave out --replicas, or create services on single nodes to replicate.');
      const names = Array.from({ length: n - 1 }, (_, i) => replicaName(params.name, i + 2));
      checkReplicas(params.name, n, params.port ?? 0, names);
      const primary = await createOne(params);
      if (names.length === 0) return primary;
      try {
        await createReplicas(primary, names);
      } catch (err) {
        await removeOne(primary.name).catch(() => {}); // nothing half-made
        throw err;
      }
      return supervisor.get(primary.name);
    },
    'services.scale': async ({ name, replicas: n }) => {
      const primary = supervisor.get(name);
      if (primary.span) throw new AimaError('bad-request', `"${name}" serves its model across nodes: it has no replicas.`, 'Create services on single nodes to replicate.');
      if (primary.replicaOf) throw new AimaError('bad-request', `"${name}" is a replica of "${primary.replicaOf}"; replicas are counted on their primary.`, `Scale the primary: \`aima service scale ${primary.replicaOf} N\`.`);
      const plan = planScale(name, replicasOf(supervisor.list(), name).map((r) => r.name), n);
      checkReplicas(name, n, primary.configuredPort, plan.add);
      for (const r of plan.remove) await supervisor.remove(r);
      const added = await createReplicas(primary, plan.add);
      // New replicas of a service that runs start too (without waiting: they show their progress in the list).
      if (primary.desiredState === 'running') for (const r of added) void startOrRestart('start')({ name: r }).catch(() => {});
      return { name, replicas: [supervisor.get(name), ...replicasOf(supervisor.list(), name)], added, removed: plan.remove };
    },
    'services.start': withReplicas(startOrRestart('start')),
    'services.restart': withReplicas(startOrRestart('restart')),
    'services.stop': withReplicas(async ({ name, force }) => supervisor.stop(name, { force })),
    'services.remove': async ({ name }) => {
      // A primary goes with its replicas (highest-numbered first); a replica alone leaves the rest.
      for (const r of replicasOf(supervisor.list(), name).reverse()) await removeOne(r.name);
      return removeOne(name);
    },
    'services.logs': async ({ name, lines }) => supervisor.logs(name, lines ?? 200),
    // A primary's idle TTL and pin apply to its replicas too (they serve the same model); a replica's to itself.
    'services.update': withReplicas(async ({ name, ...patch }) => supervisor.update(name, patch)),
    'services.plan': async ({ name, device, gpus }) => scheduler.plan(name, { device, gpus }),
    'services.planChain': async ({ services }) =>
      scheduler.planChain(services.map((x) => ({ ...x, gpus: x.gpus ?? [], ctxSize: x.ctxSize ?? null, concurrency: x.concurrency ?? 1 }))),
    'engines.list': async () => supervisor.engines(),
  };
  const api = Object.fromEntries(
    Object.entries(handlers).map(([name, handler]) => [
      name,
      async (params: never) => {
        await init();
        return (handler as (p: never) => Promise<unknown>)(params);
      },
    ]),
  ) as ServicesApi;
  return {
    supervisor,
    calls: api,
    events: ['services.changed', 'services.log'],
    startup: init,
    scheduler,
    close: (o: CloseOptions) => {
      scheduler.close();
      return supervisor.shutdown({ stopServices: o.stopServices ?? opts.stopOnQuit?.() ?? false });
    },
  };
}
