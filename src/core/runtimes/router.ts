/**
 * One Runtime over the two implementations: plans go to the runtime their engine names, handles to
 * the runtime that made them (a container id marks Docker's). The supervisor sees a single
 * Runtime, so it needs no branch on the kind of engine.
 */
import type { HealthSpec } from '../engines/catalog-schema.js';
import { AimaError } from '../../shared/errors.js';
import type { DockerRuntime } from './docker/docker-runtime.js';
import type { NativeRuntime } from './native/native-runtime.js';
import type { EngineHandle, PlanInput, ProbeResult, Runtime, RuntimePlan, StartHooks, StopOptions, StopResult } from './types.js';

export class RuntimeRouter implements Runtime<RuntimePlan> {
  constructor(
    private readonly native: NativeRuntime,
    private readonly docker: DockerRuntime | null,
  ) {}

  private requireDocker(): DockerRuntime {
    if (!this.docker) throw new AimaError('unavailable', 'Docker engines are not available in this core.', 'Start AIMA where Docker is installed.');
    return this.docker;
  }

  plan(input: PlanInput): RuntimePlan {
    return input.engine.runtime === 'docker' ? this.requireDocker().plan(input) : this.native.plan(input);
  }

  start(plan: RuntimePlan, hooks: StartHooks): Promise<EngineHandle> {
    return plan.runtime === 'docker' ? this.requireDocker().start(plan, hooks) : this.native.start(plan, hooks);
  }

  probe(handle: EngineHandle, health: HealthSpec): Promise<ProbeResult> {
    return handle.containerId ? this.requireDocker().probe(handle, health) : this.native.probe(handle, health);
  }

  logs(logFile: string, lines: number): Promise<string[]> {
    return this.native.logs(logFile, lines);
  }

  stop(handle: EngineHandle, opts: StopOptions): Promise<StopResult> {
    return handle.containerId ? this.requireDocker().stop(handle, opts) : this.native.stop(handle, opts);
  }

  adopt(pidFile: string, serviceId?: string): EngineHandle | null {
    return this.native.adopt(pidFile) ?? this.docker?.adopt(pidFile, serviceId) ?? null;
  }

  isAlive(handle: EngineHandle): boolean {
    return handle.containerId ? (this.docker?.isAlive(handle) ?? false) : this.native.isAlive(handle);
  }

  watch(handle: EngineHandle, onExit: (code: number | null, signal: string | null) => void): () => void {
    if (handle.containerId && this.docker) return this.docker.watch(handle, onExit);
    return () => {};
  }
}
