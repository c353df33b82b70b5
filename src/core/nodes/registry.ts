/**
 * The nodes AIMA knows: the local engine (`local`, always there) and the engines added with
 * `nodes.add`, each with its dockerode client, its last facts and, for other machines, a
 * heartbeat: a ping every `heartbeatMs`; a node that has not answered for `lostAfterMs` is
 * unreachable (listeners hear it at once, so its services are marked `unreachable`), and the
 * first answer after that makes it reachable again (and its services are adopted again).
 */
import type Docker from 'dockerode';
import type { z } from 'zod';
import type { NodeAddParams, NodeClusterLink, NodeSetParams, NodeSummary } from '../../shared/contract/nodes.js';
import { AimaError } from '../../shared/errors.js';
import { describeEndpoint, type ContainerPlatform } from '../runtimes/docker/platform.js';
import type { SecretStore } from '../secrets/secret-store.js';
import type { NodeRecord, NodesRepo } from '../store/repositories/nodes-repo.js';
import { createNodeClient, nodeDockerOptions, sshIdentitySecret, sshTarget, storedTlsFiles, tlsKeySecret, type NodeSshOptions } from './connect.js';
import { checkSshDocker } from './ssh/docker-ssh.js';
import type { SshLink } from './ssh/ssh-link.js';
import type { NodeTransport } from './reach/remote-reach.js';
import { SshNodes } from './ssh/ssh-nodes.js';
import { formatNodeEndpoint, parseNodeEndpoint } from './endpoint.js';
import { readNodeFacts, type FactsStep } from './facts.js';
import type { OperationContext } from '../operations/operations.js';
import { LOCAL_NODE, type NodeFacts } from './node-facts.js';
import { nextClusterLink } from './cluster-link.js';
import { readNodeTlsFiles } from './tls-files.js';

export interface NodeRegistryOptions {
  repo: NodesRepo;
  secrets: SecretStore;
  /** The local engine's client (created on first use: dockerode is slow to load). */
  localClient: () => Docker;
  heartbeatMs?: number;
  lostAfterMs?: number;
  /** How long `nodes.add` and a facts read wait for the engine. */
  connectTimeoutMs?: number;
  /** Test seam: replaces the read of an added node's facts (its client and engine; stand-in GPUs on a machine without any). */
  readFacts?: (name: string) => Promise<{ facts: NodeFacts; gpuNote: string | null }>;
}

export type ReachabilityListener = (node: string, reachable: boolean, error: string | null) => void;

interface Entry {
  name: string;
  record: NodeRecord | null;
  /** How the other nodes of a span reach it (every node may have one, `local` too). */
  link: NodeClusterLink | null;
  client: Docker | null;
  facts: NodeFacts | null;
  gpuNote: string | null;
  checkedAt: number | null;
  reachable: boolean | null;
  error: string | null;
  lastOkAt: number;
  pinging: boolean;
  timer: NodeJS.Timeout | null;
  /** The facts read under way, which later askers share. */
  reading: Promise<void> | null;
}

const FACTS_MAX_AGE_MS = 60_000;

/** A failed connection to another machine's engine in words, with the fix (the local engine's come from the platform check). */
export function describeNodeFailure(name: string, dockerUrl: string, p: Exclude<ContainerPlatform, { status: 'running' }>): string {
  const where = `Node "${name}" (${dockerUrl})`;
  // An SSH node's failure (its host key, credentials or handshake: SshNodeError's words) is never a TLS one.
  if (parseNodeEndpoint(dockerUrl).kind === 'ssh') {
    return `${where} cannot be reached over SSH: ${p.error}. Check that \`ssh\` to that address works from here with the node's key and known_hosts, and that \`docker version\` runs there for that user.`;
  }
  if (/certificate|self[- ]signed|SSL|TLS|handshake|alert/i.test(p.error)) {
    return `${where} refused the TLS connection: ${p.error}. The engine's certificate must be issued by ca.pem in --tls-dir (for this host name or address), and the engine's --tlscacert must have issued cert.pem.`;
  }
  switch (p.status) {
    case 'timeout':
      return `${where} did not answer within the time allowed (${p.error}). Check that the machine is on and reachable from here, and that a firewall lets the port through.`;
    case 'not-running':
    case 'permission-denied':
      return `${where} cannot be reached: ${p.error}. Check that dockerd listens there with TLS (\`dockerd --tlsverify -H tcp://0.0.0.0:2376 ...\`) and that this machine can reach it.`;
    case 'error':
      return `${where} answered with an error: ${p.error}. See the engine's log on that machine.`;
  }
}

export class NodeRegistry {
  private readonly entries = new Map<string, Entry>();
  private readonly listeners = new Set<ReachabilityListener>();
  private readonly changeListeners = new Set<() => void>();
  private readonly removeListeners = new Set<(node: string) => void>();
  private readonly heartbeatMs: number;
  private readonly lostAfterMs: number;
  private readonly connectTimeoutMs: number;
  /** One SSH link per SSH node, shared by its Docker clients (heartbeat, runtime, facts). */
  private readonly sshNodes = new SshNodes();
  /** Names being added now: a second add of one of them is refused, not raced. */
  private readonly adding = new Set<string>();
  private closed = false;

  constructor(private readonly opts: NodeRegistryOptions) {
    this.heartbeatMs = opts.heartbeatMs ?? 400;
    this.lostAfterMs = opts.lostAfterMs ?? 1200;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 5_000;
    const links = opts.repo.links();
    this.entries.set(LOCAL_NODE, this.newEntry(LOCAL_NODE, null, links.get(LOCAL_NODE) ?? null));
    for (const record of opts.repo.list()) {
      this.entries.set(record.name, this.newEntry(record.name, record, links.get(record.name) ?? null));
      this.watch(record.name);
    }
  }

  /** Every node's name, `local` first. */
  names(): string[] {
    return [...this.entries.keys()];
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** The node's dockerode client; throws not-found with the fix for an unknown name. */
  client(name: string): Docker {
    const e = this.require(name);
    if (!e.client) e.client = e.record ? this.clientFor(e.record) : this.opts.localClient();
    return e.client;
  }

  /** The node's facts as last read (null before the first read). */
  facts(name: string): NodeFacts | null {
    return this.entries.get(name)?.facts ?? null;
  }

  /** How the other nodes of a span reach this one (Ray, NCCL, Gloo), or null while none is set. */
  clusterLink(name: string): NodeClusterLink | null {
    return this.entries.get(name)?.link ?? null;
  }

  /**
   * Changes a node's settings (`local`'s too): its cluster link, only the fields given. Throws
   * not-found for an unknown node and bad-request for nothing to change or an interface without
   * an address; nothing is saved on a refusal.
   */
  set(p: z.output<typeof NodeSetParams>): NodeSummary {
    const e = this.require(p.name);
    if (p.clusterAddress === undefined && p.clusterInterface === undefined) {
      throw new AimaError('bad-request', `Nothing to change on node "${p.name}".`, `Give --cluster-address IP (or none) and/or --cluster-interface IF: \`aima node set ${p.name} --cluster-address 10.0.0.2 --cluster-interface enp1s0f1np1\`.`);
    }
    const link = nextClusterLink(p.name, e.link, p);
    this.opts.repo.setLink(p.name, link);
    e.link = link;
    this.changed();
    return this.summary(e);
  }

  /** The node's address as its Docker endpoint names it (a published port of a service there listens on it). */
  address(name: string): string | null {
    const record = this.entries.get(name)?.record;
    return record ? parseNodeEndpoint(record.dockerUrl).host : null;
  }

  /** How AIMA talks to the node's engine (`local` for this machine's and for an unknown name). */
  transport(name: string): NodeTransport {
    return this.entries.get(name)?.record?.transport ?? 'local';
  }

  /** An SSH node's kept connection, shared with its Docker calls (tunnels to its engines ride it); null for other nodes. */
  sshLink(name: string): SshLink | null {
    const record = this.entries.get(name)?.record;
    if (record?.transport !== 'ssh') return null;
    const endpoint = parseNodeEndpoint(record.dockerUrl);
    return endpoint.kind === 'ssh' ? this.sshNodes.get(sshTarget(endpoint, this.sshOptions(record))).link : null;
  }

  /** The reason a node does not answer, or null. */
  unreachableReason(name: string): string | null {
    const e = this.entries.get(name);
    return e?.reachable === false ? e.error : null;
  }

  onReachability(listener: ReachabilityListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Called when a node is removed (whoever holds something per node lets it go). */
  onRemove(listener: (node: string) => void): () => void {
    this.removeListeners.add(listener);
    return () => this.removeListeners.delete(listener);
  }

  /** Called when the list changes (a node added, changed or removed, reachability, new facts). */
  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /**
   * Every node's summary; facts older than a minute (or all, with refresh) are read again first —
   * except a node the heartbeat has lost, whose read would only wait out its timeout.
   */
  async list(refresh = false): Promise<NodeSummary[]> {
    await Promise.all([...this.entries.values()].filter((e) => refresh || this.stale(e)).map((e) => this.readFacts(e)));
    return this.summaries();
  }

  /**
   * Reads the facts of the named nodes that have none yet (as after a core start) or older than a
   * minute, in parallel, each within the connect timeout; a node the heartbeat has lost is not
   * asked (its facts say it is unreachable). Unknown names are left to the caller's refusal.
   */
  async fresh(names: readonly string[]): Promise<void> {
    const entries = names.map((n) => this.entries.get(n)).filter((e): e is Entry => e !== undefined && this.stale(e));
    await Promise.all(entries.map((e) => this.readFacts(e)));
  }

  /** The summaries as last read, without asking any engine. */
  summaries(): NodeSummary[] {
    return [...this.entries.values()].map((e) => this.summary(e));
  }

  /**
   * Adds a node after checking everything first: the name is free, the endpoint parses, the TLS
   * files are good, and the engine answers with them. Nothing is saved on a refusal or a cancel.
   *
   * With `op` (the operations framework: `nodes.add`'s `operationId`), each step is reported as it
   * begins — the checks here, the SSH connection (host key, credentials, docker there), the
   * engine's `version`/`info`, the GPUs (nvidia-smi in a container, only with the NVIDIA runtime),
   * saving — and a cancel stops the step under way (the SSH connection closed, the GPU probe's
   * container removed) and saves nothing: the row and the secrets are written only after the last
   * network step, with no wait between the cancel check and the writes.
   */
  async add(p: z.output<typeof NodeAddParams>, op?: OperationContext): Promise<NodeSummary> {
    if (p.name === LOCAL_NODE) throw new AimaError('conflict', `"${LOCAL_NODE}" is the name of this machine's own Docker engine.`, 'Pick another name for the node.');
    if (this.entries.has(p.name)) {
      throw new AimaError('conflict', `A node named "${p.name}" already exists (${this.entries.get(p.name)!.record?.dockerUrl}).`, `Pick another name, or remove it first with \`aima node rm ${p.name}\`.`);
    }
    if (this.adding.has(p.name)) throw new AimaError('conflict', `A node named "${p.name}" is being added right now.`, 'Wait for that add to finish (or cancel it), then look at `aima node list`.');
    this.adding.add(p.name);
    try {
      return await this.addChecked(p, op);
    } finally {
      this.adding.delete(p.name);
    }
  }

  private async addChecked(p: z.output<typeof NodeAddParams>, op: OperationContext | undefined): Promise<NodeSummary> {
    const endpoint = parseNodeEndpoint(p.docker);
    // Steps as the user sees them; the GPU step is counted only once the engine says it has the NVIDIA runtime.
    let total = endpoint.kind === 'ssh' ? 4 : 3;
    let done = 0;
    const step = (message: string) => op?.report(done++, total, message);
    const cancelled = () => new AimaError('cancelled', `Adding node "${p.name}" was cancelled; nothing was saved.`, `Run \`aima node add ${p.name} …\` again when you want it.`);
    const checkCancel = () => {
      if (op?.signal.aborted) throw cancelled();
    };
    step('checking the name, the endpoint and the files');
    if (endpoint.kind === 'ssh' && p.tlsDir) throw new AimaError('bad-request', 'An SSH node takes no --tls-dir: SSH itself secures the connection.', 'Leave out --tls-dir, or use --docker tcp://host:2376.');
    if (endpoint.kind === 'tcp-tls' && !p.tlsDir) throw new AimaError('bad-request', `A TCP node needs TLS: Docker's API in clear lets anyone on the network run containers.`, 'Give --tls-dir DIR holding ca.pem, cert.pem and key.pem.');
    if (endpoint.kind === 'tcp-tls' && (p.identityFile || p.knownHostsFile)) throw new AimaError('bad-request', 'A TCP node takes no --identity-file or --known-hosts: those are for ssh:// nodes.', 'Leave them out, or use --docker ssh://user@host.');
    const link = nextClusterLink(p.name, null, p);
    const tls = endpoint.kind === 'tcp-tls' ? readNodeTlsFiles(p.tlsDir!) : null;
    const ssh: NodeSshOptions = { identityFile: p.identityFile, knownHostsFile: p.knownHostsFile };
    const dockerUrl = formatNodeEndpoint(endpoint);
    let facts: NodeFacts;
    let gpuNote: string | null;
    let client: Docker;
    try {
      // Over SSH, one connection that runs `docker version` there tells host key, credentials, CLI and daemon apart.
      if (endpoint.kind === 'ssh') {
        checkCancel();
        step(`connecting over SSH to ${endpoint.user}@${endpoint.host} (host key, credentials, docker there)`);
        await checkSshDocker(sshTarget(endpoint, ssh), op?.signal);
      }
      checkCancel();
      client = createNodeClient(nodeDockerOptions(endpoint, tls, ssh, this.sshNodes));
      const factsStep = (s: FactsStep) => {
        if (s === 'gpus') total += 1;
        step(s === 'engine' ? `asking the engine at ${dockerUrl} (docker version, info)` : 'listing the GPUs (nvidia-smi in a short-lived container there)');
      };
      ({ facts, gpuNote } = await readNodeFacts(p.name, client, (f) => describeNodeFailure(p.name, dockerUrl, f), this.connectTimeoutMs, { signal: op?.signal, step: factsStep }));
    } catch (err) {
      if (endpoint.kind === 'ssh') this.sshNodes.close(dockerUrl);
      if (op?.signal.aborted) throw cancelled();
      throw err;
    }
    if (!facts.reachable) {
      if (endpoint.kind === 'ssh') this.sshNodes.close(dockerUrl);
      throw new AimaError('unavailable', `${facts.error} The node was not added.`, `Fix the connection, then run \`aima node add ${p.name} --docker ${dockerUrl}${p.tlsDir ? ` --tls-dir ${p.tlsDir}` : ''}\` again.`);
    }
    // The last point a cancel is heard: from here to the row there is no wait.
    if (op?.signal.aborted) {
      if (endpoint.kind === 'ssh') this.sshNodes.close(dockerUrl);
      throw cancelled();
    }
    step('saving');
    if (tls) this.opts.secrets.set(tlsKeySecret(p.name), tls.key);
    if (p.identityFile) this.opts.secrets.set(sshIdentitySecret(p.name), p.identityFile);
    let record: NodeRecord;
    try {
      record = this.opts.repo.insert({ name: p.name, dockerUrl, transport: endpoint.kind, tlsCa: tls?.ca ?? null, tlsCert: tls?.cert ?? null, sshKnownHosts: p.knownHostsFile ?? null }, link);
    } catch (err) {
      this.forgetSecrets(p.name);
      throw err;
    }
    op?.report(done, total, 'added');
    const entry = this.newEntry(p.name, record, link);
    Object.assign(entry, { client, facts, gpuNote, checkedAt: Date.now(), reachable: true, lastOkAt: Date.now() });
    this.entries.set(p.name, entry);
    this.watch(p.name);
    this.changed();
    return this.summary(entry);
  }

  /** Forgets a node and its key; refused for `local` and while services are placed on it. */
  remove(name: string): void {
    if (name === LOCAL_NODE) throw new AimaError('bad-request', `"${LOCAL_NODE}" is this machine's own Docker engine and cannot be removed.`, 'Remove nodes you added with `aima node add`.');
    const e = this.require(name);
    const services = this.opts.repo.servicesOn(name);
    if (services.length > 0) {
      throw new AimaError('conflict', `Node "${name}" still has ${services.length === 1 ? 'a service' : 'services'}: ${services.map((s) => `"${s}"`).join(', ')}.`, `Remove ${services.length === 1 ? 'it' : 'them'} first (\`aima service rm ${services[0]}\`), then the node.`);
    }
    this.unwatch(e);
    if (e.record?.transport === 'ssh') this.sshNodes.close(e.record.dockerUrl);
    this.opts.repo.delete(name);
    this.forgetSecrets(name);
    this.entries.delete(name);
    for (const l of this.removeListeners) l(name);
    this.changed();
  }

  close(): void {
    this.closed = true;
    for (const e of this.entries.values()) this.unwatch(e);
    this.sshNodes.closeAll();
  }

  // ---------------------------------------------------------------- internals

  private newEntry(name: string, record: NodeRecord | null, link: NodeClusterLink | null): Entry {
    return { name, record, link, client: null, facts: null, gpuNote: null, checkedAt: null, reachable: null, error: null, lastOkAt: 0, pinging: false, timer: null, reading: null };
  }

  /** Facts never read or older than a minute, of a node the heartbeat has not lost (its read would only wait out the timeout). */
  private stale(e: Entry): boolean {
    return e.reachable !== false && (e.checkedAt === null || Date.now() - e.checkedAt > FACTS_MAX_AGE_MS);
  }

  private require(name: string): Entry {
    const e = this.entries.get(name);
    if (!e) throw new AimaError('not-found', `No node named "${name}".`, 'See `aima node list`, or add one with `aima node add`.');
    return e;
  }

  private forgetSecrets(name: string): void {
    this.opts.secrets.delete(tlsKeySecret(name));
    this.opts.secrets.delete(sshIdentitySecret(name));
  }

  private clientFor(record: NodeRecord): Docker {
    const tls = storedTlsFiles(record, record.transport === 'tcp-tls' ? this.opts.secrets.get(tlsKeySecret(record.name)) : null);
    return createNodeClient(nodeDockerOptions(parseNodeEndpoint(record.dockerUrl), tls, this.sshOptions(record), this.sshNodes));
  }

  private sshOptions(record: NodeRecord): NodeSshOptions {
    return { identityFile: this.opts.secrets.get(sshIdentitySecret(record.name)) ?? undefined, knownHostsFile: record.sshKnownHosts ?? undefined };
  }

  /** One read per node at a time: a second asker waits for the read under way. */
  private readFacts(e: Entry): Promise<void> {
    e.reading ??= this.readFactsNow(e).finally(() => {
      e.reading = null;
    });
    return e.reading;
  }

  private async readFactsNow(e: Entry): Promise<void> {
    const read = this.opts.readFacts?.(e.name) ?? this.readFromEngine(e);
    const { facts, gpuNote } = await read;
    e.facts = facts;
    e.gpuNote = gpuNote;
    e.checkedAt = Date.now();
    if (e.record) this.setReachable(e, facts.reachable, facts.error);
  }

  private async readFromEngine(e: Entry): Promise<{ facts: NodeFacts; gpuNote: string | null }> {
    let client: Docker;
    try {
      client = this.client(e.name);
    } catch (err) {
      return { facts: { name: e.name, reachable: false, error: (err as Error).message, arch: null, dockerVersion: null, cpus: null, memoryBytes: null, nvidiaRuntime: false, gpus: [] }, gpuNote: null };
    }
    const record = e.record;
    const describe = (f: Exclude<ContainerPlatform, { status: 'running' }>) => (record ? describeNodeFailure(e.name, record.dockerUrl, f) : `${f.error}. ${f.fix}`);
    return readNodeFacts(e.name, client, describe, this.connectTimeoutMs);
  }

  /** The heartbeat of another machine's node. */
  private watch(name: string): void {
    const e = this.entries.get(name);
    if (!e?.record || e.timer) return;
    e.lastOkAt = Date.now();
    e.timer = setInterval(() => this.beat(e), this.heartbeatMs);
    e.timer.unref();
  }

  private unwatch(e: Entry): void {
    if (e.timer) clearInterval(e.timer);
    e.timer = null;
  }

  private beat(e: Entry): void {
    if (this.closed || !e.timer) return;
    if (e.reachable !== false && Date.now() - e.lastOkAt > this.lostAfterMs) {
      this.setReachable(e, false, `Node "${e.name}" (${e.record?.dockerUrl}) stopped answering: no answer for ${Math.round((Date.now() - e.lastOkAt) / 100) / 10} s. Its services are adopted again when it answers.`);
    }
    if (e.pinging) return;
    e.pinging = true;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), this.lostAfterMs);
    let client: Docker;
    try {
      client = this.client(e.name);
    } catch {
      e.pinging = false;
      clearTimeout(timer);
      return;
    }
    // dockerode's ping takes an abortSignal; its typings only declare the callback form.
    void (client.ping as unknown as (o: { abortSignal: AbortSignal }) => Promise<unknown>)({ abortSignal: abort.signal })
      .then(() => {
        e.lastOkAt = Date.now();
        if (e.reachable !== true) {
          this.setReachable(e, true, null);
          void this.readFacts(e).then(() => this.changed());
        }
      })
      .catch(() => {})
      .finally(() => {
        clearTimeout(timer);
        e.pinging = false;
      });
  }

  private setReachable(e: Entry, reachable: boolean, error: string | null): void {
    const was = e.reachable;
    e.reachable = reachable;
    e.error = error;
    if (e.facts) e.facts = { ...e.facts, reachable, error: reachable ? null : error };
    if (was === reachable) return;
    if (reachable) e.lastOkAt = Date.now();
    // A node first seen answering (was null) is news only to the list; a change is news to the services too.
    if (was !== null || !reachable) for (const l of this.listeners) l(e.name, reachable, error);
    this.changed();
  }

  private changed(): void {
    if (!this.closed) for (const l of this.changeListeners) l();
  }

  private summary(e: Entry): NodeSummary {
    const f = e.facts;
    const reachable = e.record ? e.reachable !== false && (f?.reachable ?? true) : (f?.reachable ?? true);
    return {
      name: e.name,
      docker: e.record ? e.record.dockerUrl : e.client ? describeEndpoint(e.client) : 'the local engine',
      transport: e.record ? e.record.transport : 'local',
      reachable,
      error: reachable ? null : (e.error ?? f?.error ?? null),
      arch: f?.arch ?? null,
      dockerVersion: f?.dockerVersion ?? null,
      cpus: f?.cpus ?? null,
      memoryBytes: f?.memoryBytes ?? null,
      nvidiaRuntime: f?.nvidiaRuntime ?? false,
      gpus: f?.gpus ?? [],
      gpuNote: e.gpuNote,
      cluster: e.link,
      services: this.opts.repo.servicesOn(e.name),
      checkedAt: e.checkedAt !== null ? new Date(e.checkedAt).toISOString() : null,
      createdAt: e.record ? new Date(e.record.createdAt).toISOString() : null,
    };
  }
}
