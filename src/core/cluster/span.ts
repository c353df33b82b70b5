/**
 * A service spanning nodes: one model served by engine containers on several Docker engines
 * (nodes) as one service. The shapes the pure plan (span-plan.ts) makes and the group runtime
 * (span-runtime.ts) carries out.
 */
import type { ServiceSpan } from '../../shared/contract/services.js';
import type { HealthSpec, RemoteAccess } from '../engines/catalog-schema.js';
import type { DockerPlan } from '../runtimes/types.js';

/** What a service asks for: `--nodes a,b --tensor-parallel N --pipeline-parallel M` (distinct node names; the first is the head). */
export type SpanSettings = ServiceSpan;

/** How the other nodes of a span reach a node (Ray, NCCL and Gloo traffic goes over it): a per-node setting the nodes registry keeps. */
export type { NodeClusterLink } from '../../shared/contract/nodes.js';

/**
 * The model's files on the nodes of a span. AIMA does not copy weights between machines: a node
 * other than `local` reads a folder that is already there, or the engine downloads a Hugging Face id.
 */
export type ModelOnNodes = { kind: 'path'; path: string } | HubModelRef;

/** A Hugging Face id (and revision, null: the default branch) the engine downloads on each node. */
export interface HubModelRef {
  kind: 'hf';
  id: string;
  revision: string | null;
}

/** One container of the group: a Docker container's plan, with its place in the group. */
export interface SpanMember extends Pick<DockerPlan, 'node' | 'containerName' | 'skippedImages' | 'entrypoint' | 'cmd' | 'env' | 'labels' | 'mounts' | 'memoryBytes' | 'nanoCpus' | 'shmSizeBytes'> {
  /** 0 = the head (Ray head, or the engine's rank 0 that serves HTTP). */
  rank: number;
  role: 'head' | 'worker';
  /** Image candidates for this node's architecture and GPUs, in the catalog's order. */
  images: string[];
  /** [] = all of the node's GPUs; null = none (only test stand-ins run without). */
  gpus: number[] | null;
}

export interface SpanPlan {
  runtime: 'span';
  serviceId: string;
  serviceName: string;
  launcher: 'ray' | 'torch-distributed';
  /** members[0] is the head; every member uses the host's network (Ray and NCCL need the node's own addresses). */
  members: SpanMember[];
  /**
   * Ray only: run in the head container until the cluster shows every node's GPUs
   * (ray-status.ts judges the output); `expectGpus[i]` is member i's node's GPUs.
   */
  readiness: { command: string[]; expectGpus: number[] } | null;
  /** Ray only: the engine's argv, run in the head container once ready. */
  engineExec: string[] | null;
  /** How the gateway reaches the engine on the head node (see SpanReach). */
  reach: SpanReach;
  /** Where the engine serves HTTP (on the head node). */
  host: string;
  port: number;
  healthUrl: string;
  health: HealthSpec;
  logFile: string;
}

/**
 * How the gateway and the health probe reach a span's engine. Only the head serves HTTP, so the
 * head node's transport decides, as for a single container there (nodes/reach/remote-reach.ts):
 * - `direct`: the head is `local`; the engine listens on the core's loopback;
 * - `ssh-tunnel`: the head is an SSH node; the engine listens on that node's 127.0.0.1 and is
 *   reached through the node's SSH tunnel;
 * - `tls`: the head is a TCP node; the engine serves TLS with a certificate from the install CA
 *   and requires a per-service key (`access` names the engine's flags for both).
 */
export type SpanReach = { kind: 'direct' } | { kind: 'ssh-tunnel' } | { kind: 'tls'; access: RemoteAccess };

/** The label every member carries: the service id (not `aima.service`: the single-container Docker runtime leaves members alone). */
export const SPAN_LABEL = 'aima.span';
