/**
 * The native runtime's plan: the exact argv and environment a service's process gets, computed
 * from the catalog entry and the service settings alone (pure; test/unit/native-plan.test.ts
 * snapshots it).
 */
import type { TemplateVar } from '../../engines/catalog-schema.js';
import { MissingTemplateValue, renderArgv, renderTemplate, type TemplateValues } from '../../engines/template.js';
import type { NativePlan, PlanInput } from '../types.js';
import { hostForPort } from '../../../shared/host-port.js';

/** The values every template may use for this service. */
export function templateValues(input: PlanInput): TemplateValues {
  const d = input.engine.defaults;
  const threads = input.threads ?? d.threads;
  const ctxSize = input.ctxSize ?? d.ctxSize;
  const v: TemplateValues = {
    port: String(input.port),
    host: input.host,
    concurrency: String(input.concurrency),
    node: input.node,
    workers_dir: input.workersDir,
    service_name: input.serviceName,
    model_name: input.model?.name ?? input.serviceName,
  };
  if (input.model) v.model_path = input.model.path;
  if (threads !== undefined) v.threads = String(threads);
  if (ctxSize !== undefined) v.ctx_size = String(ctxSize);
  if (input.device === 'gpu') {
    v.gpu_layers = String(input.gpuLayers ?? d.gpuLayers ?? 'max');
    if (input.gpus.length > 0) v.gpus = input.gpus.join(',');
  }
  return v;
}

export function planNative(input: PlanInput): NativePlan {
  const engine = input.engine;
  if (engine.runtime !== 'native') throw new Error(`planNative: engine ${engine.id} is a ${engine.runtime} engine`);
  const values = templateValues(input);
  const argv = [input.binary, ...renderArgv(engine.command.slice(1), values)];
  // Option arguments appear only when their variable has a value.
  for (const [name, args] of Object.entries(engine.optionArgs) as [TemplateVar, string[]][]) {
    if (values[name] !== undefined) argv.push(...renderArgv(args, values));
  }
  argv.push(...renderArgv(engine.deviceArgs[input.device] ?? [], values));

  const env: Record<string, string> = {};
  const addEnv = (vars: Record<string, string>) => {
    for (const [k, t] of Object.entries(vars)) {
      try {
        env[k] = renderTemplate(t, values);
      } catch (err) {
        // An environment variable whose value is unknown is left out (no --gpus: all GPUs stay visible).
        if (!(err instanceof MissingTemplateValue)) throw err;
      }
    }
  };
  addEnv(engine.env);
  addEnv(engine.deviceEnv[input.device] ?? {});
  if (input.electron && argv[0] === input.node) env.ELECTRON_RUN_AS_NODE = '1';

  const urlHost = hostForPort(input.host);
  return {
    runtime: 'native',
    argv,
    env,
    host: input.host,
    port: input.port,
    healthUrl: `http://${urlHost}:${input.port}${engine.health.path}`,
    health: engine.health,
    logFile: input.logFile,
    pidFile: input.pidFile,
    serviceId: input.serviceId,
    serviceName: input.serviceName,
    niceness: engine.niceness,
  };
}
