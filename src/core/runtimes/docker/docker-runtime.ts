/**
 * The Docker runtime of one node (Docker engine): a service is one container labelled
 * `aima.service=<service id>`, created from the plan (model mounted read-only, port published on
 * 127.0.0.1 — on another machine's node, where its ContainerReach says: the node's loopback behind
 * an SSH tunnel, or its address with TLS and a key —, memory/CPU limits, GPU device requests),
 * its output demultiplexed into the service's log file, ended with `docker stop` (SIGTERM, SIGKILL
 * after the grace period) and removed. One `docker events` stream, filtered by
 * the label, drives liveness: die/oom/destroy reach the supervisor within milliseconds, for
 * containers we started (StartHooks.onExit) and adopted ones (isAlive, watch). At core start,
 * this install's running containers are adopted by label and its dead ones are removed; other
 * installs' containers on the same daemon are left alone (see init).
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import type Docker from 'dockerode';
import { AimaError } from '../../../shared/errors.js';
import type { HealthSpec } from '../../engines/catalog-schema.js';
import type { Operations } from '../../operations/operations.js';
import { tailLines } from '../native/log-file.js';
import { probeHttp } from '../probe.js';
import type { DockerPlan, EngineHandle, PlanInput, ProbeResult, Runtime, StartHooks, StopOptions, StopResult } from '../types.js';
import { imageForStart } from './images.js';
import { removeUntilGone } from './remove.js';
import { INSTALL_LABEL, SERVICE_LABEL, containerNameFor, planDocker, type DockerHostFacts } from './plan.js';
import { LOCAL_NODE } from '../../nodes/node-facts.js';
import { putContainerFiles } from '../../nodes/reach/container-files.js';
import { directUpstream, type ContainerReach, type EngineUpstream } from '../../nodes/reach/container-reach.js';
import { dockerMounts } from './mounts.js';

type ExitFn = (code: number | null, signal: string | null) => void;

interface Tracked {
  id: string;
  serviceId: string;
  alive: boolean;
  oom: boolean;
  exited: boolean;
  exitFns: Set<ExitFn>;
  logOut: WriteStream | null;
  logIn: NodeJS.ReadableStream | null;
  died: Promise<void>;
  markDied: () => void;
  /** Where it is reached (through a tunnel on an SSH node); closed when it is gone. */
  upstream: EngineUpstream | null;
}

interface DockerEvent {
  Type?: string;
  Action?: string;
  status?: string;
  id?: string;
  time?: number;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}

export interface DockerRuntimeOptions {
  /** The client, or a function that creates it on first use (loading dockerode is slow). */
  docker: Docker | (() => Docker);
  facts: DockerHostFacts;
  /** This install's id (config/install-id.ts): in every container's name and labels. */
  installId: string;
  /** Pulls run as operations (progress in `operation.progress`). */
  operations?: Operations;
  /** One line per adoption of an earlier version's container. */
  log?: (line: string) => void;
  /** The node (engine) this runtime drives; handles carry it. Default `local`. */
  node?: string;
  /** Another machine's node: how its engines are reached safely (an SSH tunnel, or TLS with a key). */
  reach?: ContainerReach;
}

const LABEL_LOG = 'aima.log';
const LABEL_HOST = 'aima.host';
const LABEL_PORT = 'aima.port';
/** `tls` on a container whose engine serves TLS with a key (a TCP node). */
const LABEL_REACH = 'aima.reach';

const statusOf = (err: unknown) => (err as { statusCode?: number }).statusCode;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class DockerRuntime implements Runtime<DockerPlan> {
  readonly node: string;
  private client: Docker | (() => Docker);
  private facts: DockerHostFacts;
  private readonly operations?: Operations;
  private readonly installId: string;
  private readonly log: (line: string) => void;
  private readonly tracked = new Map<string, Tracked>();
  /** Running containers found at init, by service id, waiting to be adopted. */
  private readonly adoptable = new Map<string, { id: string; pid: number; upstream: EngineUpstream; logFile: string }>();
  private readonly reach: ContainerReach | null;
  private events: NodeJS.ReadableStream | null = null;
  private eventsReady: Promise<void> | null = null;
  private lastEventAt = 0;
  private closed = false;

  constructor(opts: DockerRuntimeOptions) {
    this.client = opts.docker;
    this.facts = opts.facts;
    this.operations = opts.operations;
    this.installId = opts.installId;
    this.log = opts.log ?? (() => {});
    this.node = opts.node ?? LOCAL_NODE;
    this.reach = opts.reach ?? null;
  }

  private get docker(): Docker {
    if (typeof this.client === 'function') this.client = this.client();
    return this.client;
  }

  /** Updates the hardware facts plans are made with (after a hardware detection). */
  setFacts(facts: Partial<DockerHostFacts>): void {
    this.facts = { ...this.facts, ...facts };
  }

  /** On another machine's node, an engine that cannot be reached safely there is refused here. */
  plan(input: PlanInput): DockerPlan {
    const plan = planDocker(input, this.facts, this.installId);
    const tls = this.reach?.check(input.engine);
    return tls ? { ...plan, tls, healthUrl: plan.healthUrl.replace(/^http:/, 'https:') } : plan;
  }

  /**
   * Finds this install's containers (by label): running ones become adoptable, dead ones are
   * removed. Another install's containers (another `aima.install`) are never touched.
   *
   * A container made before containers carried the install id has only `aima.service`: it is
   * this install's when that service id is one of `ownServices` (service ids are UUIDs, so no
   * other install has it). Docker cannot relabel a container, so such a running container is
   * adopted by its service id (as every container is), renamed from `aima-<name>` to this
   * install's name (`docker rename` works while it runs, so an upgrade keeps the engine), and
   * from then on stays recognised by its service id until it ends; its replacement carries the
   * label. A dead one of ours is removed; one with an unknown service id may be another
   * install's, and is left for it. Without a reachable daemon there is nothing to adopt, and
   * nothing fails; the answer says whether the daemon answered.
   */
  async init(ownServices: ReadonlyMap<string, string> = new Map()): Promise<boolean> {
    let list: Docker.ContainerInfo[];
    let timer: NodeJS.Timeout | undefined;
    try {
      // A DOCKER_HOST that does not answer must not hold up the core's start.
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('Docker did not answer within 3 s')), 3000);
      });
      list = await Promise.race([this.docker.listContainers({ all: true, filters: { label: [SERVICE_LABEL] } }), timeout]);
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
    for (const c of list) {
      const serviceId = c.Labels[SERVICE_LABEL];
      if (!serviceId) continue;
      const install = c.Labels[INSTALL_LABEL];
      const legacy = install === undefined;
      if (legacy ? !ownServices.has(serviceId) : install !== this.installId) continue;
      if (c.State !== 'running') {
        await this.docker.getContainer(c.Id).remove({ force: true }).catch(() => {});
        continue;
      }
      const info = await this.docker
        .getContainer(c.Id)
        .inspect()
        .catch(() => null);
      if (!info?.State.Running) continue;
      if (legacy) await this.renameLegacy(c.Id, info.Name, containerNameFor(this.installId, ownServices.get(serviceId)!));
      await this.makeAdoptable(serviceId, c, info.State.Pid);
    }
    if (this.adoptable.size > 0) await this.ensureEvents();
    return true;
  }

  /**
   * After the node was silent: the running containers of `serviceIds` (services that lost sight
   * of their engine) become adoptable again, in place of what was tracked of them; a container
   * of this install whose service is not in `known` (removed while the node was silent) is
   * removed. Throws when the daemon does not answer.
   */
  async rescan(serviceIds: ReadonlySet<string>, known: ReadonlySet<string>): Promise<void> {
    await this.ensureEvents();
    const list = await this.docker.listContainers({ all: true, filters: { label: [`${INSTALL_LABEL}=${this.installId}`] } });
    for (const c of list) {
      const serviceId = c.Labels[SERVICE_LABEL];
      if (!serviceId) continue;
      if (!known.has(serviceId)) {
        await this.docker.getContainer(c.Id).remove({ force: true }).catch(() => {});
        continue;
      }
      if (!serviceIds.has(serviceId) || c.State !== 'running') continue;
      const old = this.tracked.get(c.Id);
      if (old) {
        old.exitFns.clear();
        this.untrack(old);
      }
      const info = await this.docker
        .getContainer(c.Id)
        .inspect()
        .catch(() => null);
      if (info?.State.Running) await this.makeAdoptable(serviceId, c, info.State.Pid);
    }
  }

  /** On another machine's node, what reaches the container (a tunnel, the stored key) is opened here. */
  private async makeAdoptable(serviceId: string, c: Docker.ContainerInfo, pid: number): Promise<void> {
    // A port Docker chose (label 0) is read from the container's published ports.
    const port = Number(c.Labels[LABEL_PORT]) || (c.Ports.find((p) => p.PublicPort)?.PublicPort ?? 0);
    let upstream = directUpstream(c.Labels[LABEL_HOST] ?? '127.0.0.1', port);
    if (this.reach) {
      try {
        upstream = await this.reach.open(serviceId, port, c.Labels[LABEL_REACH] === 'tls');
      } catch (err) {
        // Not adoptable without a way to reach it: the supervisor starts the service afresh.
        this.log(`cannot reach container ${c.Id.slice(0, 12)} of service ${serviceId}: ${(err as Error).message}`);
        return;
      }
    }
    void this.adoptable.get(serviceId)?.upstream.close();
    this.adoptable.set(serviceId, { id: c.Id, pid, upstream, logFile: c.Labels[LABEL_LOG] ?? '' });
  }

  async start(plan: DockerPlan, hooks: StartHooks): Promise<EngineHandle> {
    await this.ensureEvents();
    const engineId = plan.labels['aima.engine'] ?? plan.serviceName;
    const log = this.openLog(plan.logFile);
    const image = await imageForStart(this.docker, { engineId, images: plan.images, skipped: plan.skippedImages, label: `Pulling the image for ${plan.serviceName}`, log, operations: this.operations });

    // One container per service: whatever an earlier run left behind goes first.
    await this.removeByService(plan.serviceId);
    const tls = plan.tls && this.reach ? this.reach.issue(plan.serviceId, plan.tls) : null;
    const cmd = [...plan.cmd, ...(tls?.args ?? [])];
    // The key is an argument of the engine's: the log shows its flag, not its value.
    const shown = tls ? cmd.map((a) => (a === tls.apiKey ? '<key>' : a)) : cmd;
    log.write(`--- aima ${new Date().toISOString()}: starting ${plan.serviceName}: container ${plan.containerName} from ${image}${shown.length ? ' ' + shown.join(' ') : ''}\n`);

    const portKey = `${plan.containerPort}/tcp`;
    const create = () =>
      this.docker.createContainer({
        name: plan.containerName,
        Image: image,
        ...(plan.entrypoint ? { Entrypoint: plan.entrypoint } : {}),
        Cmd: cmd,
        Env: Object.entries(plan.env).map(([k, v]) => `${k}=${v}`),
        Labels: { ...plan.labels, [LABEL_LOG]: plan.logFile, [LABEL_HOST]: plan.host, [LABEL_PORT]: String(plan.port), ...(tls ? { [LABEL_REACH]: 'tls' } : {}) },
        ExposedPorts: { [portKey]: {} },
        HostConfig: {
          PortBindings: { [portKey]: [{ HostIp: plan.host, HostPort: plan.port === 0 ? '' : String(plan.port) }] },
          Mounts: dockerMounts(plan.mounts),
          ...(plan.memoryBytes !== null ? { Memory: plan.memoryBytes } : {}),
          ...(plan.nanoCpus !== null ? { NanoCpus: plan.nanoCpus } : {}),
          ...(plan.shmSizeBytes !== null ? { ShmSize: plan.shmSizeBytes } : {}),
          ...(plan.gpus !== null
            ? { DeviceRequests: [plan.gpus.length === 0 ? { Count: -1, Capabilities: [['gpu']] } : { DeviceIDs: plan.gpus.map(String), Capabilities: [['gpu']] }] }
            : {}),
        },
      });
    let container: Docker.Container;
    try {
      container = await create().catch(async (err: unknown) => {
        if (statusOf(err) !== 409) throw err;
        await this.clearNameFor(plan);
        return create();
      });
    } catch (err) {
      log.end();
      if (err instanceof AimaError) throw err;
      throw new AimaError('unavailable', `Docker refused to create the container for "${plan.serviceName}": ${(err as Error).message}`, 'See `docker info`; the engine entry may ask for something this daemon lacks.');
    }

    const t = this.track(container.id, plan.serviceId);
    t.exitFns.add(hooks.onExit);
    t.logOut = log;
    try {
      // Attach before start, so the first line the engine prints is in the log.
      const stream = await container.attach({ stream: true, stdout: true, stderr: true });
      this.pipeLogs(t, stream);
      if (tls) await putContainerFiles(container, tls.files);
      await container.start();
      const info = await container.inspect();
      if (!info.State.Running && !t.exited) {
        // Died before inspect: the die event delivers the exit; report it as a quick exit.
        await Promise.race([t.died, sleep(1000)]);
      }
      const port = plan.port || Number(info.NetworkSettings.Ports?.[portKey]?.[0]?.HostPort ?? 0);
      const handle: EngineHandle = { pid: info.State.Pid || 0, startTime: null, ownChild: true, host: plan.host, port, logFile: plan.logFile, containerId: container.id, node: this.node };
      if (!this.reach || t.exited) return handle;
      t.upstream = await this.reach.open(plan.serviceId, port, tls !== null);
      return { ...handle, ...this.reached(t.upstream) };
    } catch (err) {
      t.exitFns.clear();
      this.untrack(t);
      await container.remove({ force: true }).catch(() => {});
      throw new AimaError('unavailable', `Docker could not start the container for "${plan.serviceName}": ${(err as Error).message}`, 'See `aima service logs` and `docker info`.');
    }
  }

  probe(handle: EngineHandle, health: HealthSpec): Promise<ProbeResult> {
    return probeHttp(handle.host, handle.port, health, undefined, handle.tls);
  }

  async logs(logFile: string, lines: number): Promise<string[]> {
    return tailLines(logFile, lines);
  }

  isAlive(handle: EngineHandle): boolean {
    if (!handle.containerId) return false;
    return this.tracked.get(handle.containerId)?.alive ?? false;
  }

  adopt(pidFile: string, serviceId?: string): EngineHandle | null {
    const id = serviceId ?? path.basename(pidFile, '.pid');
    const found = this.adoptable.get(id);
    if (!found) return null;
    this.adoptable.delete(id);
    const t = this.track(found.id, id);
    t.upstream = found.upstream;
    if (found.logFile) {
      t.logOut = this.openLog(found.logFile);
      void this.docker
        .getContainer(found.id)
        .logs({ follow: true, stdout: true, stderr: true, since: Math.floor(Date.now() / 1000) })
        .then((stream) => this.pipeLogs(t, stream as NodeJS.ReadableStream))
        .catch(() => {});
    }
    return { pid: found.pid, startTime: null, ownChild: false, logFile: found.logFile, containerId: found.id, node: this.node, ...this.reached(found.upstream) };
  }

  watch(handle: EngineHandle, onExit: ExitFn): () => void {
    const t = handle.containerId ? this.tracked.get(handle.containerId) : undefined;
    if (!t) {
      queueMicrotask(() => onExit(null, null));
      return () => {};
    }
    t.exitFns.add(onExit);
    return () => t.exitFns.delete(onExit);
  }

  async stop(handle: EngineHandle, opts: StopOptions): Promise<StopResult> {
    const id = handle.containerId;
    if (!id) return { escalated: false };
    const container = this.docker.getContainer(id);
    const t = this.tracked.get(id);
    const began = Date.now();
    try {
      if (opts.force) await container.kill();
      else await container.stop({ t: Math.ceil(opts.graceMs / 1000) });
    } catch (err) {
      // 304: already stopped; 404: already gone; 409: being removed.
      if (![304, 404, 409].includes(statusOf(err) ?? 0)) throw err;
    }
    if (t) await Promise.race([t.died, sleep(5000)]);
    await removeUntilGone(this.docker, id);
    return { escalated: !opts.force && Date.now() - began >= opts.graceMs && opts.graceMs > 0 };
  }

  /** A removed service's credentials go with it. */
  forget(serviceId: string): void {
    this.reach?.forget(serviceId);
  }

  /** Stops following events and logs and closes the tunnels; containers keep running (the next core adopts them). */
  close(): void {
    this.closed = true;
    (this.events as (NodeJS.ReadableStream & { destroy?: () => void }) | null)?.destroy?.();
    for (const t of this.tracked.values()) this.closeLogs(t);
    for (const a of this.adoptable.values()) void a.upstream.close();
    void this.reach?.close();
  }

  // ---------------------------------------------------------------- internals

  /** The handle's address fields for an upstream: where the gateway and the probe connect. */
  private reached(up: Pick<EngineUpstream, 'host' | 'port' | 'tls'>): Pick<EngineHandle, 'host' | 'port' | 'tls'> {
    return { host: up.host, port: up.port, ...(up.tls ? { tls: up.tls } : {}) };
  }

  /** An earlier version's container of ours gets this install's name (it keeps running). */
  private async renameLegacy(id: string, oldName: string, name: string): Promise<void> {
    const from = oldName.replace(/^\//, '');
    if (from === name) return;
    try {
      await this.docker.getContainer(id).rename({ name });
      this.log(`adopted container ${from}, made by an earlier AIMA version, and renamed it ${name}`);
    } catch (err) {
      // Adoption goes by service id, so a kept old name costs nothing but the look.
      this.log(`adopted container ${from}, made by an earlier AIMA version; could not rename it ${name}: ${(err as Error).message}`);
    }
  }

  /**
   * Docker's 409 on create: another container has the name. One of this install's (a removed
   * service's leftover) goes, and the create is tried again; anyone else's is named in the error.
   */
  private async clearNameFor(plan: DockerPlan): Promise<void> {
    const info = await this.docker
      .getContainer(plan.containerName)
      .inspect()
      .catch(() => null);
    if (!info) return;
    const labels = info.Config.Labels ?? {};
    if (labels[INSTALL_LABEL] === this.installId && !this.tracked.has(info.Id)) {
      await removeUntilGone(this.docker, info.Id);
      return;
    }
    const whose = labels[INSTALL_LABEL] ? `another AIMA install's (install id ${labels[INSTALL_LABEL]})` : labels[SERVICE_LABEL] ? `service ${labels[SERVICE_LABEL]}'s` : 'not made by AIMA';
    throw new AimaError(
      'conflict',
      `Docker already has a container named ${plan.containerName} (${info.Id.slice(0, 12)}, ${whose}), so the one for "${plan.serviceName}" cannot be created.`,
      `If it is left over, remove it with \`docker rm -f ${plan.containerName}\`; then start "${plan.serviceName}" again.`,
    );
  }

  private openLog(file: string): WriteStream {
    mkdirSync(path.dirname(file), { recursive: true });
    return createWriteStream(file, { flags: 'a', mode: 0o600 });
  }

  private pipeLogs(t: Tracked, stream: NodeJS.ReadableStream): void {
    t.logIn = stream;
    const out = t.logOut;
    if (!out) return;
    this.docker.modem.demuxStream(stream, out, out);
    stream.on('error', () => {});
  }

  private closeLogs(t: Tracked): void {
    (t.logIn as (NodeJS.ReadableStream & { destroy?: () => void }) | null)?.destroy?.();
    t.logIn = null;
    t.logOut?.end();
    t.logOut = null;
  }

  private track(id: string, serviceId: string): Tracked {
    let markDied!: () => void;
    const died = new Promise<void>((r) => (markDied = r));
    const t: Tracked = { id, serviceId, alive: true, oom: false, exited: false, exitFns: new Set(), logOut: null, logIn: null, died, markDied, upstream: null };
    this.tracked.set(id, t);
    return t;
  }

  private untrack(t: Tracked): void {
    this.closeLogs(t);
    this.closeUpstream(t);
    this.tracked.delete(t.id);
  }

  private closeUpstream(t: Tracked): void {
    void t.upstream?.close();
    t.upstream = null;
  }

  private async removeByService(serviceId: string): Promise<void> {
    const list = await this.docker.listContainers({ all: true, filters: { label: [`${SERVICE_LABEL}=${serviceId}`] } });
    for (const c of list) {
      const t = this.tracked.get(c.Id);
      if (t) {
        t.exitFns.clear();
        this.untrack(t);
      }
      await this.docker.getContainer(c.Id).remove({ force: true }).catch(() => {});
    }
  }

  /** die/destroy: the container is gone; tell whoever waits, once, and clean up after it. */
  private onGone(t: Tracked, code: number | null): void {
    if (t.exited) return;
    t.exited = true;
    t.markDied();
    // Let the demuxer flush the engine's last lines into the file before the supervisor reads it.
    // Until then isAlive still says alive, so the supervisor's poll does not report the exit
    // first without its exit code.
    setTimeout(() => {
      t.alive = false;
      this.closeLogs(t);
      this.closeUpstream(t);
      const signal = t.oom ? 'SIGKILL (out of memory)' : null;
      for (const fn of t.exitFns) fn(code, signal);
      t.exitFns.clear();
      this.tracked.delete(t.id);
      // A crashed container is not kept: its output is in the log file.
      void this.docker.getContainer(t.id).remove({ force: true }).catch(() => {});
    }, 50);
  }

  private handleEvent(ev: DockerEvent): void {
    if (ev.time) this.lastEventAt = ev.time;
    const id = ev.Actor?.ID ?? ev.id;
    if (!id) return;
    const t = this.tracked.get(id);
    if (!t) return;
    const action = ev.Action ?? ev.status ?? '';
    if (action === 'oom') t.oom = true;
    else if (action === 'die') {
      const raw = ev.Actor?.Attributes?.exitCode;
      this.onGone(t, raw !== undefined ? Number(raw) : null);
    } else if (action === 'destroy') this.onGone(t, null);
  }

  /** Opens (or reopens after a daemon restart) the label-filtered event stream. */
  private ensureEvents(): Promise<void> {
    if (this.eventsReady) return this.eventsReady;
    this.eventsReady = (async () => {
      const since = this.lastEventAt || undefined;
      const stream = await this.docker.getEvents({ ...(since ? { since } : {}), filters: { type: ['container'], label: [SERVICE_LABEL] } });
      this.events = stream;
      let buf = '';
      stream.on('data', (chunk: Buffer) => {
        buf += chunk.toString('utf8');
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (!line) continue;
          try {
            this.handleEvent(JSON.parse(line) as DockerEvent);
          } catch {}
        }
      });
      const reopen = () => {
        if (this.events !== stream) return;
        this.events = null;
        this.eventsReady = null;
        if (this.closed) return;
        // The daemon went away: containers it ran are gone with it, or come back with it.
        setTimeout(() => void this.recheck(), 500).unref();
      };
      stream.on('end', reopen);
      stream.on('close', reopen);
      stream.on('error', reopen);
    })().catch((err: unknown) => {
      this.eventsReady = null;
      throw new AimaError('unavailable', `Cannot follow Docker events: ${(err as Error).message}`, 'Check that Docker is running (`docker info`).');
    });
    return this.eventsReady;
  }

  /** After losing the event stream: reopen it and re-check every tracked container. */
  private async recheck(): Promise<void> {
    if (this.closed) return;
    try {
      await this.ensureEvents();
    } catch {
      setTimeout(() => void this.recheck(), 2000).unref();
    }
    for (const t of [...this.tracked.values()]) {
      const info = await this.docker
        .getContainer(t.id)
        .inspect()
        .catch((err: unknown) => (statusOf(err) === 404 ? null : undefined));
      if (info === null) this.onGone(t, null);
      else if (info && !info.State.Running) this.onGone(t, info.State.ExitCode);
    }
  }
}

/** The labels where a container says where its engine serves and logs, and that it serves TLS (the group runtime labels its members the same way). */
export { LABEL_HOST, LABEL_LOG, LABEL_PORT, LABEL_REACH };
