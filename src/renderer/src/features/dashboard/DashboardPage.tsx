/**
 * Dashboard: a card per GPU (VRAM bar, utilization, temperature, power, each with a live chart),
 * who holds each GPU's memory (AIMA's services vs other processes), CPU, RAM, disk, Docker, and
 * the nodes (Docker engines) services may run on.
 * Telemetry runs only while this page is open (the store holds a watch lease).
 */
import { useEffect, type ReactNode } from 'react';
import type { ContainerPlatform, GpuAttribution, GpuInfo, HardwareReport, ProbeStatus } from '../../../../shared/contract/index.js';
import { useHardware, type GpuHistory } from '../../stores/hardware.js';
import { LiveChart } from './LiveChart.js';
import { NodesSection } from './NodesSection.js';
import { formatBytes } from '../../../../shared/format-bytes.js';

const pct = (used: number, total: number) => (total > 0 ? Math.min(100, (100 * used) / total) : 0);
const fmt = (v: number | undefined, unit: string, digits = 0) => (v === undefined ? '–' : `${v.toFixed(digits)} ${unit}`);

export function DashboardPage() {
  const { report, latest, error, sampleError, gpuHistory, cpuHistory, ramHistory, loading, start, stop } = useHardware();
  useEffect(() => {
    start();
    return () => stop();
  }, [start, stop]);

  if (!report) {
    return error ? (
      <div className="banner error-banner" role="alert">
        <strong>{error.message}</strong> {error.fix}
      </div>
    ) : (
      <p className="muted">Detecting hardware…</p>
    );
  }
  // Live values once telemetry answers; the report until then (and for GPUs it does not sample).
  // A sample carries the fast-changing fields of the GPUs it samples (NVIDIA); the report keeps
  // what only `-q -x` knows (CUDA version, MIG) and the GPUs telemetry does not cover.
  const live = (uuid: string) => latest?.gpus.find((g) => g.uuid === uuid);
  const gpus = report.gpus.map((g) => ({ ...g, ...live(g.uuid) }));
  const attribution = report.attribution.map((a) => latest?.attribution.find((x) => x.uuid === a.uuid) ?? a);
  const memory = latest?.memory ?? report.memory;

  return (
    <div className="dashboard">
      {sampleError && (
        <div className="banner warn" role="alert" data-testid="telemetry-error">
          Telemetry failed: {sampleError}
        </div>
      )}
      {gpus.length === 0 ? (
        <NoGpu probes={report.gpuProbes} />
      ) : (
        <div className="gpu-grid">
          {gpus.map((g) => (
            <GpuCard key={g.uuid} gpu={g} history={gpuHistory[g.uuid]} attribution={attribution.find((a) => a.uuid === g.uuid)} />
          ))}
        </div>
      )}
      <div className="host-grid">
        <section className="card" data-testid="cpu-card">
          <h2>CPU</h2>
          {report.cpu ? (
            <>
              <p className="metric-main">{report.cpu.brand}</p>
              <p className="muted">
                {report.cpu.cores} cores, {report.cpu.threads} threads
                {report.cpu.avx2 ? ' · AVX2' : ''}
                {report.cpu.avx512 ? ' · AVX-512' : ''}
              </p>
              <Metric label="Busy" value={fmt(latest?.cpuPercent, '%')}>
                <LiveChart series={cpuHistory} max={100} color="#7c3aed" label="CPU busy %" />
              </Metric>
            </>
          ) : (
            <p className="muted">Could not read the CPU.</p>
          )}
        </section>
        <section className="card" data-testid="ram-card">
          <h2>RAM</h2>
          {memory ? (
            <>
              <p className="metric-main">
                {formatBytes(memory.totalBytes - memory.availableBytes)} used of {formatBytes(memory.totalBytes)}
              </p>
              <Bar value={pct(memory.totalBytes - memory.availableBytes, memory.totalBytes)} label="RAM used" />
              <p className="muted">{formatBytes(memory.availableBytes)} available</p>
              <LiveChart series={ramHistory} max={100} color="#0e9f6e" label="RAM used %" />
            </>
          ) : (
            <p className="muted">Could not read memory.</p>
          )}
        </section>
        <section className="card" data-testid="disk-card">
          <h2>Disk</h2>
          {report.disk ? (
            <>
              <p className="metric-main">
                {formatBytes(report.disk.freeBytes)} free of {formatBytes(report.disk.totalBytes)}
              </p>
              <Bar value={pct(report.disk.totalBytes - report.disk.freeBytes, report.disk.totalBytes)} label="Disk used" />
              <p className="muted">
                Data directory <code>{report.disk.path}</code>
              </p>
            </>
          ) : (
            <p className="muted">Could not read the disk.</p>
          )}
        </section>
        <DockerCard platform={report.containerPlatform} />
      </div>
      <NodesSection />
      <p className="muted small">
        {report.os ? `${report.os.distro} ${report.os.release} · ${report.os.kernel} · ${report.os.arch} · ` : ''}
        detected in {report.durationMs} ms{' '}
        <button onClick={() => void useHardware.getState().loadReport()} disabled={loading}>
          Detect again
        </button>
      </p>
      {report.errors.length > 0 && <p className="muted">Could not read: {report.errors.join('; ')}</p>}
    </div>
  );
}

function Bar({ value, label }: { value: number; label: string }) {
  return (
    <div className="bar" role="meter" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(value)}>
      <div style={{ width: `${value}%` }} />
    </div>
  );
}

function Metric({ label, value, children }: { label: string; value: string; children: ReactNode }) {
  return (
    <div className="metric" data-metric={label}>
      <div className="metric-head">
        <span className="muted">{label}</span>
        <strong>{value}</strong>
      </div>
      {children}
    </div>
  );
}

function GpuCard({ gpu, history, attribution }: { gpu: GpuInfo; history: GpuHistory | undefined; attribution: GpuAttribution | undefined }) {
  const h = history ?? { util: { t: [], v: [] }, vram: { t: [], v: [] }, temp: { t: [], v: [] }, power: { t: [], v: [] } };
  return (
    <section className="card gpu-card" data-testid="gpu-card" data-gpu={gpu.index}>
      <h2>
        GPU {gpu.index} · <span data-testid="gpu-name">{gpu.name}</span>
      </h2>
      <p className="muted">
        {[gpu.driverVersion && `driver ${gpu.driverVersion}`, gpu.cudaVersion && `CUDA ${gpu.cudaVersion}`, gpu.computeCapability && `compute ${gpu.computeCapability}`]
          .filter(Boolean)
          .join(' · ')}
      </p>
      <div className="metric-head">
        <span className="muted">VRAM</span>
        <strong data-testid="gpu-vram">
          {gpu.memoryUsedMiB} / {gpu.memoryTotalMiB} MiB
        </strong>
      </div>
      <Bar value={pct(gpu.memoryUsedMiB, gpu.memoryTotalMiB)} label={`GPU ${gpu.index} VRAM used`} />
      <div className="metric-grid">
        <Metric label="Utilization" value={fmt(gpu.utilizationGpu, '%')}>
          <LiveChart series={h.util} max={100} color="#3056d3" label={`GPU ${gpu.index} utilization %`} />
        </Metric>
        <Metric label="VRAM used" value={fmt(pct(gpu.memoryUsedMiB, gpu.memoryTotalMiB), '%')}>
          <LiveChart series={h.vram} max={100} color="#0891b2" label={`GPU ${gpu.index} VRAM %`} />
        </Metric>
        <Metric label="Temperature" value={fmt(gpu.temperatureC, '°C')}>
          <LiveChart series={h.temp} max={100} color="#dc6803" label={`GPU ${gpu.index} temperature °C`} />
        </Metric>
        <Metric label="Power" value={gpu.powerDrawW === undefined ? '–' : `${gpu.powerDrawW.toFixed(0)}${gpu.powerLimitW ? ` / ${gpu.powerLimitW.toFixed(0)}` : ''} W`}>
          <LiveChart series={h.power} max={gpu.powerLimitW} color="#b42318" label={`GPU ${gpu.index} power W`} />
        </Metric>
      </div>
      {attribution && <Processes a={attribution} />}
    </section>
  );
}

function Processes({ a }: { a: GpuAttribution }) {
  if (a.own.length === 0 && a.foreign.length === 0) {
    return <p className="muted" data-testid="gpu-processes">No process holds memory on this GPU{a.unattributedMiB > 0 ? ` (${a.unattributedMiB} MiB reserved by the driver)` : ''}.</p>;
  }
  return (
    <div data-testid="gpu-processes">
      <h3>Memory by process</h3>
      <table className="grid compact">
        <thead>
          <tr>
            <th>Owner</th>
            <th>Process</th>
            <th>PID</th>
            <th className="num">VRAM</th>
          </tr>
        </thead>
        <tbody>
          {a.own.map((p) => (
            <tr key={`own-${p.pid}`} data-owner="aima">
              <td>
                <span className="tag aima">AIMA</span> {p.service}
              </td>
              <td className="muted">service</td>
              <td>{p.pid}</td>
              <td className="num">{p.usedMemoryMiB} MiB</td>
            </tr>
          ))}
          {a.foreign.map((p) => (
            <tr key={`foreign-${p.pid}`} data-owner="foreign">
              <td>
                <span className="tag">other</span>
              </td>
              <td>{p.name}</td>
              <td>{p.pid}</td>
              <td className="num">{p.usedMemoryMiB} MiB</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="muted small">
        AIMA {a.ownMiB} MiB · other processes {a.foreignMiB} MiB · unattributed {a.unattributedMiB} MiB
      </p>
    </div>
  );
}

const probeText = (p: ProbeStatus) => (p.status === 'not-present' ? 'not present' : p.status === 'ok' ? 'ran, found no GPU' : `${p.status}${p.error ? `: ${p.error}` : ''}`);

function NoGpu({ probes }: { probes: HardwareReport['gpuProbes'] }) {
  return (
    <section className="card" data-testid="no-gpu">
      <h2>No GPU detected</h2>
      <p className="muted">Models run on the CPU. What each probe found:</p>
      <ul className="probes">
        {probes.map((p) => (
          <li key={p.tool} data-probe={p.tool} data-status={p.status}>
            <code>{p.tool}</code> {probeText(p)}
          </li>
        ))}
      </ul>
    </section>
  );
}

function DockerCard({ platform: c }: { platform: ContainerPlatform }) {
  return (
    <section className="card docker-card" data-testid="docker-card" data-status={c.status}>
      <h2>Docker</h2>
      {c.status === 'running' ? (
        <>
          <p className="metric-main">
            Running {c.version} <span className="muted">(API {c.apiVersion})</span>
          </p>
          {c.gpu.kind === 'nvidia-runtime' && <p>GPU containers: NVIDIA runtime{c.gpu.isDefault ? ' (default)' : ''}.</p>}
          {c.gpu.kind === 'cdi' && <p>GPU containers: CDI devices {c.gpu.devices.join(', ')}.</p>}
          {c.gpu.kind === 'none' && (
            <div className="banner warn" data-testid="docker-gpu-missing">
              <p>{c.gpu.explanation}</p>
              <p>
                <strong>Fix:</strong> {c.gpu.fix}
              </p>
            </div>
          )}
        </>
      ) : (
        <div className="banner warn" data-testid="docker-problem">
          <p>
            <strong>{c.status === 'not-running' ? 'Not running' : c.status === 'permission-denied' ? 'Permission denied' : c.status === 'timeout' ? 'No answer' : 'Error'}</strong> at {c.endpoint}: {c.error}
          </p>
          <p>
            <strong>Fix:</strong> {c.fix}
          </p>
        </div>
      )}
    </section>
  );
}
