/**
 * The group runtime: a service spanning nodes is one service whose process is a group of
 * containers, one per node, each created through that node's Docker client.
 *
 *   start:  leftovers of the service removed on every node → head created and started → workers
 *           → (Ray) `ray status -v` in the head until every node shows its GPUs, or a clear
 *           timeout that removes every member → (Ray) the engine run in the head container.
 *   alive:  every member runs (and, with Ray, the engine process in the head). The first member
 *           or engine process that ends fails the group: the others are removed and the
 *           supervisor hears one exit, so its restart with backoff starts the whole group again.
 *   stop:   every member stopped (SIGTERM, SIGKILL after the grace) and removed, on every node.
 *   adopt:  at core start (init), a group an earlier core left is looked for on each of its nodes.
 *           Whole (one running member per node, and with Ray the engine still running in the
 *           head) it is adopted as it runs: the supervisor follows it as before. Not whole (a
 *           member gone or ended while no core watched) it has failed: what is left is removed,
 *           and the supervisor starts the group anew if the service should run. A node that does
 *           not answer leaves its groups alone; they are looked for again when it answers (rescan).
 *   reach:  the engine serves HTTP on the head node. Another machine's head is reached through that
 *           node's ContainerReach (the one its Docker runtime uses): an SSH node's engine listens on
 *           the node's 127.0.0.1 behind an SSH tunnel; a TCP node's serves TLS with a certificate
 *           from the install CA and requires a per-service key (kept in the secret store, so a
 *           later core adopting the group reaches it with the same key).
 *
 * Members carry `aima.span=<service id>`, not `aima.service`, so the single-container Docker
 * runtime neither adopts nor removes them.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import { AimaError } from '../../shared/errors.js';
import type { HealthSpec } from '../engines/catalog-schema.js';
import type { Operations } from '../operations/operations.js';
import { LABEL_HOST, LABEL_LOG, LABEL_PORT, LABEL_REACH } from '../runtimes/docker/docker-runtime.js';
import { LOCAL_NODE } from '../nodes/node-facts.js';
import { putContainerFiles } from '../nodes/reach/container-files.js';
import type { ContainerReach, EngineUpstream } from '../nodes/reach/container-reach.js';
import { imageForStart } from '../runtimes/docker/images.js';
import { removeUntilGone } from '../runtimes/docker/remove.js';
import { tailLines } from '../runtimes/native/log-file.js';
import { probeHttp } from '../runtimes/probe.js';
import type { EngineHandle, PlanInput, ProbeResult, Runtime, StartHooks, StopOptions, StopResult } from '../runtimes/types.js';
import { parseRayStatus, rayReadiness } from './ray-status.js';
import { ENGINE_EXEC_LABEL, judgeFoundGroup, type GroupVerdict } from './span-adoption.js';
import { planSpan, type SpanPlanInput } from './span-plan.js';
import { SPAN_LABEL, type SpanMember, type SpanPlan } from './span.js';
import { dockerMounts } from '../runtimes/docker/mounts.js';

type ExitFn = (code: number | null, signal: string | null) => void;

export interface SpanRuntimeOptions {
  /** A node's Docker client (the nodes registry's; `local` is the core's own engine). Throws for a node it does not know. */
  dockerFor: (node: string) => Docker;
  /** What planSpan needs beside the service: node facts, cluster links, the install's limits and id. */
  planContext: () => Omit<SpanPlanInput, 'service' | 'span' | 'modelOnNodes'>;
  operations?: Operations;
  /** How long the Ray cluster may take to show every node's GPUs, and how often it is asked. */
  readyTimeoutMs?: number;
  readyPollMs?: number;
  /**
   * How another machine's node reaches the engines on it: the same ContainerReach its Docker
   * runtime uses (its SSH tunnels, the engines' keys); null for `local`. Only the head's is used.
   */
  reachFor?: (node: string) => ContainerReach | null;
}

/** What a start of a TLS engine adds (ContainerReach.issue): its arguments, the key among them, and files. */
type TlsStart = ReturnType<ContainerReach['issue']>;

/**
 * The engine's command in the head container: its output goes to the container's own output (PID
 * 1's stdout and stderr), not to the exec's stream. An exec's stream can be read only by the
 * client that started it, so a core adopting the group later could never read the engine again;
 * the container's output is kept by the node's Docker engine (rotated by its log driver) and read
 * through the logs API, which follows every member at adoption anyway. (A file in the container
 * followed by a second exec would need `tail` in the image, grow in the container's writable layer
 * without rotation, and be one more process to watch.) `exec` keeps the engine's exit code the
 * exec's; the wrapper needs `sh` in the image, which every engine image has.
 */
const ENGINE_WRAPPER = ['sh', '-c', 'exec "$@" >/proc/1/fd/1 2>/proc/1/fd/2', 'aima-engine'];

interface Member {
  node: string;
  role: SpanMember['role'];
  docker: Docker;
  id: string;
}

/** A service spanning nodes as the store has it: what init looks for. */
export interface SpanService {
  id: string;
  name: string;
  /** The span's nodes, the head first. */
  nodes: string[];
}

/** A whole group found at init, until the supervisor adopts it. */
interface FoundGroup {
  members: Member[];
  host: string;
  port: number;
  logFile: string;
  /** Ray: the engine's exec in the head container. */
  engineExecId: string | null;
  /** Where a head on another machine is reached (its tunnel, or TLS with the stored key). */
  upstream: EngineUpstream | null;
}

interface Group {
  serviceId: string;
  members: Member[];
  alive: boolean;
  /** Set once it ends (failed or stopped): later member exits are part of that end. */
  ended: boolean;
  exitFns: Set<ExitFn>;
  log: WriteStream;
  /** Ends the members' wait requests and output streams when the core closes. */
  abort: AbortController;
  streams: NodeJS.ReadableStream[];
  /** Where a head on another machine is reached; closed when the group ends or the core closes. */
  upstream: EngineUpstream | null;
  /** Started (or adopted) whole: from then on a silent node lets it go (nodeLost) instead of failing it. */
  settled: boolean;
}

/** How long init waits for a node's engine to list a group's members: a silent node must not hold up the core's start. */
const INIT_LIST_TIMEOUT_MS = 3000;
/** A member whose wait broke off is asked within this; while its node does not answer, again after MEMBER_RECHECK_MS. */
const MEMBER_CHECK_TIMEOUT_MS = 3000;
const MEMBER_RECHECK_MS = 1000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const statusOf = (err: unknown) => (err as { statusCode?: number }).statusCode;
const destroy = (st: NodeJS.ReadableStream) => (st as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
/** The handle's address fields for an upstream: where the gateway and the probe connect. */
const reached = (up: EngineUpstream): Pick<EngineHandle, 'host' | 'port' | 'tls'> => ({ host: up.host, port: up.port, ...(up.tls ? { tls: up.tls } : {}) });

export class SpanRuntime implements Runtime<SpanPlan> {
  private readonly groups = new Map<string, Group>();
  /** Whole groups found at init, by service id, waiting to be adopted. */
  private readonly adoptable = new Map<string, FoundGroup>();
  private readonly readyTimeoutMs: number;
  private readonly readyPollMs: number;

  constructor(private readonly opts: SpanRuntimeOptions) {
    // Images are pulled (with progress) before this wait starts: what remains is Ray nodes joining.
    this.readyTimeoutMs = opts.readyTimeoutMs ?? 180_000;
    this.readyPollMs = opts.readyPollMs ?? 2000;
  }

  plan(input: PlanInput): SpanPlan {
    if (!input.span) throw new Error(`SpanRuntime.plan: service ${input.serviceName} does not span nodes`);
    return planSpan({ ...this.opts.planContext(), service: input, span: input.span, modelOnNodes: input.modelOnNodes ?? null });
  }

  async start(plan: SpanPlan, hooks: StartHooks): Promise<EngineHandle> {
    // Before anything is created on any node: a head on another machine needs its node's reach.
    const reach = plan.reach.kind === 'direct' ? null : this.headReach(plan);
    const log = openLog(plan.logFile);
    log.write(`--- aima ${new Date().toISOString()}: starting ${plan.serviceName} across ${plan.members.map((m) => `${m.node} (${m.role})`).join(', ')}\n`);
    const group = this.newGroup(plan.serviceId, log, [hooks.onExit]);
    try {
      await Promise.all(plan.members.map((m) => this.removeLeftovers(m.node, plan.serviceId)));
      // A TLS engine gets a new certificate and key at every start; the key replaces the stored one, which adoption reads.
      const tls = plan.reach.kind === 'tls' ? reach!.issue(plan.serviceId, plan.reach.access) : null;
      // The head first: the workers join it.
      for (const m of plan.members) group.members.push(await this.startMember(group, plan, m, m.rank === 0 ? tls : null));
      if (plan.readiness) await this.waitReady(group, plan);
      if (plan.engineExec) await this.execEngine(group, [...plan.engineExec, ...(tls?.args ?? [])], tls?.apiKey ?? null);
      if (reach) group.upstream = await reach.open(plan.serviceId, plan.port, tls !== null);
    } catch (err) {
      group.ended = true;
      group.alive = false;
      this.groups.delete(plan.serviceId);
      await this.removeAll(group);
      this.release(group);
      log.write(`aima: ${(err as Error).message}\n`);
      log.end();
      if (err instanceof AimaError) throw err;
      throw new AimaError('unavailable', `Docker could not start the group of "${plan.serviceName}": ${(err as Error).message}`, 'See `aima service logs` and `docker info` on each node.');
    }
    group.settled = true;
    const where = group.upstream ? reached(group.upstream) : { host: plan.host, port: plan.port };
    return { pid: 0, startTime: null, ownChild: true, logFile: plan.logFile, group: plan.serviceId, ...where };
  }

  probe(handle: EngineHandle, health: HealthSpec): Promise<ProbeResult> {
    return probeHttp(handle.host, handle.port, health, undefined, handle.tls);
  }

  async logs(logFile: string, lines: number): Promise<string[]> {
    return tailLines(logFile, lines);
  }

  isAlive(handle: EngineHandle): boolean {
    return handle.group ? (this.groups.get(handle.group)?.alive ?? false) : false;
  }

  /**
   * Looks for the groups an earlier core left, on each service's nodes in parallel: whole ones
   * become adoptable; one with a member gone, ended, or (Ray) without its engine is removed, with
   * a line in its log. A node that does not answer within a few seconds leaves its service's
   * group alone (neither adopted nor removed); the answer names those nodes, so that the
   * supervisor waits for them (`unreachable`) and calls {@link rescan} when they answer.
   */
  async init(services: readonly SpanService[]): Promise<Set<string>> {
    const silent = await Promise.all(services.map((s) => this.findGroup(s).catch(() => [])));
    return new Set(silent.flat());
  }

  /**
   * A node answered again: the groups of `services` (spans that waited for it) are looked for
   * again as at init, and become adoptable when whole. Answers the nodes that still do not answer
   * (their groups are left alone). A group this runtime already follows is left as it is.
   */
  async rescan(services: readonly SpanService[]): Promise<Set<string>> {
    const silent = await Promise.all(
      services
        .filter((s) => !this.groups.has(s.id))
        .map((s) => {
          void this.adoptable.get(s.id)?.upstream?.close();
          this.adoptable.delete(s.id);
          return this.findGroup(s).catch(() => []);
        }),
    );
    return new Set(silent.flat());
  }

  adopt(_pidFile: string, serviceId?: string): EngineHandle | null {
    const found = serviceId ? this.adoptable.get(serviceId) : undefined;
    if (!serviceId || !found) return null;
    this.adoptable.delete(serviceId);
    const log = openLog(found.logFile);
    log.write(`--- aima ${new Date().toISOString()}: adopted the group across ${found.members.map((m) => `${m.node} (${m.role})`).join(', ')}\n`);
    const group = this.newGroup(serviceId, log, []);
    group.members.push(...found.members);
    group.upstream = found.upstream;
    group.settled = true;
    for (const m of found.members) {
      this.followLogs(group, m);
      this.watchMember(group, m, 'not-running');
    }
    if (found.engineExecId) void this.followEngine(group, found.members[0]!, found.engineExecId);
    const where = found.upstream ? reached(found.upstream) : { host: found.host, port: found.port };
    return { pid: 0, startTime: null, ownChild: false, logFile: found.logFile, group: serviceId, ...where };
  }

  watch(handle: EngineHandle, onExit: ExitFn): () => void {
    const group = handle.group ? this.groups.get(handle.group) : undefined;
    if (!group || group.ended) {
      queueMicrotask(() => onExit(null, null));
      return () => {};
    }
    group.exitFns.add(onExit);
    return () => group.exitFns.delete(onExit);
  }

  async stop(handle: EngineHandle, opts: StopOptions): Promise<StopResult> {
    const group = handle.group ? this.groups.get(handle.group) : undefined;
    if (!group) return { escalated: false };
    const began = Date.now();
    const first = !group.ended;
    group.ended = true;
    await Promise.all(
      group.members.map(async (m) => {
        const c = m.docker.getContainer(m.id);
        try {
          if (opts.force) await c.kill();
          else await c.stop({ t: Math.ceil(opts.graceMs / 1000) });
        } catch (err) {
          // 304: already stopped; 404: already gone; 409: being removed.
          if (![304, 404, 409].includes(statusOf(err) ?? 0)) throw err;
        }
      }),
    );
    await this.removeAll(group);
    if (first) this.end(group, null, null);
    return { escalated: !opts.force && opts.graceMs > 0 && Date.now() - began >= opts.graceMs };
  }

  /**
   * A node stopped answering (the nodes registry's heartbeat says so, and the supervisor marks the
   * services `unreachable`): each started group with a member there is let go — no exit reported,
   * nothing removed, its tunnel closed — since whether it still runs cannot be known. When the
   * node answers, {@link rescan} looks for it again: adopted when whole, removed and started anew
   * when not. A group still being started is left to its start, which fails or succeeds on its own.
   */
  nodeLost(node: string): void {
    for (const group of [...this.groups.values()]) {
      if (group.ended || !group.settled || !group.members.some((m) => m.node === node)) continue;
      group.ended = true;
      group.alive = false;
      group.exitFns.clear();
      group.abort.abort();
      this.release(group);
      this.groups.delete(group.serviceId);
      group.log.end(`aima: node ${node} does not answer; the group is looked for again when it does\n`);
    }
  }

  /** Stops following the groups (their containers keep running: the next core adopts them). */
  close(): void {
    for (const found of this.adoptable.values()) void found.upstream?.close();
    this.adoptable.clear();
    for (const group of this.groups.values()) {
      group.ended = true;
      group.abort.abort();
      this.release(group);
      group.log.end();
    }
    this.groups.clear();
  }

  // ---------------------------------------------------------------- internals

  private newGroup(serviceId: string, log: WriteStream, exitFns: ExitFn[]): Group {
    const group: Group = { serviceId, members: [], alive: true, ended: false, exitFns: new Set(exitFns), log, abort: new AbortController(), streams: [], upstream: null, settled: false };
    this.groups.set(serviceId, group);
    return group;
  }

  /** One service's group as its nodes have it (see init); answers the nodes that did not answer. */
  private async findGroup(s: SpanService): Promise<string[]> {
    const clients = s.nodes.map((node) => this.opts.dockerFor(node));
    const listed = await Promise.allSettled(
      s.nodes.map((node, i) => within(clients[i]!.listContainers({ all: true, filters: { label: [`${SPAN_LABEL}=${s.id}`, `aima.node=${node}`] } }), INIT_LIST_TIMEOUT_MS, `node ${node} did not answer`)),
    );
    // Nothing is judged without every node's answer: a member on a silent node may well run.
    const silent = s.nodes.filter((_, i) => listed[i]!.status === 'rejected');
    if (silent.length > 0) return silent;
    const found = listed.flatMap((r, rank) => (r as PromiseFulfilledResult<Docker.ContainerInfo[]>).value.map((c) => ({ node: s.nodes[rank]!, rank, docker: clients[rank]!, c })));
    if (found.length === 0) return [];
    const verdict = judgeFoundGroup(s.nodes, found.map((f) => ({ node: f.node, labels: f.c.Labels, running: f.c.State === 'running' })));
    if (verdict.whole) {
      const members = [...found].sort((a, b) => a.rank - b.rank).map((f) => ({ node: f.node, role: f.rank === 0 ? ('head' as const) : ('worker' as const), docker: f.docker, id: f.c.Id }));
      // With Ray the engine is an exec in the head, which must still run.
      const engineExecId = verdict.engineExec ? await runningExec(members[0]!.docker, members[0]!.id) : null;
      if (!verdict.engineExec || engineExecId) {
        const upstream = await this.reopen(s, verdict);
        if (upstream !== undefined) this.adoptable.set(s.id, { members, host: verdict.host, port: verdict.port, logFile: verdict.logFile, engineExecId, upstream });
        return [];
      }
    }
    const why = verdict.whole ? 'the engine in its head container ended while no AIMA core watched' : verdict.why;
    await Promise.all(found.map((f) => removeUntilGone(f.docker, f.c.Id)));
    if (verdict.logFile) openLog(verdict.logFile).end(`--- aima ${new Date().toISOString()}: the group of ${s.name} failed: ${why}; what was left of it was removed\n`);
    return [];
  }

  /**
   * What reaches a found group's head on another machine again (a new tunnel, or TLS with the
   * stored key); null for a head on `local`. Undefined when it cannot be reached: the group is not
   * adopted, and the service's next start replaces it (a line in its log says why).
   */
  private async reopen(s: SpanService, verdict: Extract<GroupVerdict, { whole: true }>): Promise<EngineUpstream | null | undefined> {
    const head = s.nodes[0]!;
    if (head === LOCAL_NODE) return null;
    try {
      const reach = this.opts.reachFor?.(head) ?? null;
      return reach ? await reach.open(s.id, verdict.port, verdict.tls) : null;
    } catch (err) {
      openLog(verdict.logFile).end(`--- aima ${new Date().toISOString()}: the group of ${s.name} runs, but its engine on node ${head} cannot be reached: ${(err as Error).message}; its next start replaces it\n`);
      return undefined;
    }
  }

  /** The head node's reach, for a plan whose engine is reached through it; refused when this core has none. */
  private headReach(plan: SpanPlan): ContainerReach {
    const head = plan.members[0]!.node;
    const reach = this.opts.reachFor?.(head) ?? null;
    if (!reach) {
      throw new AimaError('unavailable', `The engine of "${plan.serviceName}" serves on node "${head}", but this core has no way to reach engines there (no SSH tunnel or engine key store).`, 'Start the core with its nodes registry and secret store, or put `local` first in --nodes.');
    }
    return reach;
  }

  /**
   * Subscribes to the ends of execs in the head (Docker's `exec_die` events); the answer names the
   * engine's exec once known, and from then on its end fails the group like a member's. Subscribed
   * before the exec starts (or, after an adoption, before it is asked once more), so no end is missed.
   */
  private async watchEngine(group: Group, head: Member): Promise<(execId: string) => Promise<void>> {
    const events = (await head.docker.getEvents({ filters: { type: ['container'], container: [head.id], event: ['exec_die'] } })) as NodeJS.ReadableStream;
    group.streams.push(events);
    if (group.ended) destroy(events);
    events.on('error', () => {});
    let engineExecId: string | null = null;
    const ended = (code: string | number | null | undefined) => this.memberEnded(group, `the engine in the head container ended (exit ${code ?? 'unknown'})`, code !== undefined && code !== null ? Number(code) : null);
    // One JSON object per line. readline passes the stream's error on (a dropped connection): the stream's end handles it.
    createInterface({ input: events, crlfDelay: Infinity })
      .on('line', (line) => {
        const attrs = parseEvent(line)?.Actor?.Attributes ?? {};
        if (engineExecId !== null && attrs.execID === engineExecId) ended(attrs.exitCode);
      })
      .on('error', () => {});
    // The stream breaking off while the group runs (the connection to the node dropped): subscribed again.
    let broken = false;
    const again = () => {
      if (broken || group.ended || engineExecId === null) return;
      broken = true;
      const execId = engineExecId;
      setTimeout(() => void this.followEngine(group, head, execId), MEMBER_RECHECK_MS).unref();
    };
    events.on('end', again);
    events.on('close', again);
    return async (execId) => {
      engineExecId = execId;
      try {
        // An end before its id was known here has had its event already: asked once.
        const info = await head.docker.getExec(execId).inspect();
        if (!info.Running) ended(info.ExitCode);
      } catch (err) {
        broken = true;
        destroy(events);
        throw err;
      }
    };
  }

  /**
   * The engine's exec (Ray) followed as after a start: after an adoption, or again when the event
   * stream broke off. While the head's node does not answer it is asked again, until the group
   * ends or is let go; an exec or head that is gone fails the group.
   */
  private async followEngine(group: Group, head: Member, execId: string): Promise<void> {
    while (!group.ended && this.groups.get(group.serviceId) === group) {
      try {
        await (await this.watchEngine(group, head))(execId);
        return;
      } catch (err) {
        if (statusOf(err) === 404) return this.memberEnded(group, `the engine in the head container cannot be followed: ${(err as Error).message}`, null);
        await sleep(MEMBER_RECHECK_MS);
      }
    }
  }

  /** A member's end fails the group. `next-exit` for one about to start (a created container is not running yet); `not-running` for one adopted. */
  private watchMember(group: Group, m: Member, condition: 'next-exit' | 'not-running'): void {
    void m.docker
      .getContainer(m.id)
      .wait({ condition, abortSignal: group.abort.signal })
      .then((r: { StatusCode?: number }) => this.memberEnded(group, `the ${m.role} on node ${m.node} ended (exit ${r.StatusCode ?? 'unknown'})`, r.StatusCode ?? null))
      .catch(() => this.recheckMember(group, m));
  }

  /**
   * A member's wait broke off without an exit (the connection to its node dropped, or the
   * container went): the member is asked. Running, it is followed again; ended or gone, the group
   * fails; while its node does not answer, it is asked again — until the group is let go (nodeLost,
   * the core closing) or ends.
   */
  private async recheckMember(group: Group, m: Member): Promise<void> {
    while (!group.ended) {
      const state = await within(m.docker.getContainer(m.id).inspect(), MEMBER_CHECK_TIMEOUT_MS, `node ${m.node} did not answer`).then(
        (info) => (info.State.Running ? { kind: 'running' as const } : { kind: 'ended' as const, code: info.State.ExitCode }),
        (err: unknown) => (statusOf(err) === 404 ? { kind: 'gone' as const } : { kind: 'silent' as const }),
      );
      if (group.ended) return;
      if (state.kind === 'running') return this.watchMember(group, m, 'not-running');
      if (state.kind === 'ended') return this.memberEnded(group, `the ${m.role} on node ${m.node} ended (exit ${state.code})`, state.code);
      if (state.kind === 'gone') return this.memberEnded(group, `the ${m.role} on node ${m.node} is gone`, null);
      await sleep(MEMBER_RECHECK_MS);
    }
  }

  /**
   * A member's output from now on into the group's log (after an adoption, or when a stream broke
   * off while the group runs: followed again, since the engine's output is the head's).
   */
  private followLogs(group: Group, m: Member, since = Date.now()): void {
    if (group.ended) return;
    void m.docker
      .getContainer(m.id)
      .logs({ follow: true, stdout: true, stderr: true, since: Math.floor(since / 1000) })
      .then((stream) => this.pipe(group, m, stream as NodeJS.ReadableStream))
      .catch(() => {});
  }

  /** A member's multiplexed output into the group's log; should it end while the group runs, it is followed again. */
  private pipe(group: Group, m: Member, stream: NodeJS.ReadableStream): void {
    group.streams.push(stream);
    if (group.ended) destroy(stream);
    m.docker.modem.demuxStream(stream, group.log, group.log);
    stream.on('error', () => {});
    stream.on('end', () => {
      // A member that ended has its wait end the group meanwhile; one that runs on is followed again,
      // from the second its stream broke off (a line of that second may show twice rather than not at all).
      const brokeAt = Date.now();
      setTimeout(() => {
        if (!group.ended && this.groups.get(group.serviceId) === group) this.followLogs(group, m, brokeAt);
      }, MEMBER_RECHECK_MS).unref();
    });
  }

  private async removeLeftovers(node: string, serviceId: string): Promise<void> {
    const docker = this.opts.dockerFor(node);
    const list = await docker.listContainers({ all: true, filters: { label: [`${SPAN_LABEL}=${serviceId}`] } });
    await Promise.all(list.map((c) => removeUntilGone(docker, c.Id)));
  }

  /** `tls`: the head of a span whose engine serves TLS (its files go into the container; without Ray its arguments join the member's). */
  private async startMember(group: Group, plan: SpanPlan, m: SpanMember, tls: TlsStart | null): Promise<Member> {
    const docker = this.opts.dockerFor(m.node);
    const image = await imageForStart(docker, { engineId: m.labels['aima.engine'] ?? plan.serviceName, images: m.images, skipped: m.skippedImages, label: `Pulling the image for ${plan.serviceName} on ${m.node}`, log: group.log, operations: this.opts.operations });
    // With Ray the engine is an exec in the head (execEngine adds the TLS arguments there); otherwise rank 0 is the engine.
    const cmd = [...m.cmd, ...(tls && !plan.engineExec ? tls.args : [])];
    group.log.write(`aima: ${m.role} on node ${m.node}: container ${m.containerName} from ${image}${m.entrypoint ? ' ' + m.entrypoint.join(' ') : ''}${cmd.length ? ' ' + hideKey(cmd, tls?.apiKey ?? null).join(' ') : ''}\n`);
    const container = await docker.createContainer({
      name: m.containerName,
      Image: image,
      ...(m.entrypoint ? { Entrypoint: m.entrypoint } : {}),
      Cmd: cmd,
      Env: Object.entries(m.env).map(([k, v]) => `${k}=${v}`),
      // Adoption by a later core reads where the engine serves and logs from the labels (with Ray, that an engine exec is to be found in the head; with TLS, that it is reached with the stored key).
      Labels: { ...m.labels, [LABEL_LOG]: plan.logFile, [LABEL_HOST]: plan.host, [LABEL_PORT]: String(plan.port), ...(m.rank === 0 && plan.engineExec ? { [ENGINE_EXEC_LABEL]: 'engine' } : {}), ...(tls ? { [LABEL_REACH]: 'tls' } : {}) },
      HostConfig: {
        // Ray, NCCL and the engine use the node's own addresses and ports.
        NetworkMode: 'host',
        Mounts: dockerMounts(m.mounts),
        ...(m.memoryBytes !== null ? { Memory: m.memoryBytes } : {}),
        ...(m.nanoCpus !== null ? { NanoCpus: m.nanoCpus } : {}),
        ...(m.shmSizeBytes !== null ? { ShmSize: m.shmSizeBytes } : {}),
        ...(m.gpus !== null ? { DeviceRequests: [m.gpus.length === 0 ? { Count: -1, Capabilities: [['gpu']] } : { DeviceIDs: m.gpus.map(String), Capabilities: [['gpu']] }] } : {}),
      },
    });
    const member: Member = { node: m.node, role: m.role, docker, id: container.id };
    this.pipe(group, member, await container.attach({ stream: true, stdout: true, stderr: true }));
    // Asked before the start, so no end is missed.
    this.watchMember(group, member, 'next-exit');
    // The certificate and its key go into the container only (never onto the node's disk).
    if (tls) await putContainerFiles(container, tls.files);
    await container.start();
    return member;
  }

  /** Runs the readiness command in the head until Ray shows every node's GPUs; throws with the last reason at the timeout. */
  private async waitReady(group: Group, plan: SpanPlan): Promise<void> {
    const { command, expectGpus } = plan.readiness!;
    const head = group.members[0]!;
    const deadline = Date.now() + this.readyTimeoutMs;
    let why = 'not asked yet';
    let output = '';
    group.log.write(`aima: waiting for the Ray cluster to show ${expectGpus.length} nodes with ${expectGpus.join(' + ')} GPUs (${command.join(' ')})\n`);
    for (;;) {
      if (group.ended) throw new AimaError('unavailable', `The group of "${plan.serviceName}" ended while its Ray cluster was forming.`, `See \`aima service logs ${plan.serviceName}\`.`);
      const r = await execOutput(head.docker, head.id, command).catch((err: Error) => ({ code: null, text: err.message }));
      output = r.text.trim();
      const judged = rayReadiness(r.code === 0 ? parseRayStatus(r.text) : null, expectGpus);
      if (judged.ready) {
        group.log.write(`aima: the Ray cluster shows every node's GPUs\n`);
        return;
      }
      why = judged.why;
      if (Date.now() >= deadline) break;
      await sleep(this.readyPollMs);
    }
    const last = output.split('\n').filter(Boolean).at(-1);
    throw new AimaError(
      'unavailable',
      `The Ray cluster of "${plan.serviceName}" was not ready after ${Math.round(this.readyTimeoutMs / 1000)} s: ${why}${last ? ` (last output of \`${command.join(' ')}\`: ${last})` : ''}.`,
      `Check that every node reaches ${plan.members[0]!.node} over the cluster link (its cluster address and interface), and see \`aima service logs ${plan.serviceName}\`. Every member was removed.`,
    );
  }

  /**
   * Runs the engine in the head container, detached, through ENGINE_WRAPPER: its output reaches the
   * log through the head's own output (attached at its start, followed after an adoption); its end
   * fails the group like a member's. `apiKey`: shown as `<key>` in the log.
   */
  private async execEngine(group: Group, argv: string[], apiKey: string | null): Promise<void> {
    const head = group.members[0]!;
    group.log.write(`aima: engine in the head container: ${hideKey(argv, apiKey).join(' ')}\n`);
    const known = await this.watchEngine(group, head);
    const exec = await head.docker.getContainer(head.id).exec({ Cmd: [...ENGINE_WRAPPER, ...argv], AttachStdout: false, AttachStderr: false });
    // The answer of a detached start carries nothing; it is drained (and its end by a dropped connection ignored).
    const answer = (await exec.start({ Detach: true })) as NodeJS.ReadableStream | undefined;
    answer?.on('error', () => {}).resume();
    await known(exec.id);
  }

  /** A member or the engine ended: unless the group is ending already, it fails and its other members go. */
  private memberEnded(group: Group, what: string, code: number | null): void {
    if (group.ended) return;
    group.ended = true;
    group.alive = false;
    group.log.write(`aima: ${what}; the group fails and its other members are removed\n`);
    void this.removeAll(group).finally(() => this.end(group, code, null));
  }

  private end(group: Group, code: number | null, signal: string | null): void {
    group.alive = false;
    if (this.groups.get(group.serviceId) === group) this.groups.delete(group.serviceId);
    this.release(group);
    const fns = [...group.exitFns];
    group.exitFns.clear();
    group.log.end();
    for (const fn of fns) fn(code, signal);
  }

  private async removeAll(group: Group): Promise<void> {
    await Promise.all(group.members.map((m) => removeUntilGone(m.docker, m.id)));
  }

  /** Ends what follows a group that ended (its streams, the engine-end events) and what reached it (a tunnel). */
  private release(group: Group): void {
    for (const st of group.streams.splice(0)) destroy(st);
    void group.upstream?.close();
    group.upstream = null;
  }
}

/** argv as the log shows it: the engine's key, an argument, as `<key>`. */
const hideKey = (argv: readonly string[], apiKey: string | null): string[] => (apiKey ? argv.map((a) => (a === apiKey ? '<key>' : a)) : [...argv]);

function parseEvent(line: string): { Actor?: { Attributes?: Record<string, string> } } | null {
  try {
    return JSON.parse(line) as { Actor?: { Attributes?: Record<string, string> } };
  } catch {
    return null;
  }
}

/** The promise, or a rejection naming `what` after `ms`. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms / 1000} s`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** The exec running in a container (the engine: readiness checks have ended by then), or null. */
async function runningExec(docker: Docker, id: string): Promise<string | null> {
  const info = await docker.getContainer(id).inspect();
  for (const execId of info.ExecIDs ?? []) {
    const e = await docker.getExec(execId).inspect().catch(() => null);
    if (e?.Running) return execId;
  }
  return null;
}

function openLog(file: string): WriteStream {
  mkdirSync(path.dirname(file), { recursive: true });
  return createWriteStream(file, { flags: 'a', mode: 0o600 });
}

/** Runs argv in a container; its exit code and output (stdout and stderr together). */
async function execOutput(docker: Docker, id: string, argv: string[]): Promise<{ code: number | null; text: string }> {
  const exec = await docker.getContainer(id).exec({ Cmd: argv, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const out = new PassThrough();
  let text = '';
  out.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  docker.modem.demuxStream(stream, out, out);
  await new Promise<void>((resolve) => {
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.on('error', () => resolve());
  });
  const info = await exec.inspect();
  return { code: info.ExitCode ?? null, text };
}
