/**
 * One Runtime over the implementations: plans go to the runtime their engine names — the native
 * one, the Docker runtime of the plan's node (one per node: the local engine and every other
 * machine's), or for a service spanning nodes the group runtime — and handles to the runtime that
 * made them (a group id marks the group runtime's, a container id Docker's, its node says which).
 * The supervisor sees a single Runtime, so it needs no branch on the kind of engine.
 */
import type { HealthSpec } from '../engines/catalog-schema.js';
import { AimaError } from '../../shared/errors.js';
import { assertNever } from '../../shared/assert-never.js';
import { LOCAL_NODE } from '../nodes/node-facts.js';
import type { DockerRuntime } from './docker/docker-runtime.js';
import type { NativeRuntime } from './native/native-runtime.js';
import type { SpanRuntime } from '../cluster/span-runtime.js';
import type { EngineHandle, PlanInput, ProbeResult, Runtime, RuntimePlan, StartHooks, StopOptions, StopResult } from './types.js';

/** The Docker runtimes, one per node. */
export interface DockerRuntimes {
  /** The node's runtime (made on first use); throws for an unknown node. */
  get(node: string): DockerRuntime;
  /** Every runtime made so far. */
  all(): DockerRuntime[];
}

export class RuntimeRouter implements Runtime<RuntimePlan> {
  constructor(
    private readonly native: NativeRuntime,
    private readonly docker: DockerRuntimes | null,
    private readonly span: SpanRuntime | null = null,
  ) {}

  private requireSpan(): SpanRuntime {
    if (!this.span) throw new AimaError('unavailable', 'Services across nodes are not available in this core.', 'Start AIMA where Docker is installed.');
    return this.span;
  }

  private requireDocker(node: string): DockerRuntime {
    if (!this.docker) throw new AimaError('unavailable', 'Docker engines are not available in this core.', 'Start AIMA where Docker is installed.');
    return this.docker.get(node);
  }

  plan(input: PlanInput): RuntimePlan {
    if (input.span) return this.requireSpan().plan(input);
    return input.engine.runtime === 'docker' ? this.requireDocker(input.dockerNode).plan(input) : this.native.plan(input);
  }

  start(plan: RuntimePlan, hooks: StartHooks): Promise<EngineHandle> {
    switch (plan.runtime) {
      case 'span':
        return this.requireSpan().start(plan, hooks);
      case 'docker':
        return this.requireDocker(plan.node).start(plan, hooks);
      case 'native':
        return this.native.start(plan, hooks);
      default:
        return assertNever(plan, 'runtime plan');
    }
  }

  probe(handle: EngineHandle, health: HealthSpec): Promise<ProbeResult> {
    if (handle.group) return this.requireSpan().probe(handle, health);
    return handle.containerId ? this.requireDocker(handle.node ?? LOCAL_NODE).probe(handle, health) : this.native.probe(handle, health);
  }

  logs(logFile: string, lines: number): Promise<string[]> {
    return this.native.logs(logFile, lines);
  }

  stop(handle: EngineHandle, opts: StopOptions): Promise<StopResult> {
    if (handle.group) return this.requireSpan().stop(handle, opts);
    return handle.containerId ? this.requireDocker(handle.node ?? LOCAL_NODE).stop(handle, opts) : this.native.stop(handle, opts);
  }

  adopt(pidFile: string, serviceId?: string): EngineHandle | null {
    const native = this.native.adopt(pidFile);
    if (native) return native;
    for (const docker of this.docker?.all() ?? []) {
      const handle = docker.adopt(pidFile, serviceId);
      if (handle) return handle;
    }
    return this.span?.adopt(pidFile, serviceId) ?? null;
  }

  isAlive(handle: EngineHandle): boolean {
    if (handle.group) return this.span?.isAlive(handle) ?? false;
    if (!handle.containerId) return this.native.isAlive(handle);
    return this.docker?.all().find((d) => d.node === (handle.node ?? LOCAL_NODE))?.isAlive(handle) ?? false;
  }

  watch(handle: EngineHandle, onExit: (code: number | null, signal: string | null) => void): () => void {
    if (handle.group && this.span) return this.span.watch(handle, onExit);
    if (handle.containerId && this.docker) return this.requireDocker(handle.node ?? LOCAL_NODE).watch(handle, onExit);
    return () => {};
  }
}
