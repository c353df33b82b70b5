/**
 * The Runtime interface: how a planned service becomes a process (native) or a container (Docker),
 * and how the supervisor watches and ends it. `plan` is pure — everything a start
 * will do is decided there and can be snapshot-tested; the other methods do the I/O.
 */
import type { Device } from '../../shared/contract/services.js';
import type { EngineEntry, HealthSpec, RemoteAccess } from '../engines/catalog-schema.js';
import type { EngineTls } from '../nodes/reach/container-reach.js';
import type { ModelOnNodes, SpanPlan, SpanSettings } from '../cluster/span.js';

/** Everything `plan` needs: the engine entry, the service's settings, and resolved host facts. */
export interface PlanInput {
  serviceId: string;
  serviceName: string;
  engine: EngineEntry;
  /** argv[0] as resolved by canRun (absolute path of a binary, or the Node executable). */
  binary: string;
  model: { name: string; path: string } | null;
  device: Device;
  gpus: number[];
  host: string;
  /** The port to listen on: the configured one, or one allocated for this start. */
  port: number;
  threads: number | null;
  ctxSize: number | null;
  /** Layers on the GPU when the scheduler chose a partial offload; absent: the engine's default. */
  gpuLayers?: number | null;
  concurrency: number;
  /** argv[0] for engines run by Node ({{node}}): the Node (or Electron) executable. */
  node: string;
  /** The Docker node (engine) a container runs on: `local` or a node added with `nodes.add`. */
  dockerNode: string;
  workersDir: string;
  logFile: string;
  pidFile: string;
  /** Running inside Electron: {{node}} is the Electron binary, which needs ELECTRON_RUN_AS_NODE. */
  electron: boolean;
  /** One model across these nodes (cluster/span-plan.ts); absent for a service on one node. */
  span?: SpanSettings | null;
  /** Where nodes other than `local` find the model (a folder there, or a Hugging Face id). */
  modelOnNodes?: ModelOnNodes | null;
  /** AIMA's Hugging Face token, given to an engine that downloads a Hub id (null: none is set). */
  hubToken?: string | null;
}

export interface NativePlan {
  runtime: 'native';
  argv: string[];
  /** Added to the core's environment (the plan stays free of the machine's variables). */
  env: Record<string, string>;
  host: string;
  port: number;
  healthUrl: string;
  health: HealthSpec;
  logFile: string;
  pidFile: string;
  serviceId: string;
  serviceName: string;
  /** The process's nice value (from the engine entry); 0 = normal. */
  niceness: number;
}

/** A host path bound read-only (a model's files), or a named Docker volume on the node (the Hub cache). */
export type DockerMount = { source: string; target: string; readOnly: true } | { volume: string; target: string; readOnly: false };

export interface DockerPlan {
  runtime: 'docker';
  serviceId: string;
  serviceName: string;
  /** The Docker node (engine) it runs on. */
  node: string;
  /** `aima-<install id's first 8>-<service name>`: one container per service (docker/plan.ts containerNameFor). */
  containerName: string;
  /** Images to try, in the catalog's priority order, already filtered by the machine's hardware. */
  images: string[];
  /** Candidates left out, each with why (for the error when none is usable). */
  skippedImages: { image: string; why: string }[];
  entrypoint: string[] | null;
  cmd: string[];
  env: Record<string, string>;
  /** `aima.service` = service id (adoption and the events filter), `aima.install` = install id, plus name and engine. */
  labels: Record<string, string>;
  mounts: DockerMount[];
  containerPort: number;
  /** Published on the host, bound to `host` only; port 0: Docker picks a free one (another machine's node). */
  host: string;
  port: number;
  memoryBytes: number | null;
  nanoCpus: number | null;
  shmSizeBytes: number | null;
  /** null: no GPU; [] : all GPUs; else these indexes. */
  gpus: number[] | null;
  healthUrl: string;
  health: HealthSpec;
  logFile: string;
  /** On a TCP node: the engine serves TLS and requires a key, with these flags (credentials are issued at start). */
  tls?: RemoteAccess;
}

export type RuntimePlan = NativePlan | DockerPlan | SpanPlan;

/** A live engine: our child, or a process adopted from a PID file. */
export interface EngineHandle {
  pid: number;
  /** /proc start time when it was recorded: a PID with another start time is not ours. */
  startTime: string | null;
  /** True when this core spawned it (exit arrives as an event); false when adopted (polled). */
  ownChild: boolean;
  host: string;
  port: number;
  logFile: string;
  /** Docker: the container; its exits come from the daemon's event stream. */
  containerId?: string;
  /** Docker: the node (engine) the container runs on. */
  node?: string;
  /** An engine serving TLS with a key (another machine's node): `host:port` is https with these. */
  tls?: EngineTls;
  /** A group spanning nodes (cluster/span-runtime.ts): the service id it is kept under. */
  group?: string;
}

export interface StartHooks {
  /** Our child exited (reaped). Not called for adopted processes: the supervisor polls those. */
  onExit(code: number | null, signal: string | null): void;
}

export type ProbeResult =
  | { kind: 'ready' }
  | { kind: 'not-ready'; status: number; progress: number | null }
  | { kind: 'unreachable'; error: string };

export interface StopOptions {
  /** SIGTERM, then SIGKILL after this long. */
  graceMs: number;
  /** SIGKILL at once. */
  force?: boolean;
}

export interface StopResult {
  /** The signal that ended it, when we had to escalate. */
  escalated: boolean;
}

export interface Runtime<P extends RuntimePlan = RuntimePlan> {
  plan(input: PlanInput): P;
  start(plan: P, hooks: StartHooks): Promise<EngineHandle>;
  probe(handle: EngineHandle, health: HealthSpec): Promise<ProbeResult>;
  /** The last `lines` lines of the service's log. */
  logs(logFile: string, lines: number): Promise<string[]>;
  stop(handle: EngineHandle, opts: StopOptions): Promise<StopResult>;
  /**
   * What an earlier core left running for this service: the process recorded in the PID file (when
   * it is still that same process), or the container labelled with the service id; null otherwise.
   */
  adopt(pidFile: string, serviceId?: string): EngineHandle | null;
  /** Still alive and still the same process (PID and start time) or container. */
  isAlive(handle: EngineHandle): boolean;
  /**
   * Calls `onExit` once when an adopted engine ends (a container's die/destroy event), so the
   * supervisor need not wait for its poll; returns an unsubscribe. Optional: the native runtime
   * has no such event for processes that are not its children.
   */
  watch?(handle: EngineHandle, onExit: (code: number | null, signal: string | null) => void): () => void;
}
