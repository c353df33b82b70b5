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
 *
 * Members carry `aima.span=<service id>`, not `aima.service`, so the single-container Docker
 * runtime neither adopts nor removes them. A group is not adopted by a later core: a start
 * removes what an earlier one left.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import { AimaError } from '../../shared/errors.js';
import type { HealthSpec } from '../engines/catalog-schema.js';
import type { Operations } from '../operations/operations.js';
import { imageForStart } from '../runtimes/docker/images.js';
import { removeUntilGone } from '../runtimes/docker/remove.js';
import { tailLines } from '../runtimes/native/log-file.js';
import { probeHttp } from '../runtimes/probe.js';
import type { EngineHandle, PlanInput, ProbeResult, Runtime, StartHooks, StopOptions, StopResult } from '../runtimes/types.js';
import { parseRayStatus, rayReadiness } from './ray-status.js';
import { planSpan, type SpanPlanInput } from './span-plan.js';
import { SPAN_LABEL, type SpanMember, type SpanPlan } from './span.js';

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
  plan: SpanMember;
  docker: Docker;
  id: string;
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const statusOf = (err: unknown) => (err as { statusCode?: number }).statusCode;

export class SpanRuntime implements Runtime<SpanPlan> {
  private readonly groups = new Map<string, Group>();
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
    const group: Group = { serviceId: plan.serviceId, members: [], alive: true, ended: false, exitFns: new Set([hooks.onExit]), log, abort: new AbortController(), streams: [] };
    this.groups.set(plan.serviceId, group);
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

  /** Groups are not adopted: a later start removes what an earlier core left (see the file's comment). */
  adopt(): EngineHandle | null {
    return null;
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

  /** Stops following the groups (their containers keep running; the next start of each service replaces them). */
  close(): void {
    for (const group of this.groups.values()) {
      group.ended = true;
      group.abort.abort();
      for (const st of group.streams) (st as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
      group.log.end();
    }
    this.groups.clear();
  }

  // ---------------------------------------------------------------- internals

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
      Labels: m.labels,
      HostConfig: {
        // Ray, NCCL and the engine use the node's own addresses and ports.
        NetworkMode: 'host',
        Mounts: m.mounts.map((x) => ({ Type: 'bind' as const, Source: x.source, Target: x.target, ReadOnly: x.readOnly })),
        ...(m.memoryBytes !== null ? { Memory: m.memoryBytes } : {}),
        ...(m.nanoCpus !== null ? { NanoCpus: m.nanoCpus } : {}),
        ...(m.shmSizeBytes !== null ? { ShmSize: m.shmSizeBytes } : {}),
        ...(m.gpus !== null ? { DeviceRequests: [m.gpus.length === 0 ? { Count: -1, Capabilities: [['gpu']] } : { DeviceIDs: m.gpus.map(String), Capabilities: [['gpu']] }] } : {}),
      },
    });
    const member: Member = { plan: m, docker, id: container.id };
    const stream = await container.attach({ stream: true, stdout: true, stderr: true });
    group.streams.push(stream);
    docker.modem.demuxStream(stream, group.log, group.log);
    stream.on('error', () => {});
    // Asked before the start, so no end is missed; `next-exit` (not the default `not-running`, which a created container already is).
    void container
      .wait({ condition: 'next-exit', abortSignal: group.abort.signal })
      .then((r: { StatusCode?: number }) => this.memberEnded(group, `the ${m.role} on node ${m.node} ended (exit ${r.StatusCode ?? 'unknown'})`, r.StatusCode ?? null))
      .catch(() => this.memberEnded(group, `the ${m.role} on node ${m.node} is gone`, null));
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
    group.streams.push(stream);
    head.docker.modem.demuxStream(stream, group.log, group.log);
    stream.on('error', () => {});
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
