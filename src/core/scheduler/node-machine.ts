/**
 * The machine a placement counts on, for a service on another machine's node: that node's GPUs
 * and memory as its facts say, instead of this machine's. Pure. The engine reports its total
 * memory only, so what is available there is the total; the planner still subtracts what the
 * node's running services hold.
 */
import type { NodeFacts } from '../nodes/node-facts.js';
import type { PlanGpu } from './plan.js';

const MIB = 1024 * 1024;

export interface NodeMachine {
  gpus: PlanGpu[];
  /** null when the engine did not report its memory (the placement then keeps no RAM check). */
  memory: { totalBytes: number; availableBytes: number } | null;
}

export function nodeMachine(facts: NodeFacts): NodeMachine {
  return {
    gpus: facts.gpus.map((g) => ({ index: g.index, name: g.name, totalBytes: g.memoryTotalMiB * MIB, freeBytes: Math.max(0, g.memoryTotalMiB - (g.memoryUsedMiB ?? 0)) * MIB })),
    memory: facts.memoryBytes !== null ? { totalBytes: facts.memoryBytes, availableBytes: facts.memoryBytes } : null,
  };
}
