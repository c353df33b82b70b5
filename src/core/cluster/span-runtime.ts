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
 *           and the supervisor starts the group anew if the service should run.
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
import { LABEL_HOST, LABEL_LOG, LABEL_PORT } from '../runtimes/docker/docker-runtime.js';
import { imageForStart } from '../runtimes/docker/images.js';
import { removeUntilGone } from '../runtimes/docker/remove.js';
import { tailLines } from '../runtimes/native/log-file.js';
import { probeHttp } from '../runtimes/probe.js';
import type { EngineHandle, PlanInput, ProbeResult, Runtime, StartHooks, StopOptions, StopResult } from '../runtimes/types.js';
import { parseRayStatus, rayReadiness } from './ray-status.js';
import { ENGINE_EXEC_LABEL, judgeFoundGroup } from './span-adoption.js';
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
}

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
}

/** How long init waits for a node's engine to list a group's members: a silent node must not hold up the core's start. */
const INIT_LIST_TIMEOUT_MS = 3000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const statusOf = (err: unknown) => (err as { statusCode?: number }).statusCode;

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
    const log = openLog(plan.logFile);
    log.write(`--- aima ${new Date().toISOString()}: starting ${plan.serviceName} across ${plan.members.map((m) => `${m.node} (${m.role})`).join(', ')}\n`);
    const group = this.newGroup(plan.serviceId, log, [hooks.onExit]);
    try {
      await Promise.all(plan.members.map((m) => this.removeLeftovers(m.node, plan.serviceId)));
      // The head first: the workers join it.
      for (const m of plan.members) group.members.push(await this.startMember(group, plan, m));
      if (plan.readiness) await this.waitReady(group, plan);
      if (plan.engineExec) await this.execEngine(group, plan.engineExec);
    } catch (err) {
      group.ended = true;
      group.alive = false;
      this.groups.delete(plan.serviceId);
      await this.removeAll(group);
      log.write(`aima: ${(err as Error).message}\n`);
      log.end();
      if (err instanceof AimaError) throw err;
      throw new AimaError('unavailable', `Docker could not start the group of "${plan.serviceName}": ${(err as Error).message}`, 'See `aima service logs` and `docker info` on each node.');
    }
    return { pid: 0, startTime: null, ownChild: true, host: plan.host, port: plan.port, logFile: plan.logFile, group: plan.serviceId };
  }

  probe(handle: EngineHandle, health: HealthSpec): Promise<ProbeResult> {
    return probeHttp(handle.host, handle.port, health);
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
   * group alone (not adopted: a start removes what is left, or is refused naming the node).
   */
  async init(services: readonly SpanService[]): Promise<void> {
    await Promise.all(services.map((s) => this.findGroup(s).catch(() => {})));
  }

  adopt(_pidFile: string, serviceId?: string): EngineHandle | null {
    const found = serviceId ? this.adoptable.get(serviceId) : undefined;
    if (!serviceId || !found) return null;
    this.adoptable.delete(serviceId);
    const log = openLog(found.logFile);
    log.write(`--- aima ${new Date().toISOString()}: adopted the group across ${found.members.map((m) => `${m.node} (${m.role})`).join(', ')}\n`);
    const group = this.newGroup(serviceId, log, []);
    group.members.push(...found.members);
    for (const m of found.members) {
      void m.docker
        .getContainer(m.id)
        .logs({ follow: true, stdout: true, stderr: true, since: Math.floor(Date.now() / 1000) })
        .then((stream) => this.pipe(group, m.docker, stream as NodeJS.ReadableStream))
        .catch(() => {});
      this.watchMember(group, m, 'not-running');
    }
    if (found.engineExecId) void this.watchAdoptedEngine(group, found.members[0]!, found.engineExecId);
    return { pid: 0, startTime: null, ownChild: false, host: found.host, port: found.port, logFile: found.logFile, group: serviceId };
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

  /** Stops following the groups (their containers keep running: the next core adopts them). */
  close(): void {
    this.adoptable.clear();
    for (const group of this.groups.values()) {
      group.ended = true;
      group.abort.abort();
      for (const st of group.streams) (st as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
      group.log.end();
    }
    this.groups.clear();
  }

  // ---------------------------------------------------------------- internals

  private newGroup(serviceId: string, log: WriteStream, exitFns: ExitFn[]): Group {
    const group: Group = { serviceId, members: [], alive: true, ended: false, exitFns: new Set(exitFns), log, abort: new AbortController(), streams: [] };
    this.groups.set(serviceId, group);
    return group;
  }

  /** One service's group as its nodes have it (see init). */
  private async findGroup(s: SpanService): Promise<void> {
    const perNode = await Promise.all(
      s.nodes.map(async (node, rank) => {
        const docker = this.opts.dockerFor(node);
        const list = await within(docker.listContainers({ all: true, filters: { label: [`${SPAN_LABEL}=${s.id}`, `aima.node=${node}`] } }), INIT_LIST_TIMEOUT_MS, `node ${node} did not answer`);
        return list.map((c) => ({ node, rank, docker, c }));
      }),
    );
    const found = perNode.flat();
    if (found.length === 0) return;
    const verdict = judgeFoundGroup(s.nodes, found.map((f) => ({ node: f.node, labels: f.c.Labels, running: f.c.State === 'running' })));
    if (verdict.whole) {
      const members = [...found].sort((a, b) => a.rank - b.rank).map((f) => ({ node: f.node, role: f.rank === 0 ? ('head' as const) : ('worker' as const), docker: f.docker, id: f.c.Id }));
      // With Ray the engine is an exec in the head, which must still run.
      const engineExecId = verdict.engineExec ? await runningExec(members[0]!.docker, members[0]!.id) : null;
      if (!verdict.engineExec || engineExecId) {
        this.adoptable.set(s.id, { members, host: verdict.host, port: verdict.port, logFile: verdict.logFile, engineExecId });
        return;
      }
    }
    const why = verdict.whole ? 'the engine in its head container ended while no AIMA core watched' : verdict.why;
    await Promise.all(found.map((f) => removeUntilGone(f.docker, f.c.Id)));
    if (verdict.logFile) openLog(verdict.logFile).end(`--- aima ${new Date().toISOString()}: the group of ${s.name} failed: ${why}; what was left of it was removed\n`);
  }

  /** An adopted group's engine exec (Ray): its end (Docker's `exec_die` event) fails the group like a member's. */
  private async watchAdoptedEngine(group: Group, head: Member, execId: string): Promise<void> {
    try {
      const events = (await head.docker.getEvents({ filters: { type: ['container'], container: [head.id], event: ['exec_die'] } })) as NodeJS.ReadableStream;
      group.streams.push(events);
      if (group.ended) (events as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
      events.on('error', () => {});
      // One JSON object per line.
      createInterface({ input: events, crlfDelay: Infinity }).on('line', (line) => {
        const attrs = parseEvent(line)?.Actor?.Attributes ?? {};
        if (attrs.execID === execId) this.memberEnded(group, `the engine in the head container ended (exit ${attrs.exitCode ?? 'unknown'})`, attrs.exitCode !== undefined ? Number(attrs.exitCode) : null);
      });
      // An end between init and the subscription has no event: asked once more.
      const info = await head.docker.getExec(execId).inspect();
      if (!info.Running) this.memberEnded(group, `the engine in the head container ended (exit ${info.ExitCode ?? 'unknown'})`, info.ExitCode ?? null);
    } catch (err) {
      this.memberEnded(group, `the engine in the head container cannot be followed: ${(err as Error).message}`, null);
    }
  }

  /** A member's end fails the group. `next-exit` for one about to start (a created container is not running yet); `not-running` for one adopted. */
  private watchMember(group: Group, m: Member, condition: 'next-exit' | 'not-running'): void {
    void m.docker
      .getContainer(m.id)
      .wait({ condition, abortSignal: group.abort.signal })
      .then((r: { StatusCode?: number }) => this.memberEnded(group, `the ${m.role} on node ${m.node} ended (exit ${r.StatusCode ?? 'unknown'})`, r.StatusCode ?? null))
      .catch(() => this.memberEnded(group, `the ${m.role} on node ${m.node} is gone`, null));
  }

  /** A member's (or the engine's) multiplexed output into the group's log. */
  private pipe(group: Group, docker: Docker, stream: NodeJS.ReadableStream): void {
    group.streams.push(stream);
    if (group.ended) (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
    docker.modem.demuxStream(stream, group.log, group.log);
    stream.on('error', () => {});
  }

  private async removeLeftovers(node: string, serviceId: string): Promise<void> {
    const docker = this.opts.dockerFor(node);
    const list = await docker.listContainers({ all: true, filters: { label: [`${SPAN_LABEL}=${serviceId}`] } });
    await Promise.all(list.map((c) => removeUntilGone(docker, c.Id)));
  }

  private async startMember(group: Group, plan: SpanPlan, m: SpanMember): Promise<Member> {
    const docker = this.opts.dockerFor(m.node);
    const image = await imageForStart(docker, { engineId: m.labels['aima.engine'] ?? plan.serviceName, images: m.images, skipped: m.skippedImages, label: `Pulling the image for ${plan.serviceName} on ${m.node}`, log: group.log, operations: this.opts.operations });
    group.log.write(`aima: ${m.role} on node ${m.node}: container ${m.containerName} from ${image}${m.entrypoint ? ' ' + m.entrypoint.join(' ') : ''}${m.cmd.length ? ' ' + m.cmd.join(' ') : ''}\n`);
    const container = await docker.createContainer({
      name: m.containerName,
      Image: image,
      ...(m.entrypoint ? { Entrypoint: m.entrypoint } : {}),
      Cmd: m.cmd,
      Env: Object.entries(m.env).map(([k, v]) => `${k}=${v}`),
      // Adoption by a later core reads where the engine serves and logs from the labels (and, with Ray, that an engine exec is to be found in the head).
      Labels: { ...m.labels, [LABEL_LOG]: plan.logFile, [LABEL_HOST]: plan.host, [LABEL_PORT]: String(plan.port), ...(m.rank === 0 && plan.engineExec ? { [ENGINE_EXEC_LABEL]: 'engine' } : {}) },
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
    this.pipe(group, docker, await container.attach({ stream: true, stdout: true, stderr: true }));
    // Asked before the start, so no end is missed.
    this.watchMember(group, member, 'next-exit');
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

  /** Runs the engine in the head container; its end fails the group like a member's. */
  private async execEngine(group: Group, argv: string[]): Promise<void> {
    const head = group.members[0]!;
    group.log.write(`aima: engine in the head container: ${argv.join(' ')}\n`);
    const exec = await head.docker.getContainer(head.id).exec({ Cmd: argv, AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: false });
    this.pipe(group, head.docker, stream);
    stream.on('end', () => {
      void exec
        .inspect()
        .then((i) => this.memberEnded(group, `the engine in the head container ended (exit ${i.ExitCode ?? 'unknown'})`, i.ExitCode ?? null))
        .catch(() => this.memberEnded(group, 'the engine in the head container ended', null));
    });
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
    const fns = [...group.exitFns];
    group.exitFns.clear();
    group.log.end();
    for (const fn of fns) fn(code, signal);
  }

  private async removeAll(group: Group): Promise<void> {
    await Promise.all(group.members.map((m) => removeUntilGone(m.docker, m.id)));
  }
}

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
