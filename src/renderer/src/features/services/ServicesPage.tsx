/**
 * Services: every service with a toggle that shows what the core reports (kept live by
 * `services.changed`), its state with the reason, restart/remove, a log viewer that follows, and
 * a create dialog (model → compatible engines → device/GPUs → port, with the fit verdict).
 */
import { Banners } from '../../components/Banners.js';
import { useEffect, useMemo, useRef, useState } from 'react';
import type { EngineSummary, GpuInfo, ModelFit, ModelSummary, ServiceSummary } from '../../../../shared/contract/index.js';
import { hasProcess, type ServicePhase } from '../../../../shared/service-state.js';
import { formatDuration } from '../../../../shared/duration.js';
import { formatBytes } from '../../../../shared/format-bytes.js';
import { invoke } from '../../api/client.js';
import { useModels } from '../../stores/models.js';
import { useServices } from '../../stores/services.js';

export function ServicesPage() {
  const { services, loaded, error, notice, load, loadEngines, logOf } = useServices();
  const [creating, setCreating] = useState(false);
  useEffect(() => {
    void load();
    void loadEngines();
  }, [load, loadEngines]);

  return (
    <>
      <div className="form-row">
        <button type="button" className="primary" data-testid="new-service" onClick={() => setCreating(true)} disabled={creating}>
          New service…
        </button>
      </div>
      {creating && <CreateDialog onClose={() => setCreating(false)} />}
      <Banners error={error} notice={notice} errorTestId="service-error" />
      <section className="card">
        <h2>Services</h2>
        {!loaded ? (
          <p>Loading…</p>
        ) : services.length === 0 ? (
          <p className="muted">No services yet. A service runs one model on one engine; create one with “New service…”.</p>
        ) : (
          <table className="grid" data-testid="services-table">
            <thead>
              <tr>
                <th>On</th>
                <th>Name</th>
                <th>Model</th>
                <th>Engine</th>
                <th>Device</th>
                <th>Address</th>
                <th>State</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {withReplicasUnderPrimary(services).map((s) => (
                <ServiceRow key={s.id} service={s} />
              ))}
            </tbody>
          </table>
        )}
      </section>
      {logOf && <LogViewer name={logOf} />}
    </>
  );
}

/** Each service followed by its replicas (a replica whose primary is not listed stays in place). */
export function withReplicasUnderPrimary(services: ServiceSummary[]): ServiceSummary[] {
  const names = new Set(services.map((s) => s.name));
  const out: ServiceSummary[] = [];
  for (const s of services) {
    if (s.replicaOf && names.has(s.replicaOf)) continue;
    out.push(s, ...services.filter((r) => r.replicaOf === s.name));
  }
  return out;
}

/** The toggle is on while the service has (or is getting) a process, whatever was clicked. */
export function toggleIsOn(s: ServiceSummary): boolean {
  return hasProcess(s.state) && s.state !== 'stopping';
}

const badgeClass: Record<ServicePhase, string> = {
  stopped: 'badge',
  starting: 'badge busy',
  loading: 'badge busy',
  running: 'badge ok',
  stopping: 'badge busy',
  failed: 'badge bad',
  crashed: 'badge bad',
  backoff: 'badge warn',
  unreachable: 'badge warn',
};

function ServiceRow({ service: s }: { service: ServiceSummary }) {
  const { busy, setRunning, restart, setPinned, remove, openLog, logOf, pulls } = useServices();
  const pull = pulls[s.name];
  const on = toggleIsOn(s);
  const isBusy = !!busy[s.name];
  return (
    <tr data-service={s.name}>
      <td>
        <label className="switch" title={on ? 'Stop' : 'Start'}>
          <input
            type="checkbox"
            role="switch"
            aria-label={`Run ${s.name}`}
            name={`run-${s.name}`}
            checked={on}
            disabled={isBusy || s.state === 'stopping'}
            onChange={(e) => void setRunning(s.name, e.target.checked)}
          />
          <span />
        </label>
      </td>
      <td>
        {s.replicaOf ? (
          <span className="replica" title={`A replica of ${s.replicaOf}: the gateway spreads requests for the model over them`}>
            ↳ {s.name} <span className="muted small">replica of {s.replicaOf}</span>
          </span>
        ) : (
          s.name
        )}
      </td>
      <td>{s.model ?? <span className="muted">none</span>}</td>
      <td>{s.engine}</td>
      <td>
        {s.device}
        {s.device === 'gpu' && s.gpus.length > 0 ? ` ${s.gpus.join(',')}` : ''}
        {s.span && (
          <span className="small muted" title="One model across these nodes (tensor × pipeline parallel)">
            {' '}
            on {s.span.nodes.join(' + ')} (tp {s.span.tensorParallel}, pp {s.span.pipelineParallel})
          </span>
        )}
      </td>
      <td className="small">{s.url ?? (s.configuredPort === 0 ? 'port: auto' : `port ${s.configuredPort}`)}</td>
      <td>
        <span className={badgeClass[s.state]} data-testid="state">
          {s.state}
        </span>
        {s.restarts > 0 && <span className="small muted"> ({s.restarts} crash{s.restarts === 1 ? '' : 'es'})</span>}
        {pull && (
          <div className="small muted" data-testid="pull">
            Pulling the image{pull.total ? `: ${Math.round((100 * pull.done) / pull.total)}%` : '…'} {pull.message ?? ''}
          </div>
        )}
        {s.reason && (
          <div className="small reason" data-testid="reason">
            {s.reason}
          </div>
        )}
        {s.placement && (
          <div className="small muted" data-testid="placement" title={`Decided ${new Date(s.placement.at).toLocaleString()}`}>
            Placed {s.placement.decision}
            {s.placement.measuredBytes !== null && hasProcess(s.state) ? ` · holds ${formatBytes(s.placement.measuredBytes)}` : ''}
          </div>
        )}
        {(s.pinned || s.evictions > 0 || s.idleTtl !== null) && (
          <div className="small muted" data-testid="scheduling">
            {[s.pinned ? 'pinned' : null, s.idleTtl !== null ? (s.idleTtl === 0 ? 'never stopped for idleness' : `stops after ${formatDuration(s.idleTtl)} idle`) : null, s.evictions > 0 ? `evicted ${s.evictions}×` : null]
              .filter(Boolean)
              .join(' · ')}
          </div>
        )}
      </td>
      <td className="actions">
        <button type="button" onClick={() => void openLog(logOf === s.name ? null : s.name)} aria-pressed={logOf === s.name}>
          Logs
        </button>
        <button type="button" onClick={() => void restart(s.name)} disabled={isBusy}>
          Restart
        </button>
        <button
          type="button"
          onClick={() => void setPinned(s.name, !s.pinned)}
          disabled={isBusy}
          aria-pressed={s.pinned}
          title={s.pinned ? 'Pinned: never stopped to make room or for idleness. Click to unpin.' : 'Pin: never stop it to make room for another service or for idleness'}
        >
          {s.pinned ? 'Unpin' : 'Pin'}
        </button>
        <button
          type="button"
          onClick={() => {
            if (window.confirm(`Remove service "${s.name}"? Its engine is stopped; the model stays in the library.`)) void remove(s.name);
          }}
          disabled={isBusy}
        >
          Remove
        </button>
      </td>
    </tr>
  );
}

function LogViewer({ name }: { name: string }) {
  const { logLines, openLog } = useServices();
  const [follow, setFollow] = useState(true);
  const ref = useRef<HTMLPreElement>(null);
  useEffect(() => {
    if (follow && ref.current) ref.current.scrollTop = ref.current.scrollHeight;
  }, [logLines, follow]);
  return (
    <section className="card" data-testid="log-viewer">
      <div className="form-row">
        <h2 className="grow">Log of {name}</h2>
        <label className="small">
          <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} /> Follow
        </label>
        <button type="button" onClick={() => void openLog(null)}>
          Close
        </button>
      </div>
      <pre className="log" ref={ref} data-testid="log-lines">
        {logLines.length === 0 ? 'The log is empty.' : logLines.join('\n')}
      </pre>
    </section>
  );
}

/** Engines that can run the model (or need none when no model is chosen). */
export function compatibleEngines(engines: EngineSummary[], model: ModelSummary | null): EngineSummary[] {
  return engines.filter((e) => (model ? e.modelFormats.includes(model.format) && e.modelKinds.includes(model.kind) : !e.modelRequired));
}

function CreateDialog({ onClose }: { onClose: () => void }) {
  const { engines, create } = useServices();
  const { models, loaded: modelsLoaded, load: loadModels } = useModels();
  const [modelName, setModelName] = useState('');
  const [engineId, setEngineId] = useState('');
  const [device, setDevice] = useState<'cpu' | 'gpu'>('cpu');
  const [gpus, setGpus] = useState<number[]>([]);
  const [port, setPort] = useState('0');
  const [image, setImage] = useState('');
  const [name, setName] = useState('');
  const [nameTouched, setNameTouched] = useState(false);
  const [hostGpus, setHostGpus] = useState<GpuInfo[]>([]);
  const [fit, setFit] = useState<ModelFit | { error: string } | null>(null);
  const [submitting, setSubmitting] = useState(false);

  useEffect(() => {
    if (!modelsLoaded) void loadModels();
    invoke('hardware.report', {})
      .then((r) => setHostGpus(r.gpus))
      .catch(() => setHostGpus([]));
  }, [modelsLoaded, loadModels]);

  const model = models.find((m) => m.name === modelName) ?? null;
  const choices = useMemo(() => compatibleEngines(engines, model), [engines, model]);
  const engine = choices.find((e) => e.id === engineId) ?? null;

  // Pick the first engine that can run here whenever the model changes.
  useEffect(() => {
    if (!choices.some((e) => e.id === engineId)) setEngineId((choices.find((e) => e.canRun) ?? choices[0])?.id ?? '');
  }, [choices, engineId]);
  useEffect(() => {
    if (engine && !engine.devices.includes(device)) setDevice(engine.devices[0]!);
  }, [engine, device]);
  useEffect(() => {
    if (!nameTouched) setName(suggestName(model?.name ?? engine?.id ?? ''));
  }, [model, engine, nameTouched]);
  useEffect(() => {
    setFit(null);
    if (!model) return;
    let live = true;
    invoke('models.fit', { name: model.name, ...(device === 'gpu' && gpus.length > 0 ? { gpu: gpus[0] } : {}) })
      .then((f) => live && setFit(f))
      .catch((err: unknown) => live && setFit({ error: err instanceof Error ? err.message : String(err) }));
    return () => {
      live = false;
    };
  }, [model, device, gpus]);

  const portNumber = Number(port);
  const valid = !!engine && (model || !engine.modelRequired) && (!engine.imageFromService || image.trim() !== '') && /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) && Number.isInteger(portNumber) && portNumber >= 0 && portNumber <= 65535;

  return (
    <section className="card" role="dialog" aria-label="New service" data-testid="create-service">
      <h2>New service</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (!valid || !engine) return;
          setSubmitting(true);
          void create({
            name,
            engine: engine.id,
            ...(model ? { model: model.name } : {}),
            ...(engine.imageFromService ? { image: image.trim() } : {}),
            device,
            gpus: device === 'gpu' ? gpus : [],
            port: portNumber,
          })
            .then((ok) => ok && onClose())
            .finally(() => setSubmitting(false));
        }}
      >
        <div className="form-row">
          <label>
            Model{' '}
            <select name="model" value={modelName} onChange={(e) => setModelName(e.target.value)}>
              <option value="">(none)</option>
              {models.map((m) => (
                <option key={m.id} value={m.name}>
                  {m.name} — {m.kind}, {m.format}
                </option>
              ))}
            </select>
          </label>
          <label>
            Engine{' '}
            <select name="engine" value={engineId} onChange={(e) => setEngineId(e.target.value)}>
              {choices.length === 0 && <option value="">no engine runs this model</option>}
              {choices.map((e) => (
                <option key={e.id} value={e.id}>
                  {e.name}
                  {e.canRun ? '' : ` — cannot run here (${e.reason})`}
                </option>
              ))}
            </select>
          </label>
        </div>
        {engine && !engine.canRun && <p className="small warn-text">{engine.detail}</p>}
        {engine?.imageFromService && (
          <div className="form-row">
            <label className="grow">
              Image{' '}
              <input name="image" className="grow" placeholder="e.g. ghcr.io/me/server:1 (serves /health and the API on port 8000)" value={image} onChange={(e) => setImage(e.target.value)} />
            </label>
          </div>
        )}
        <div className="form-row">
          <label>
            Device{' '}
            <select name="device" value={device} onChange={(e) => setDevice(e.target.value as 'cpu' | 'gpu')}>
              {(engine?.devices ?? ['cpu']).map((d) => (
                <option key={d} value={d}>
                  {d}
                </option>
              ))}
            </select>
          </label>
          {device === 'gpu' && (
            <span className="small">
              {hostGpus.length === 0
                ? 'No GPU detected on this machine.'
                : hostGpus.map((g) => (
                    <label key={g.index}>
                      <input
                        type="checkbox"
                        name={`gpu-${g.index}`}
                        checked={gpus.includes(g.index)}
                        onChange={(e) => setGpus((cur) => (e.target.checked ? [...cur, g.index].sort((a, b) => a - b) : cur.filter((i) => i !== g.index)))}
                      />{' '}
                      GPU {g.index} ({g.name}){' '}
                    </label>
                  ))}
              {hostGpus.length > 0 && gpus.length === 0 && ' (none ticked: all GPUs)'}
            </span>
          )}
          <label>
            Port{' '}
            <input name="port" type="number" min={0} max={65535} value={port} onChange={(e) => setPort(e.target.value)} title="0 picks a free port at each start" />
          </label>
          <label>
            Name{' '}
            <input
              name="name"
              value={name}
              onChange={(e) => {
                setNameTouched(true);
                setName(e.target.value);
              }}
            />
          </label>
        </div>
        {model && <FitLine fit={fit} />}
        <div className="form-row">
          <button type="submit" className="primary" disabled={!valid || submitting}>
            Create
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </section>
  );
}

function FitLine({ fit }: { fit: ModelFit | { error: string } | null }) {
  if (!fit) return <p className="small muted">Estimating whether it fits…</p>;
  if ('error' in fit) return <p className="small muted">No fit estimate: {fit.error}</p>;
  const cls = fit.verdict.kind === 'fits' ? 'ok-text' : fit.verdict.kind === 'does-not-fit' ? 'error' : 'warn-text';
  return (
    <div className="small" data-testid="fit-verdict">
      <span className={cls}>
        <strong>{fit.verdict.kind}</strong>: {fit.verdict.message}
      </span>
      {fit.suggestions.length > 0 && (
        <ul className="probes">
          {fit.suggestions.map((s, i) => (
            <li key={i}>{s.message}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

function suggestName(base: string): string {
  const cleaned = base.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '');
  return cleaned.slice(0, 64);
}
