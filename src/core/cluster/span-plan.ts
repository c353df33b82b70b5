/**
 * The plan of a service spanning nodes (pure; test/unit/span-plans.test.ts snapshots it):
 *
 * - `ray` (vLLM's documented multi-node recipe): a Ray head container on the first node
 *   (`ray start --head --block --port 6379`), a Ray worker on each other node
 *   (`ray start --address=HEAD:6379 --block`), all from the engine's image for that node, on the
 *   host's network, with the node's NCCL/Gloo interface; `ray status -v` in the head until the
 *   cluster shows every node's GPUs; then the engine runs in the head container with
 *   `--distributed-executor-backend ray --tensor-parallel-size N --pipeline-parallel-size M`.
 * - `torch-distributed` (SGLang's own launcher, no Ray): every node runs the engine with
 *   `--nnodes`, its `--node-rank` and `--dist-init-addr HEAD:PORT`; rank 0 serves HTTP.
 *
 * An IPv6 head is joined with its ports in brackets (`[fd00::1]:6379`), as Ray and SGLang parse it.
 *
 * Each member has what a single-node container of the engine has (image candidates by its node's
 * architecture, limits, shm size, the model mounted read-only or a Hub id with the node's Hub cache
 * volume) with the span's command and environment.
 */
import { renderArgv, type TemplateValues } from '../engines/template.js';
import { dockerFactsForNode } from '../runtimes/docker/node-host-facts.js';
import type { DockerEngineEntry } from '../engines/catalog-schema.js';
import { INSTALL_LABEL, containerNameFor, dockerLimits, eligibleImages, engineArgs, engineEnv, type DockerHostFacts } from '../runtimes/docker/plan.js';
import { templateValues } from '../runtimes/native/plan.js';
import type { DockerMount, PlanInput } from '../runtimes/types.js';
import { SPAN_LABEL, type ModelOnNodes, type SpanMember, type SpanPlan, type SpanSettings } from './span.js';
import { checkSpan, type SpanCheckInput, type SpanNode } from './span-validate.js';
import { hubEnv, hubMount, hubValues } from '../runtimes/docker/hub-model.js';
import { hostForPort, joinHostPort } from '../../shared/host-port.js';

export interface SpanPlanInput extends Omit<SpanCheckInput, 'engine' | 'span' | 'hasModel'> {
  /** The service as the supervisor plans a single container (engine, model, host, port, log file, ...). */
  service: PlanInput;
  span: SpanSettings;
  /** The install's limits (environment, engineResources setting): the same for every node. */
  install: Pick<DockerHostFacts, 'env' | 'resources'>;
  installId: string;
}

/** `ray status -v`, run in the head container: its output says which nodes joined with which GPUs. */
const RAY_STATUS = ['ray', 'status', '-v'];

/**
 * The model as every member sees it: a folder mounted read-only at the entry's mount path (the
 * library's folder on `local`, the --model-path-on-node folder elsewhere), or a Hugging Face id the
 * engine downloads on each node.
 */
function modelOnMembers(input: SpanPlanInput, engine: DockerEngineEntry): { values: TemplateValues; mounts: DockerMount[]; env: Record<string, string> } {
  const model: ModelOnNodes | null = input.modelOnNodes ?? (input.service.model ? { kind: 'path', path: input.service.model.path } : null);
  if (!model) return { values: {}, mounts: [], env: {} };
  if (model.kind === 'hf') {
    if (!engine.hub) throw new Error(`planSpan: engine ${engine.id} has no "hub" declaration for ${model.id}`);
    // Every member downloads (each node loads its own shards) into its node's cache volume.
    return { values: hubValues(model), mounts: [hubMount(engine.hub)], env: hubEnv(engine.hub, input.service.hubToken) };
  }
  return { values: { model_path: engine.modelMountPath }, mounts: [{ source: model.path, target: engine.modelMountPath, readOnly: true }], env: {} };
}

/** What every member of a node has whatever the launcher: image candidates for the node, limits, labels, the NCCL/Gloo interface. */
function memberBase(input: SpanPlanInput, engine: DockerEngineEntry, node: SpanNode, rank: number, mounts: DockerMount[]) {
  const limits = dockerLimits(engine, input.install);
  const { images, skipped } = eligibleImages(engine, 'gpu', dockerFactsForNode(node.facts, input.install));
  const env: Record<string, string> = {};
  if (node.link.interface) {
    env.NCCL_SOCKET_IFNAME = node.link.interface;
    env.GLOO_SOCKET_IFNAME = node.link.interface;
  }
  const { serviceId, serviceName } = input.service;
  return {
    node: node.name,
    rank,
    role: rank === 0 ? ('head' as const) : ('worker' as const),
    containerName: `${containerNameFor(input.installId, serviceName)}-${rank === 0 ? 'head' : `worker${rank}`}`,
    images,
    skippedImages: skipped,
    env,
    labels: { [SPAN_LABEL]: serviceId, [INSTALL_LABEL]: input.installId, 'aima.service.name': serviceName, 'aima.engine': engine.id, 'aima.node': node.name, 'aima.rank': String(rank) },
    mounts,
    memoryBytes: limits.memoryBytes,
    nanoCpus: limits.nanoCpus,
    shmSizeBytes: engine.shmSizeMb !== undefined ? engine.shmSizeMb * 1024 * 1024 : null,
    // Each member takes its node's GPUs (the engine's GPU setting, or all of them).
    gpus: input.service.device === 'gpu' ? limits.gpus : null,
  };
}

/** The plan of a spanning service; throws the validation's refusal (nothing is created then). */
export function planSpan(input: SpanPlanInput): SpanPlan {
  const { engine, nodes, reach } = checkSpan({ ...input, engine: input.service.engine, span: input.span, hasModel: input.service.model !== null });
  const { service, span } = input;
  const { values: modelValues, mounts, env: modelEnv } = modelOnMembers(input, engine);
  const head = nodes[0]!;
  const multi = engine.multiNode;
  // The engine listens where the service says (the head node's loopback unless told otherwise), never on every interface of the host network.
  const values: TemplateValues = {
    ...templateValues(service),
    tensor_parallel: String(span.tensorParallel),
    pipeline_parallel: String(span.pipelineParallel),
    nnodes: String(nodes.length),
    head_address: head.link.address,
  };
  delete values.model_path;
  Object.assign(values, modelValues);
  const engineEnvVars = { ...engineEnv(engine, service.device, values), ...modelEnv };
  const urlHost = hostForPort(service.host);
  // A TLS engine's key and certificate are issued at start (span-runtime.ts), not planned: the plan holds no secret.
  const scheme = reach.kind === 'tls' ? 'https' : 'http';
  const common = { runtime: 'span' as const, serviceId: service.serviceId, serviceName: service.serviceName, launcher: multi.launcher, reach, host: service.host, port: service.port, healthUrl: `${scheme}://${urlHost}:${service.port}${engine.health.path}`, health: engine.health, logFile: service.logFile };

  if (multi.launcher === 'ray') {
    const members: SpanMember[] = nodes.map((node, rank) => {
      const m = memberBase(input, engine, node, rank, mounts);
      const join = rank === 0 ? ['--head', `--port=${multi.rayPort}`] : [`--address=${joinHostPort(head.link.address, multi.rayPort)}`];
      return {
        ...m,
        entrypoint: ['ray', 'start', '--block', ...join, `--node-ip-address=${node.link.address}`, '--disable-usage-stats'],
        cmd: [],
        // VLLM_HOST_IP: the address vLLM's workers on this node announce (the cluster link's, not the first interface's).
        env: { ...engineEnvVars, ...m.env, VLLM_HOST_IP: node.link.address },
      };
    });
    return {
      ...common,
      members,
      readiness: { command: RAY_STATUS, expectGpus: members.map((m, i) => (m.gpus && m.gpus.length > 0 ? m.gpus.length : nodes[i]!.facts.gpus.length)) },
      engineExec: [...renderArgv(multi.command, values), ...engineArgs(engine, service.device, values), ...renderArgv(multi.args, values)],
    };
  }

  const members: SpanMember[] = nodes.map((node, rank) => {
    const m = memberBase(input, engine, node, rank, mounts);
    const own = { ...values, node_rank: String(rank), dist_port: String(multi.distPort), head_dist_address: joinHostPort(head.link.address, multi.distPort) };
    return {
      ...m,
      entrypoint: engine.entrypoint ? renderArgv(engine.entrypoint, own) : null,
      cmd: [...engineArgs(engine, service.device, own), ...renderArgv(multi.args, own)],
      env: { ...engineEnvVars, ...m.env },
    };
  });
  return { ...common, members, readiness: null, engineExec: null };
}
