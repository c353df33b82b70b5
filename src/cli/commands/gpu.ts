/**
 * `aima gpu [--json] [--watch]`: the GPUs (VRAM, utilization, temperature, power), who holds their
 * memory (AIMA's services vs foreign processes), and CPU/RAM/disk/Docker lines. --watch holds a
 * telemetry lease and redraws on every `hardware.sample` (1 Hz) until Ctrl+C.
 */
import type { Command } from 'commander';
import type { ContainerPlatform, GpuAttribution, GpuInfo, HardwareReport, HardwareSample } from '../../shared/contract/index.js';
import { action, withConnection } from '../context.js';
import { formatBytes } from '../../shared/format-bytes.js';

const opt = (v: number | undefined, unit: string, digits = 0) => (v === undefined ? '-' : `${v.toFixed(digits)}${unit}`);

function gpuTable(gpus: GpuInfo[]): string {
  const rows = [
    ['GPU', 'NAME', 'VRAM USED / TOTAL', 'UTIL', 'TEMP', 'POWER'],
    ...gpus.map((g) => [
      String(g.index),
      g.name,
      `${g.memoryUsedMiB} / ${g.memoryTotalMiB} MiB (${g.memoryTotalMiB > 0 ? Math.round((100 * g.memoryUsedMiB) / g.memoryTotalMiB) : 0}%)`,
      opt(g.utilizationGpu, '%'),
      opt(g.temperatureC, ' °C'),
      g.powerDrawW === undefined ? '-' : `${g.powerDrawW.toFixed(0)}${g.powerLimitW ? ` / ${g.powerLimitW.toFixed(0)}` : ''} W`,
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

function processes(a: GpuAttribution): string {
  const lines = [`GPU ${a.index} memory: ${a.ownMiB} MiB AIMA services, ${a.foreignMiB} MiB other processes, ${a.unattributedMiB} MiB unattributed`];
  for (const p of a.own) lines.push(`  aima     ${String(p.pid).padStart(7)}  ${String(p.usedMemoryMiB).padStart(6)} MiB  service ${p.service}`);
  for (const p of a.foreign) lines.push(`  foreign  ${String(p.pid).padStart(7)}  ${String(p.usedMemoryMiB).padStart(6)} MiB  ${p.name}`);
  return lines.join('\n');
}

export function dockerLine(c: ContainerPlatform): string {
  if (c.status !== 'running') return `Docker  ${c.status} at ${c.endpoint}: ${c.error}\n        Fix: ${c.fix}`;
  const gpu =
    c.gpu.kind === 'nvidia-runtime'
      ? `GPU containers via the nvidia runtime${c.gpu.isDefault ? ' (default)' : ''}`
      : c.gpu.kind === 'cdi'
        ? `GPU containers via CDI (${c.gpu.devices.join(', ')})`
        : `no GPU containers: ${c.gpu.explanation}\n        Fix: ${c.gpu.fix}`;
  return `Docker  ${c.version} (API ${c.apiVersion}) at ${c.endpoint}; ${gpu}`;
}

function hostLines(r: HardwareReport, memory = r.memory, cpuPercent?: number): string {
  const lines: string[] = [];
  if (r.cpu) {
    const simd = [r.cpu.avx2 && 'AVX2', r.cpu.avx512 && 'AVX-512'].filter(Boolean).join(', ');
    lines.push(`CPU     ${r.cpu.brand} (${r.cpu.cores} cores, ${r.cpu.threads} threads${simd ? `, ${simd}` : ''})${cpuPercent !== undefined ? `, ${cpuPercent.toFixed(0)}% busy` : ''}`);
  }
  if (memory) lines.push(`RAM     ${formatBytes(memory.availableBytes)} available of ${formatBytes(memory.totalBytes)}`);
  if (r.disk) lines.push(`Disk    ${formatBytes(r.disk.freeBytes)} free of ${formatBytes(r.disk.totalBytes)} at ${r.disk.path}`);
  if (r.os) lines.push(`OS      ${r.os.distro} ${r.os.release} (${r.os.platform} ${r.os.kernel}, ${r.os.arch})`);
  lines.push(dockerLine(r.containerPlatform));
  for (const e of r.errors) lines.push(`(could not read ${e})`);
  return lines.join('\n');
}

function noGpu(r: HardwareReport): string {
  const probes = r.gpuProbes.map((p) => `  ${p.tool.padEnd(18)} ${p.status === 'not-present' ? 'not present' : p.status}${p.error ? `: ${p.error}` : ''}`);
  return ['No GPU detected. Probes:', ...probes].join('\n');
}

/** The whole screen: GPU table, memory split per GPU, host lines. */
export function render(r: HardwareReport, live?: Extract<HardwareSample, { type: 'sample' }>, error?: string): string {
  // Live fields over the report's (which alone knows the CUDA version and non-NVIDIA GPUs).
  const gpus = r.gpus.map((g) => ({ ...g, ...live?.gpus.find((x) => x.uuid === g.uuid) }));
  const attribution = r.attribution.map((a) => live?.attribution.find((x) => x.uuid === a.uuid) ?? a);
  const parts = [gpus.length ? gpuTable(gpus) : noGpu(r)];
  if (error) parts.push(`Telemetry error: ${error}`);
  const splits = attribution.filter((a) => a.usedMiB > 0 || a.own.length || a.foreign.length).map(processes);
  if (splits.length) parts.push(splits.join('\n'));
  parts.push(hostLines(r, live?.memory ?? r.memory, live?.cpuPercent));
  return parts.join('\n\n');
}

export function registerGpu(program: Command): void {
  program
    .command('gpu')
    .description('GPUs, their memory by process (AIMA services vs others), CPU, RAM, disk and Docker')
    .option('--json', 'print JSON (with --watch: one line per sample)')
    .option('-w, --watch', 'redraw every second until Ctrl+C')
    .action(
      action(async (opts: { json?: boolean; watch?: boolean }) => {
        await withConnection(async (conn) => {
          const report = await conn.api['hardware.report']({});
          if (!opts.watch) {
            process.stdout.write((opts.json ? JSON.stringify(report, null, 2) : render(report)) + '\n');
            return;
          }
          const tty = process.stdout.isTTY && !opts.json;
          const draw = (text: string) => process.stdout.write(tty ? `\x1b[H\x1b[2J${text}\n` : `${text}\n\n`);
          if (!opts.json) draw(render(report));
          const off = conn.transport.on('hardware.sample', (s) => {
            if (opts.json) process.stdout.write(JSON.stringify(s) + '\n');
            else draw(s.type === 'sample' ? render(report, s) : render(report, undefined, s.error));
          });
          // The lease lapses by itself if this process dies; Ctrl+C closes it at once.
          let lease = await conn.api['hardware.watch']({});
          const renew = setInterval(() => {
            conn.api['hardware.watch']({ leaseId: lease.leaseId }).then(
              (l) => (lease = l),
              () => {},
            );
          }, lease.renewEveryMs);
          try {
            await new Promise<void>((resolve) => {
              process.once('SIGINT', () => resolve());
              process.once('SIGTERM', () => resolve());
            });
          } finally {
            clearInterval(renew);
            off();
            await conn.api['hardware.unwatch']({ leaseId: lease.leaseId }).catch(() => {});
          }
        });
      }),
    );
}
