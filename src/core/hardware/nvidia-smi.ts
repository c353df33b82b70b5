/**
 * NVIDIA GPUs through nvidia-smi: the CSV summary (`--query-gpu`), the XML report (`-q -x`) for what
 * the CSV lacks (MIG mode, CUDA version) and per-process VRAM (`--query-compute-apps`). Parsers are
 * pure and tested on real recordings (../shared/fixtures/nvidia-smi/h100-80gb).
 */
import type { GpuInfo, GpuProcess, ProbeStatus } from './types.js';
import { runTool, type ToolResult } from './run-tool.js';

/** The summary fields, in the order the parser expects them. */
export const NVIDIA_QUERY_GPU_FIELDS = [
  'index',
  'uuid',
  'name',
  'pci.bus_id',
  'driver_version',
  'memory.total',
  'memory.used',
  'memory.free',
  'utilization.gpu',
  'utilization.memory',
  'temperature.gpu',
  'power.draw',
  'power.limit',
  'compute_cap',
  'clocks.sm',
  'clocks.max.sm',
] as const;

export const NVIDIA_QUERY_GPU_ARGS = [`--query-gpu=${NVIDIA_QUERY_GPU_FIELDS.join(',')}`, '--format=csv,noheader,nounits'];
export const NVIDIA_QUERY_APPS_ARGS = ['--query-compute-apps=pid,process_name,used_memory,gpu_uuid', '--format=csv,noheader,nounits'];
export const NVIDIA_XML_ARGS = ['-q', '-x'];

/** Thrown by the parsers when the text is not what nvidia-smi prints. */
export class NvidiaSmiParseError extends Error {
  override name = 'NvidiaSmiParseError';
}

/** nvidia-smi prints "[N/A]", "N/A" or "[Not Supported]" for fields a GPU lacks. */
function optionalNumber(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const v = raw.trim();
  if (v === '' || /^\[?(N\/A|Not Supported|Unknown Error|Insufficient Permissions)\]?$/i.test(v)) return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

function requiredNumber(raw: string | undefined, field: string, line: string): number {
  const n = optionalNumber(raw);
  if (n === undefined) throw new NvidiaSmiParseError(`nvidia-smi field ${field} is not a number in "${line}"`);
  return n;
}

/** Parses `--query-gpu=<NVIDIA_QUERY_GPU_FIELDS> --format=csv,noheader,nounits`. */
export function parseNvidiaQueryGpu(csv: string): GpuInfo[] {
  const gpus: GpuInfo[] = [];
  for (const line of csv.split('\n').map((l) => l.trim()).filter(Boolean)) {
    // GPU names never contain ", " in practice; nvidia-smi does not quote CSV fields.
    const f = line.split(',').map((s) => s.trim());
    if (f.length !== NVIDIA_QUERY_GPU_FIELDS.length) {
      throw new NvidiaSmiParseError(
        `nvidia-smi --query-gpu line has ${f.length} fields, expected ${NVIDIA_QUERY_GPU_FIELDS.length}: "${line}"`,
      );
    }
    const computeCap = f[13];
    gpus.push({
      index: requiredNumber(f[0], 'index', line),
      uuid: f[1],
      name: f[2],
      vendor: 'nvidia',
      pciBusId: f[3],
      driverVersion: f[4],
      computeCapability: optionalNumber(computeCap) === undefined ? undefined : computeCap,
      memoryTotalMiB: requiredNumber(f[5], 'memory.total', line),
      memoryUsedMiB: requiredNumber(f[6], 'memory.used', line),
      memoryFreeMiB: requiredNumber(f[7], 'memory.free', line),
      utilizationGpu: optionalNumber(f[8]),
      utilizationMemory: optionalNumber(f[9]),
      temperatureC: optionalNumber(f[10]),
      powerDrawW: optionalNumber(f[11]),
      powerLimitW: optionalNumber(f[12]),
      clockSmMHz: optionalNumber(f[14]),
      clockSmMaxMHz: optionalNumber(f[15]),
    });
  }
  return gpus;
}

/**
 * Parses `--query-compute-apps=pid,process_name,used_memory[,gpu_uuid]`. Both shapes occur: the
 * shared recording asked for three fields, AIMA asks for four.
 */
export function parseNvidiaComputeApps(csv: string): GpuProcess[] {
  const out: GpuProcess[] = [];
  for (const line of csv.split('\n').map((l) => l.trim()).filter(Boolean)) {
    if (/^No running (compute )?processes found/i.test(line)) continue;
    const f = line.split(',').map((s) => s.trim());
    if (f.length < 3) throw new NvidiaSmiParseError(`nvidia-smi --query-compute-apps line has ${f.length} fields: "${line}"`);
    // A process name may contain commas (a path or arguments): pid first, memory (and uuid) last.
    const hasUuid = f.length >= 4 && /^(GPU|MIG)-/.test(f[f.length - 1]);
    const memIdx = hasUuid ? f.length - 2 : f.length - 1;
    out.push({
      pid: requiredNumber(f[0], 'pid', line),
      name: f.slice(1, memIdx).join(', '),
      // "[N/A]" appears under MIG or in containers without permission: count it as 0, not an error.
      usedMemoryMiB: optionalNumber(f[memIdx]) ?? 0,
      ...(hasUuid ? { gpuUuid: f[f.length - 1] } : {}),
    });
  }
  return out;
}

/** What `-q -x` adds to the CSV summary, per GPU (keyed by UUID). */
export interface NvidiaXmlGpuDetails {
  uuid: string;
  pciBusId?: string;
  productName?: string;
  architecture?: string;
  computeCapability?: string;
  migMode?: GpuInfo['migMode'];
}

export interface NvidiaXmlReport {
  driverVersion?: string;
  cudaVersion?: string;
  gpus: NvidiaXmlGpuDetails[];
}

/** Text of the first `<tag>…</tag>` in `xml`, trimmed; undefined when absent or "N/A". */
function tagText(xml: string, tag: string): string | undefined {
  const m = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml);
  const v = m?.[1].trim();
  return v && v !== 'N/A' ? v : undefined;
}

function migState(v: string | undefined): 'enabled' | 'disabled' | undefined {
  if (!v) return undefined;
  return v.toLowerCase() === 'enabled' ? 'enabled' : v.toLowerCase() === 'disabled' ? 'disabled' : undefined;
}

/**
 * Parses `nvidia-smi -q -x`. The report's shape is flat and stable (nvsmi_device_vNN.dtd), so a few
 * targeted matches are enough and avoid an XML dependency. Compute capability appears only in
 * some driver versions' XML (absent in 580's v13 DTD); the CSV `compute_cap` field covers the rest.
 */
export function parseNvidiaXml(xml: string): NvidiaXmlReport {
  if (!xml.includes('<nvidia_smi_log>')) throw new NvidiaSmiParseError('nvidia-smi -q -x output has no <nvidia_smi_log> root');
  const [header, ...chunks] = xml.split('<gpu id="');
  const gpus: NvidiaXmlGpuDetails[] = [];
  for (const chunk of chunks) {
    // Each chunk is one GPU's element: the id attribute (its PCI bus id) and then its body.
    const pciBusId = chunk.slice(0, chunk.indexOf('"'));
    const body = chunk;
    const uuid = tagText(body, 'uuid');
    if (!uuid) continue;
    const migBlock = /<mig_mode>([\s\S]*?)<\/mig_mode>/.exec(body)?.[1];
    const current = migState(migBlock ? tagText(migBlock, 'current_mig') : undefined);
    const pending = migState(migBlock ? tagText(migBlock, 'pending_mig') : undefined);
    const major = tagText(body, 'cuda_compute_capability_major');
    const minor = tagText(body, 'cuda_compute_capability_minor');
    gpus.push({
      uuid,
      pciBusId,
      productName: tagText(body, 'product_name'),
      architecture: tagText(body, 'product_architecture'),
      computeCapability: tagText(body, 'compute_cap') ?? (major && minor ? `${major}.${minor}` : undefined),
      migMode: current && pending ? { current, pending } : undefined,
    });
  }
  return { driverVersion: tagText(header, 'driver_version'), cudaVersion: tagText(header, 'cuda_version'), gpus };
}

/** Adds the XML-only details (CUDA version, MIG mode, compute capability fallback) to the CSV summary. */
export function mergeNvidiaDetails(gpus: GpuInfo[], xml: NvidiaXmlReport | undefined): GpuInfo[] {
  if (!xml) return gpus;
  return gpus.map((g) => {
    const d = xml.gpus.find((x) => x.uuid === g.uuid);
    return {
      ...g,
      driverVersion: g.driverVersion ?? xml.driverVersion,
      cudaVersion: xml.cudaVersion,
      computeCapability: g.computeCapability ?? d?.computeCapability,
      migMode: d?.migMode,
    };
  });
}

export interface NvidiaProbeOptions {
  /** Path or command name of nvidia-smi; the lead feeds it from env AIMA_NVIDIA_SMI. */
  nvidiaSmiPath?: string;
  timeoutMs?: number;
}

export interface NvidiaProbeResult {
  status: ProbeStatus;
  gpus: GpuInfo[];
  processes: GpuProcess[];
}

function statusOf(result: ToolResult, parseError?: string): ProbeStatus {
  const base = { tool: 'nvidia-smi' as const, durationMs: result.durationMs };
  if (parseError) return { ...base, status: 'failed', error: parseError };
  if (result.kind === 'ok') return { ...base, status: 'ok' };
  return { ...base, status: result.kind, error: result.error };
}

/**
 * Probes NVIDIA GPUs: the CSV summary decides the outcome; the XML and the process list enrich it
 * and, when they fail on their own, leave the summary standing.
 */
export async function probeNvidia(options: NvidiaProbeOptions = {}): Promise<NvidiaProbeResult> {
  const file = options.nvidiaSmiPath || 'nvidia-smi';
  const timeoutMs = options.timeoutMs ?? 10_000;
  const summary = await runTool(file, NVIDIA_QUERY_GPU_ARGS, { timeoutMs });
  if (summary.kind !== 'ok') return { status: statusOf(summary), gpus: [], processes: [] };
  let gpus: GpuInfo[];
  try {
    gpus = parseNvidiaQueryGpu(summary.stdout);
  } catch (err) {
    return { status: statusOf(summary, (err as Error).message), gpus: [], processes: [] };
  }
  // Both extras in parallel: on a busy host -q -x can take a second.
  const [xmlRun, appsRun] = await Promise.all([
    runTool(file, NVIDIA_XML_ARGS, { timeoutMs }),
    runTool(file, NVIDIA_QUERY_APPS_ARGS, { timeoutMs }),
  ]);
  let xml: NvidiaXmlReport | undefined;
  if (xmlRun.kind === 'ok') {
    try {
      xml = parseNvidiaXml(xmlRun.stdout);
    } catch {
      xml = undefined; // the CSV already carries what matters; MIG/CUDA version stay unknown
    }
  }
  let processes: GpuProcess[] = [];
  if (appsRun.kind === 'ok') {
    try {
      processes = parseNvidiaComputeApps(appsRun.stdout);
    } catch {
      processes = [];
    }
  }
  const status = statusOf(summary);
  status.durationMs = summary.durationMs + Math.max(xmlRun.durationMs, appsRun.durationMs);
  return { status, gpus: mergeNvidiaDetails(gpus, xml), processes };
}
