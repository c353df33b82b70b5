/**
 * The voice chain's budget: where each link runs, the memory it takes, the total against what is
 * free, the verdict (the GPU part through budgetVoiceStack), changes that would make it fit, and
 * what else holds the GPU. Pure: the resolved links, their memory estimates and the machine's
 * facts in, the plan out.
 */
import type { VoiceGpuHolder, VoicePlan, VoicePlanAlternative, VoicePlanLink, VoicePlanParams, VoiceRole } from '../../../shared/contract/index.js';
import { formatBytes } from '../../../shared/format-bytes.js';
import { budgetVoiceStack, MiB, type VoicePartEstimate } from '../../hardware/fit/index.js';
import { ROLE_LABEL, type ResolvedLink } from './resolve-links.js';

/** A link's memory: where it could run and what it would take there. */
export interface LinkMemory {
  /** On the CPU: RAM. */
  cpu: { ramBytes: number };
  /** Fully on the GPU (null: its engine runs on the CPU only, or nothing is known). */
  gpu: { gpuBytes: number; ramBytes: number } | null;
  /** What its running process holds now (a running service). */
  measured?: { gpuBytes: number; ramBytes: number };
  /** Context per sequence of an LLM, tokens. */
  contextSize: number | null;
  /** A smaller context the estimator proposes when the GPU is short (LLM). */
  smallerContext: number | null;
  /** Whether the numbers come from the model (false: nothing local, or unknown). */
  estimated: boolean;
}

export interface BudgetFacts {
  /** GPUs with memory figures; the budget uses the one with the most free memory. */
  gpus: readonly { index: number; name: string; memoryTotalMiB: number; memoryFreeMiB: number }[];
  ram: { totalBytes: number; availableBytes: number } | null;
  holders: readonly VoiceGpuHolder[];
  memory: Record<VoiceRole, LinkMemory>;
  llmDevice: NonNullable<VoicePlanParams['llmDevice']>;
}

type Placed = { link: ResolvedLink; device: VoicePlanLink['device']; gpuBytes: number; ramBytes: number; counted: boolean; memory: VoicePlanLink['memory']; note: string };

/** Places the links, adds them up and judges the total. */
export function planVoiceBudget(links: readonly ResolvedLink[], facts: BudgetFacts): VoicePlan {
  const gpu = [...facts.gpus].filter((g) => g.memoryTotalMiB > 0).sort((a, b) => b.memoryFreeMiB - a.memoryFreeMiB)[0] ?? null;
  const placed = links.map((l) => place(l, facts.memory[l.role]));
  // A new LLM service on `auto` goes to the GPU when the whole chain fits there, else the CPU.
  const llm = placed.find((p) => p.link.role === 'llm' && p.link.via === 'new-service');
  if (llm && gpu && facts.llmDevice === 'auto') {
    const onGpu = facts.memory.llm.gpu;
    if (onGpu) {
      const others = placed.filter((p) => p !== llm && p.counted).reduce((s, p) => s + p.gpuBytes, 0);
      const budget = budgetVoiceStack(gpu, []).budgetBytes;
      if (onGpu.gpuBytes + others <= budget) Object.assign(llm, { device: 'gpu', gpuBytes: onGpu.gpuBytes, ramBytes: onGpu.ramBytes, note: `${llm.note}; on ${gpu.name} (GPU ${gpu.index}), where the chain fits` });
      else llm.note += `; on the CPU: ${gpu.name} has ${formatBytes(Math.max(0, budget - others))} usable, it needs ${formatBytes(onGpu.gpuBytes)}`;
    }
  } else if (llm && facts.llmDevice === 'gpu') {
    const onGpu = facts.memory.llm.gpu ?? { gpuBytes: facts.memory.llm.cpu.ramBytes, ramBytes: 0 };
    Object.assign(llm, { device: 'gpu', gpuBytes: onGpu.gpuBytes, ramBytes: onGpu.ramBytes, note: `${llm.note}; on the GPU, as chosen` });
  }

  const counted = placed.filter((p) => p.counted);
  const total = { gpuBytes: counted.reduce((s, p) => s + p.gpuBytes, 0), ramBytes: counted.reduce((s, p) => s + p.ramBytes, 0) };
  const gpuParts: VoicePartEstimate[] = counted.filter((p) => p.device === 'gpu').map((p) => ({ role: p.link.role, name: p.link.name, gpuBytes: p.gpuBytes, cpuBytes: p.ramBytes }));
  const gpuBudget = gpu ? budgetVoiceStack(gpu, gpuParts) : null;

  let verdict: VoicePlan['verdict'];
  if (gpuParts.length > 0 && !gpu) {
    const largest = gpuParts.reduce((a, b) => (b.gpuBytes > a.gpuBytes ? b : a));
    verdict = { kind: 'does-not-fit', resource: 'gpu', overByBytes: total.gpuBytes, largest: largest.role, message: `The ${ROLE_LABEL[largest.role]} is to run on a GPU, and AIMA sees none on this machine.` };
  } else if (gpuParts.length > 0 && gpuBudget && gpuBudget.verdict.kind === 'does-not-fit') {
    const v = gpuBudget.verdict;
    verdict = { kind: 'does-not-fit', resource: 'gpu', overByBytes: v.overByBytes, largest: v.largest, message: v.message };
  } else if (facts.ram && total.ramBytes > facts.ram.availableBytes) {
    const largest = counted.reduce((a, b) => (b.ramBytes > a.ramBytes ? b : a));
    const over = total.ramBytes - facts.ram.availableBytes;
    verdict = {
      kind: 'does-not-fit',
      resource: 'ram',
      overByBytes: over,
      largest: largest.link.role,
      message: `The voice chain needs ${formatBytes(total.ramBytes)} of RAM but ${formatBytes(facts.ram.availableBytes)} is available: ${formatBytes(over)} over; the ${ROLE_LABEL[largest.link.role]} (${largest.link.name}) is the largest part.`,
    };
  } else {
    const parts = [gpuParts.length > 0 && gpuBudget ? gpuBudget.verdict.message : null, facts.ram ? `${formatBytes(total.ramBytes)} of RAM of ${formatBytes(facts.ram.availableBytes)} available` : null].filter(Boolean);
    verdict = { kind: 'fits', message: counted.length === 0 ? 'Every link runs already or is remote: nothing more to take.' : `The voice chain fits: ${parts.join('; ') || `${formatBytes(total.ramBytes)} of RAM`}.` };
  }

  return {
    links: placed.map((p) => ({
      role: p.link.role,
      name: p.link.name,
      via: p.link.via,
      service: p.link.service,
      engine: p.link.engine,
      model: p.link.model?.name ?? null,
      importPath: p.link.importPath,
      state: p.link.existing?.state ?? null,
      device: p.device,
      contextSize: p.link.role === 'llm' ? (p.link.existing?.ctxSize ?? facts.memory.llm.contextSize) : null,
      gpuBytes: p.gpuBytes,
      ramBytes: p.ramBytes,
      memory: p.memory,
      counted: p.counted,
      note: p.note,
    })),
    total,
    gpu: gpu ? { index: gpu.index, name: gpu.name, totalBytes: gpu.memoryTotalMiB * MiB, freeBytes: gpu.memoryFreeMiB * MiB, budgetBytes: gpuBudget?.budgetBytes ?? 0 } : null,
    ram: facts.ram,
    verdict,
    alternatives: verdict.kind === 'fits' ? [] : alternatives(placed, facts, verdict),
    holders: [...facts.holders],
    creates: placed.filter((p) => p.link.via === 'new-service' && p.link.service).map((p) => p.link.service!),
  };
}

function place(link: ResolvedLink, mem: LinkMemory): Placed {
  if (link.via === 'remote') return { link, device: 'remote', gpuBytes: 0, ramBytes: 0, counted: false, memory: 'none', note: link.note };
  const running = link.existing?.state === 'running';
  const device = link.existing?.device ?? 'cpu';
  const memory: VoicePlanLink['memory'] = running && mem.measured ? 'measured' : mem.estimated ? 'estimated' : 'none';
  const figures = running && mem.measured ? mem.measured : device === 'gpu' && mem.gpu ? mem.gpu : { gpuBytes: 0, ramBytes: mem.cpu.ramBytes };
  return { link, device, gpuBytes: figures.gpuBytes, ramBytes: figures.ramBytes, counted: !running, memory, note: running ? `${link.note}; running` : link.note };
}

function alternatives(placed: readonly Placed[], facts: BudgetFacts, verdict: Extract<VoicePlan['verdict'], { kind: 'does-not-fit' }>): VoicePlanAlternative[] {
  const out: VoicePlanAlternative[] = [];
  const llm = placed.find((p) => p.link.role === 'llm');
  if (verdict.resource === 'gpu') {
    if (llm?.device === 'gpu' && llm.counted && llm.link.via === 'new-service') {
      out.push({ kind: 'llm-on-cpu', message: `Run the LLM (${llm.link.name}) on the CPU: ${formatBytes(facts.memory.llm.cpu.ramBytes)} of RAM instead of GPU memory.`, choices: { llmDevice: 'cpu' }, service: null });
      const ctx = facts.memory.llm.smallerContext;
      if (ctx !== null) out.push({ kind: 'smaller-context', message: `Give the LLM a smaller context: ${ctx} tokens per sequence.`, choices: { llmContext: ctx }, service: null });
    }
    for (const p of placed) {
      if (p.link.role !== 'llm' && p.device === 'gpu' && p.counted) {
        out.push({ kind: 'link-on-cpu', message: `Run the ${ROLE_LABEL[p.link.role]} on the CPU: choose an ${p.link.role} model from the library for the embedded engine.`, choices: null, service: null });
      }
    }
    const chain = new Set(placed.map((p) => p.link.service).filter(Boolean));
    for (const h of facts.holders) {
      if (h.service && !chain.has(h.service)) out.push({ kind: 'stop-service', message: `Stop ${h.service} (${formatBytes(h.usedBytes)} on GPU ${h.gpu}).`, choices: null, service: h.service });
    }
  } else if (llm?.counted && llm.link.via === 'new-service' && facts.memory.llm.smallerContext !== null) {
    out.push({ kind: 'smaller-context', message: `Give the LLM a smaller context: ${facts.memory.llm.smallerContext} tokens per sequence.`, choices: { llmContext: facts.memory.llm.smallerContext }, service: null });
  }
  return out;
}
