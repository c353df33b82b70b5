/** `aima service …`: create, start, stop, restart, update, plan, list, logs, remove and scale services (one file per command). */
import type { Command } from 'commander';
import { registerCreate } from './create.js';
import { registerList } from './list.js';
import { registerLogs } from './logs.js';
import { registerRemove } from './remove.js';
import { registerScale } from './scale.js';
import { registerStart } from './start.js';
import { registerStop } from './stop.js';
import { registerUpdate } from './update.js';
import { registerPlan } from './plan.js';

export function registerService(program: Command): void {
  const service = program.command('service').description('Run models as services: this model, on this engine, on this device, on this port');
  registerCreate(service);
  registerStart(service);
  registerStop(service);
  registerList(service);
  registerLogs(service);
  registerUpdate(service);
  registerPlan(service);
  registerRemove(service);
  registerScale(service);
}
