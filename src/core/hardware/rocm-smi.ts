/**
 * AMD GPUs through rocm-smi's JSON output
 * (`rocm-smi --showproductname --showmeminfo vram --showuse --showtemp --showpower --json`).
 *
 * UNVERIFIED: no AMD GPU was available while writing this. The parser follows public samples of
 * real output, quoted in test/fixtures/rocm-smi/README.md:
 * - marimo-team/marimo issue #9237 (RX 7900 XT: `--showproductname --showuse --showmeminfo vram --json`),
 * - jurkovic-nikola/OpenLinkHub pull request #27 (Navi 31: temperatures, "Average Graphics Package Power (W)"),
 * - sebhildebrandt/systeminformation pull request #960 (Radeon 780M, rocm-smi-lib 6.2.4:
 *   "Current Socket Graphics Package Power (W)", "Device Name"),
 * - ROCm/rocm_smi_lib issue #159 (MI250X `--showproductname --json`).
 * Key spelling changed between ROCm releases ("Card series" → "Card Series"), so keys are matched
 * case-insensitively and several spellings are tried.
 */
import type { GpuInfo, ProbeStatus } from './types.js';
import { runTool } from './run-tool.js';

export const ROCM_SMI_ARGS = ['--showproductname', '--showmeminfo', 'vram', '--showuse', '--showtemp', '--showpower', '--json'];

export class RocmSmiParseError extends Error {
  override name = 'RocmSmiParseError';
}

const MiB = 1024 * 1024;

type Card = Record<string, unknown>;

/** The value of the first key (case-insensitive) present with a usable value. */
function pick(card: Card, ...keys: string[]): string | undefined {
  const lower = new Map(Object.entries(card).map(([k, v]) => [k.toLowerCase(), v]));
  for (const k of keys) {
    const v = lower.get(k.toLowerCase());
    if (v === undefined || v === null) continue;
    const s = String(v).trim();
    if (s && s !== 'N/A') return s;
  }
  return undefined;
}

function num(card: Card, ...keys: string[]): number | undefined {
  const s = pick(card, ...keys);
  if (s === undefined) return undefined;
  // Values are strings such as "46.0", "19", occasionally with a unit ("42 %").
  const n = Number.parseFloat(s);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * Parses rocm-smi's `--json` output: an object keyed `card0`, `card1`, … (plus `system` for
 * system-wide values such as the driver version). Cards without a VRAM total are skipped (an APU's
 * sibling entries sometimes lack it); an output with no card at all is an error.
 */
export function parseRocmSmiJson(text: string): GpuInfo[] {
  let parsed: unknown;
  // Some releases print warnings ("WARNING: AMD GPU device(s) is/are in a low-power state") before
  // the JSON: parse from the first brace to the last.
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  try {
    parsed = JSON.parse(start >= 0 && end > start ? text.slice(start, end + 1) : text);
  } catch (err) {
    throw new RocmSmiParseError(`rocm-smi --json output is not JSON: ${(err as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new RocmSmiParseError('rocm-smi --json output is not an object keyed by card');
  }
  const root = parsed as Record<string, unknown>;
  const system = (root.system ?? {}) as Card;
  const driverVersion = pick(system, 'Driver version');
  const gpus: GpuInfo[] = [];
  for (const [key, value] of Object.entries(root)) {
    const m = /^card(\d+)$/i.exec(key);
    if (!m || !value || typeof value !== 'object') continue;
    const card = value as Card;
    const totalB = num(card, 'VRAM Total Memory (B)');
    if (totalB === undefined) continue;
    const usedB = num(card, 'VRAM Total Used Memory (B)') ?? 0;
    const index = Number(m[1]);
    const uniqueId = pick(card, 'Unique ID');
    const total = Math.round(totalB / MiB);
    const used = Math.round(usedB / MiB);
    gpus.push({
      index,
      uuid: uniqueId ?? `amd:${index}`,
      name: pick(card, 'Card Series', 'Device Name', 'Card Model', 'Card SKU') ?? `AMD GPU ${index}`,
      vendor: 'amd',
      pciBusId: pick(card, 'PCI Bus'),
      driverVersion,
      memoryTotalMiB: total,
      memoryUsedMiB: used,
      memoryFreeMiB: Math.max(0, total - used),
      utilizationGpu: num(card, 'GPU use (%)'),
      // Edge is the sensor comparable to nvidia-smi's temperature.gpu; junction where edge is missing.
      temperatureC: num(card, 'Temperature (Sensor edge) (C)', 'Temperature (Sensor junction) (C)'),
      powerDrawW: num(card, 'Current Socket Graphics Package Power (W)', 'Average Graphics Package Power (W)'),
      powerLimitW: num(card, 'Max Graphics Package Power (W)'),
    });
  }
  if (gpus.length === 0) throw new RocmSmiParseError('rocm-smi --json output lists no card with VRAM');
  return gpus;
}

export interface RocmProbeResult {
  status: ProbeStatus;
  gpus: GpuInfo[];
}

/** Probes AMD GPUs; a missing rocm-smi is `not-present`, the normal case on NVIDIA or CPU-only hosts. */
export async function probeRocm(options: { rocmSmiPath?: string; timeoutMs?: number } = {}): Promise<RocmProbeResult> {
  const file = options.rocmSmiPath || 'rocm-smi';
  const r = await runTool(file, ROCM_SMI_ARGS, { timeoutMs: options.timeoutMs ?? 10_000 });
  const base = { tool: 'rocm-smi' as const, durationMs: r.durationMs };
  if (r.kind !== 'ok') return { status: { ...base, status: r.kind, error: r.error }, gpus: [] };
  try {
    return { status: { ...base, status: 'ok' }, gpus: parseRocmSmiJson(r.stdout) };
  } catch (err) {
    return { status: { ...base, status: 'failed', error: (err as Error).message }, gpus: [] };
  }
}
