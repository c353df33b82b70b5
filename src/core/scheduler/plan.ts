/**
 * The placement decision, as a pure function: given the GPUs, the host's RAM, the services that
 * run now (what each holds, measured or estimated, and whether it may be stopped) and the service
 * about to start, decide where it goes and which idle services stop first — or refuse, naming
 * what holds the memory and what to do. Every start goes through it (scheduler.ts gathers the
 * inputs and carries the plan out); the voice setup and `services.plan` show a would-be placement
 * with the same function.
 *
 * Accounting:
 * - GPU room = the GPU's free memory (nvidia-smi) minus what services that are still loading have
 *   not taken yet (their estimate above what was measured); stopping a service frees what it holds
 *   there (measured, else its estimate).
 * - RAM room = the services' cap minus what running services hold (measured RSS, else estimate),
 *   and never more than the host's available memory plus what evictions free.
 * - A service may be stopped to make room only when it is idle (no request in flight or queued),
 *   not pinned, not used by the voice session, and not started within the anti-thrash window.
 *   Candidates for eviction go least recently used first.
 */
import { formatBytes } from '../../shared/format-bytes.js';

export type PlanDevice = 'cpu' | 'gpu';

export interface PlanGpu {
  index: number;
  name: string;
  totalBytes: number;
  /** Free as the driver reports it (already net of every process, ours included). */
  freeBytes: number;
}

export interface PlanRam {
  totalBytes: number;
  /** What the OS says is available now (MemAvailable). */
  availableBytes: number;
  /** How much of the machine services may take together (the servicesMemoryCap setting). */
  capBytes: number;
}

export interface RunningService {
  name: string;
  model: string | null;
  device: PlanDevice;
  /** The GPUs it runs on (empty for a CPU service). */
  gpus: number[];
  /** Measured VRAM per GPU index (nvidia-smi's per-process figures), or null when not measured. */
  vramBytes: Record<number, number> | null;
  /** Measured resident memory of its processes, or null when not measured. */
  rssBytes: number | null;
  /** Its fit estimate (VRAM for a GPU service, RAM for a CPU one), or null. */
  estimateBytes: number | null;
  /** Epoch ms of its last request (or of its start, when it had none). */
  lastUsedAt: number;
  /** Requests in flight or queued at the gateway. */
  inFlight: number;
  pinned: boolean;
  usedByVoice: boolean;
  /** Epoch ms when it last started. */
  startedAt: number;
}

/** GGUF layer facts for a partial offload: bytes that go to the GPU at any offload, and per layer. */
export interface LayerSplit {
  total: number;
  bytesPerLayer: number;
  fixedBytes: number;
}

export interface Candidate {
  name: string;
  model: string | null;
  device: PlanDevice;
  /** Explicit GPU indexes; empty = the planner picks one. */
  gpus: number[];
  /** Memory it needs in all (VRAM on a GPU, RAM on the CPU); null = no estimate (placed without a memory check). */
  estimateBytes: number | null;
  /** Present for GGUF models: a partial offload is possible when the whole model does not fit. */
  layers?: LayerSplit | null;
  /** Where the estimate comes from, when the text should say so (a Hub id's weights): shown after "needs N". */
  estimateNote?: string | null;
  /** Why there is no estimate, when it is worth saying (a Hub id whose size could not be read); default "no memory estimate for this model". */
  noEstimateNote?: string | null;
}

export interface PlanInput {
  gpus: PlanGpu[];
  ram: PlanRam;
  services: RunningService[];
  candidate: Candidate;
  now: number;
  /** Services started less than this long ago are not stopped to make room. */
  antiThrashMs: number;
}

export interface Eviction {
  name: string;
  /** Bytes it frees where the candidate needs them. */
  freesBytes: number;
  where: string;
  lastUsedAt: number;
}

export interface Holder {
  name: string;
  bytes: number;
  where: string;
  /** Why it may not be stopped; null when it could be (but stopping it would not be enough). */
  protectedBy: 'in-flight' | 'pinned' | 'voice' | 'anti-thrash' | null;
}

export type Placement =
  | {
      kind: 'place';
      device: PlanDevice;
      gpus: number[];
      /** Layers on the GPU for a partial offload; null when the whole model is on its device. */
      gpuLayers: number | null;
      totalLayers: number | null;
      needBytes: number | null;
      evict: Eviction[];
      /** The decision in words, for the service's log and the UI. */
      text: string;
    }
  | {
      kind: 'refuse';
      reason: 'no-such-gpu' | 'no-gpu' | 'does-not-fit' | 'anti-thrash';
      message: string;
      fix: string;
      holders: Holder[];
      /** A placement that would work instead (the CPU for a GPU service), when there is one. */
      proposal: { device: 'cpu'; text: string } | null;
    };

const GB = (n: number) => formatBytes(n);

/** "1.20 GiB", with where the estimate comes from when the candidate says. */
const needText = (c: Candidate, bytes: number, what = '') => `${GB(bytes)}${what}${c.estimateNote ? ` (${c.estimateNote})` : ''}`;
const noEstimate = (c: Candidate) => c.noEstimateNote ?? 'no memory estimate for this model';

/** Why a running service may not be stopped now, or null when it may. */
export function protection(s: RunningService, now: number, antiThrashMs: number): Holder['protectedBy'] {
  if (s.inFlight > 0) return 'in-flight';
  if (s.pinned) return 'pinned';
  if (s.usedByVoice) return 'voice';
  if (now - s.startedAt < antiThrashMs) return 'anti-thrash';
  return null;
}

/** What a service holds on one GPU: measured when measured, else an even share of its estimate. */
function heldOnGpu(s: RunningService, gpu: number): number {
  if (!s.gpus.includes(gpu)) return 0;
  const measured = s.vramBytes?.[gpu];
  if (measured !== undefined) return measured;
  return s.estimateBytes !== null ? s.estimateBytes / Math.max(1, s.gpus.length) : 0;
}

/** Memory a loading service will still take on a GPU (its estimate above what is measured). */
function pendingOnGpu(s: RunningService, gpu: number): number {
  if (!s.gpus.includes(gpu) || s.estimateBytes === null) return 0;
  const share = s.estimateBytes / Math.max(1, s.gpus.length);
  return Math.max(0, share - (s.vramBytes?.[gpu] ?? 0));
}

/** Host RAM a service holds: its measured RSS, else (CPU services) its estimate. */
function heldInRam(s: RunningService): number {
  if (s.rssBytes !== null) return s.device === 'cpu' && s.estimateBytes !== null ? Math.max(s.rssBytes, s.estimateBytes) : s.rssBytes;
  return s.device === 'cpu' ? (s.estimateBytes ?? 0) : 0;
}

function protectedText(h: Holder, antiThrashMs: number): string {
  switch (h.protectedBy) {
    case 'in-flight':
      return 'serving requests';
    case 'pinned':
      return 'pinned';
    case 'voice':
      return 'used by the voice session';
    case 'anti-thrash':
      return `started within the last ${Math.round(antiThrashMs / 1000)} s (anti-thrash window)`;
    default:
      return '';
  }
}

/** The LRU-first stops that free `need` bytes, from the evictable ones; null when they cannot. */
function chooseEvictions(room: number, need: number, evictable: { s: RunningService; frees: number; where: string }[]): Eviction[] | null {
  if (room >= need) return [];
  const sorted = [...evictable].sort((a, b) => a.s.lastUsedAt - b.s.lastUsedAt);
  const out: Eviction[] = [];
  let r = room;
  for (const e of sorted) {
    if (e.frees <= 0) continue;
    out.push({ name: e.s.name, freesBytes: e.frees, where: e.where, lastUsedAt: e.s.lastUsedAt });
    r += e.frees;
    if (r >= need) return out;
  }
  return null;
}

interface GpuOption {
  gpus: number[];
  evict: Eviction[];
  roomAfter: number;
  sameModel: boolean;
}

/** Places a service, or refuses. Pure: the same inputs give the same plan. */
export function planPlacement(input: PlanInput): Placement {
  const { candidate: c, now, antiThrashMs } = input;
  const others = input.services.filter((s) => s.name !== c.name);
  const ramRoomNow = Math.min(input.ram.capBytes - others.reduce((sum, s) => sum + heldInRam(s), 0), input.ram.availableBytes);
  const ramEvictable = others
    .filter((s) => protection(s, now, antiThrashMs) === null)
    .map((s) => ({ s, frees: heldInRam(s), where: 'RAM' }));

  if (c.device === 'gpu') {
    if (input.gpus.length === 0) {
      return refuse('no-gpu', `Service "${c.name}" runs on a GPU, but no GPU is detected.`, 'Check the driver (`nvidia-smi`), or run it on the CPU (--device cpu).', [], cpuProposal(c, ramRoomNow, ramEvictable));
    }
    const known = new Set(input.gpus.map((g) => g.index));
    const bad = c.gpus.filter((i) => !known.has(i));
    if (bad.length > 0) {
      return refuse(
        'no-such-gpu',
        `GPU ${bad.join(', ')} does not exist on this machine.`,
        `Available: ${input.gpus.map((g) => `${g.index} (${g.name})`).join(', ')}. Set the service's GPUs to those, or leave them empty to let AIMA choose.`,
        [],
        null,
      );
    }
    return planGpu(input, others, ramRoomNow, ramEvictable);
  }
  return planCpu(input, others, ramRoomNow, ramEvictable);
}

function planCpu(input: PlanInput, others: RunningService[], room: number, evictable: { s: RunningService; frees: number; where: string }[]): Placement {
  const c = input.candidate;
  if (c.estimateBytes === null) {
    return { kind: 'place', device: 'cpu', gpus: [], gpuLayers: null, totalLayers: null, needBytes: null, evict: [], text: `on the CPU (${noEstimate(c)}: placed without a RAM check)` };
  }
  const need = c.estimateBytes;
  const evict = chooseEvictions(room, need, evictable);
  if (evict) {
    return {
      kind: 'place',
      device: 'cpu',
      gpus: [],
      gpuLayers: null,
      totalLayers: null,
      needBytes: need,
      evict,
      text: `on the CPU: needs ${needText(c, need, ' of RAM')}, ${GB(Math.max(0, room))} free within the services' memory cap${evict.length ? `; stopping ${evict.map((e) => `"${e.name}" (idle, ${GB(e.freesBytes)})`).join(', ')} first` : ''}`,
    };
  }
  const holders = others.filter((s) => heldInRam(s) > 0).map((s) => ({ name: s.name, bytes: heldInRam(s), where: 'RAM', protectedBy: protection(s, input.now, input.antiThrashMs) }));
  return refusal(input, holders, need, Math.max(0, room), 'RAM', `the services' memory cap (${GB(input.ram.capBytes)})`, null);
}

function planGpu(input: PlanInput, others: RunningService[], ramRoom: number, ramEvictable: { s: RunningService; frees: number; where: string }[]): Placement {
  const c = input.candidate;
  const { now, antiThrashMs } = input;
  const roomOn = (g: PlanGpu) => g.freeBytes - others.reduce((sum, s) => sum + pendingOnGpu(s, g.index), 0);
  const evictableOn = (g: PlanGpu) =>
    others
      .filter((s) => s.gpus.includes(g.index) && protection(s, now, antiThrashMs) === null)
      .map((s) => ({ s, frees: heldOnGpu(s, g.index), where: `GPU ${g.index}` }));
  const sameModelOn = (g: PlanGpu) => c.model !== null && others.some((s) => s.model === c.model && s.gpus.includes(g.index));
  const byIndex = new Map(input.gpus.map((g) => [g.index, g]));

  if (c.estimateBytes === null) {
    const pick = c.gpus.length > 0 ? c.gpus : [[...input.gpus].sort((a, b) => Number(sameModelOn(a)) - Number(sameModelOn(b)) || roomOn(b) - roomOn(a))[0]!.index];
    return { kind: 'place', device: 'gpu', gpus: pick, gpuLayers: null, totalLayers: null, needBytes: null, evict: [], text: `on GPU ${pick.join(', ')} (${noEstimate(c)}: placed without a VRAM check)` };
  }

  // Explicit GPUs share the need evenly (llama.cpp's split, vLLM's tensor parallel); auto picks one
  // GPU, and spreads over all of them only when no single one can take the model.
  const need = c.estimateBytes;
  const optionFor = (set: number[]): GpuOption | null => {
    const share = need / set.length;
    const evict: Eviction[] = [];
    let roomAfter = Infinity;
    for (const i of set) {
      const g = byIndex.get(i)!;
      const e = chooseEvictions(roomOn(g), share, evictableOn(g));
      if (!e) return null;
      for (const x of e) if (!evict.some((y) => y.name === x.name)) evict.push(x);
      roomAfter = Math.min(roomAfter, roomOn(g) + e.reduce((sum, x) => sum + x.freesBytes, 0) - share);
    }
    return { gpus: set, evict, roomAfter, sameModel: set.some((i) => sameModelOn(byIndex.get(i)!)) };
  };
  const sets: number[][] = c.gpus.length > 0 ? [c.gpus] : input.gpus.map((g) => [g.index]);
  const options = sets.map(optionFor).filter((o): o is GpuOption => o !== null);
  if (options.length === 0 && c.gpus.length === 0 && input.gpus.length > 1) {
    const all = optionFor(input.gpus.map((g) => g.index));
    if (all) options.push(all);
  }
  // Fewest evictions first, then a GPU without a replica of the same model, then the most room left.
  options.sort((a, b) => a.evict.length - b.evict.length || Number(a.sameModel) - Number(b.sameModel) || b.roomAfter - a.roomAfter);
  const best = options[0];
  if (best) {
    const g = best.gpus.map((i) => byIndex.get(i)!);
    const free = g.map((x) => `${GB(Math.max(0, roomOn(x)))} free on GPU ${x.index}`).join(', ');
    return {
      kind: 'place',
      device: 'gpu',
      gpus: best.gpus,
      gpuLayers: null,
      totalLayers: c.layers?.total ?? null,
      needBytes: c.estimateBytes,
      evict: best.evict,
      text: `on GPU ${best.gpus.join(', ')} (${g.map((x) => x.name).join(', ')}): needs ${needText(c, c.estimateBytes)}, ${free}${best.evict.length ? `; stopping ${best.evict.map((e) => `"${e.name}" (idle, ${GB(e.freesBytes)} on ${e.where})`).join(', ')} first` : ''}${c.gpus.length === 0 && input.gpus.length > 1 ? (best.sameModel ? '' : '; chosen by AIMA') : ''}`,
    };
  }

  // A partial offload (GGUF): as many layers as fit on the GPU with the most room, the rest in RAM.
  if (c.layers && c.layers.bytesPerLayer > 0) {
    const candidates = (c.gpus.length > 0 ? c.gpus.slice(0, 1) : input.gpus.map((g) => g.index)).map((i) => byIndex.get(i)!);
    const g = [...candidates].sort((a, b) => roomOn(b) - roomOn(a))[0]!;
    const layers = Math.min(c.layers.total - 1, Math.floor((roomOn(g) - c.layers.fixedBytes) / c.layers.bytesPerLayer));
    const onGpu = c.layers.fixedBytes + Math.max(0, layers) * c.layers.bytesPerLayer;
    const inRam = c.estimateBytes - onGpu;
    if (layers >= 1 && inRam <= ramRoom) {
      return {
        kind: 'place',
        device: 'gpu',
        gpus: [g.index],
        gpuLayers: layers,
        totalLayers: c.layers.total,
        needBytes: c.estimateBytes,
        evict: [],
        text: `partly on GPU ${g.index} (${g.name}): ${layers} of ${c.layers.total} layers (${GB(onGpu)}), the rest (${GB(inRam)}) in RAM — slower than a whole model on the GPU`,
      };
    }
  }

  // Refused: name what holds the GPU with the most room (or the chosen ones).
  const focus = (c.gpus.length > 0 ? c.gpus.map((i) => byIndex.get(i)!) : input.gpus).sort((a, b) => roomOn(b) - roomOn(a))[0]!;
  const share = c.estimateBytes / Math.max(1, c.gpus.length || 1);
  const holders: Holder[] = others
    .filter((s) => s.gpus.includes(focus.index))
    .map((s) => ({ name: s.name, bytes: heldOnGpu(s, focus.index), where: `GPU ${focus.index}`, protectedBy: protection(s, now, antiThrashMs) }));
  return refusal(input, holders, share, Math.max(0, roomOn(focus)), `GPU ${focus.index}`, `GPU ${focus.index} (${focus.name}, ${GB(focus.totalBytes)})`, cpuProposal(c, ramRoom, ramEvictable));
}

function cpuProposal(c: Candidate, ramRoom: number, ramEvictable: { s: RunningService; frees: number; where: string }[]): { device: 'cpu'; text: string } | null {
  if (c.estimateBytes === null) return null;
  const evict = chooseEvictions(ramRoom, c.estimateBytes, ramEvictable);
  if (!evict) return null;
  return { device: 'cpu', text: `run "${c.name}" on the CPU (it needs ${GB(c.estimateBytes)} of RAM${evict.length ? `, after stopping ${evict.map((e) => `"${e.name}"`).join(', ')}` : ', which is free'}; slower)` };
}

function refusal(input: PlanInput, holders: Holder[], need: number, room: number, where: string, whereLong: string, proposal: { device: 'cpu'; text: string } | null): Placement {
  const c = input.candidate;
  const sorted = [...holders].sort((a, b) => b.bytes - a.bytes);
  const stoppable = sorted.reduce((sum, h) => sum + (h.protectedBy === null ? h.bytes : 0), 0);
  const thrash = sorted.filter((h) => h.protectedBy === 'anti-thrash');
  const withThrash = stoppable + thrash.reduce((sum, h) => sum + h.bytes, 0);
  const reason: 'anti-thrash' | 'does-not-fit' = room + stoppable < need && room + withThrash >= need ? 'anti-thrash' : 'does-not-fit';
  const heldBy = sorted.length
    ? ` ${where} is held by ${sorted.map((h) => `"${h.name}" (${GB(h.bytes)}${h.protectedBy ? `, ${protectedText(h, input.antiThrashMs)}` : ''})`).join(', ')}.`
    : '';
  const message = `Service "${c.name}" does not fit: it needs ${needText(c, need)} on ${whereLong}, ${GB(room)} is free.${heldBy}`;
  const fixes: string[] = [];
  if (reason === 'anti-thrash') {
    const waitS = Math.max(1, Math.ceil(Math.max(...thrash.map((h) => input.antiThrashMs - (input.now - (input.services.find((s) => s.name === h.name)?.startedAt ?? input.now)))) / 1000));
    fixes.push(`${thrash.map((h) => `"${h.name}"`).join(', ')} started moments ago and is not stopped again to make room (no thrashing): try again in ${waitS} s, or stop it yourself`);
  } else if (sorted.length) {
    fixes.push(`stop ${sorted.slice(0, 3).map((h) => `"${h.name}" (${GB(h.bytes)} on ${h.where})`).join(' or ')}`);
  }
  if (proposal) fixes.push(proposal.text);
  if (where === 'RAM') fixes.push("raise the services' memory cap (`aima settings set servicesMemoryCapMiB N`)");
  fixes.push(`start it anyway with --ignore-fit (\`aima service start ${c.name} --ignore-fit\`)`);
  const fix = fixes.join('; or ') + '.';
  return refuse(reason, message, fix.charAt(0).toUpperCase() + fix.slice(1), sorted, proposal);
}

function refuse(reason: Extract<Placement, { kind: 'refuse' }>['reason'], message: string, fix: string, holders: Holder[], proposal: { device: 'cpu'; text: string } | null): Placement {
  return { kind: 'refuse', reason, message, fix, holders, proposal };
}

/**
 * Places several services one after another as if each started in turn (the voice chain's three
 * links): each later one sees the earlier ones holding their estimate (and never evicts them) and
 * the services the earlier plans stop as gone. Pure, like {@link planPlacement}.
 */
export function planSequence(base: Omit<PlanInput, 'candidate'>, candidates: Candidate[]): { name: string; plan: Placement }[] {
  let services = base.services;
  let gpus = base.gpus;
  let ram = base.ram;
  const out: { name: string; plan: Placement }[] = [];
  for (const c of candidates) {
    const plan = planPlacement({ ...base, services, gpus, ram, candidate: c });
    out.push({ name: c.name, plan });
    if (plan.kind !== 'place') continue;
    const evicted = new Set(plan.evict.map((e) => e.name));
    gpus = gpus.map((g) => ({ ...g, freeBytes: g.freeBytes + plan.evict.filter((e) => e.where === `GPU ${g.index}`).reduce((sum, e) => sum + e.freesBytes, 0) }));
    ram = { ...ram, availableBytes: ram.availableBytes + plan.evict.filter((e) => e.where === 'RAM').reduce((sum, e) => sum + e.freesBytes, 0) };
    services = [
      ...services.filter((s) => !evicted.has(s.name)),
      {
        name: c.name,
        model: c.model,
        device: plan.device,
        gpus: plan.gpus,
        vramBytes: null,
        rssBytes: null,
        estimateBytes: plan.gpuLayers !== null && c.layers ? c.layers.fixedBytes + plan.gpuLayers * c.layers.bytesPerLayer : plan.needBytes,
        lastUsedAt: base.now,
        // A link placed earlier in the same sequence is never stopped for a later one.
        inFlight: 1,
        pinned: false,
        usedByVoice: false,
        startedAt: base.now,
      },
    ];
  }
  return out;
}
