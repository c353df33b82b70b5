/**
 * Set up the voice chain from the page: per link a compatible library model (or automatic), where
 * a new LLM runs, the starter set to fetch when the library lacks models (download progress and
 * Cancel on the downloads' rows), and the budget — each link's device and memory, the total
 * against what is free, the verdict, ways to make it fit, what else holds the GPU — before
 * anything starts. "Set up and start" creates and starts the services, with progress and Cancel.
 */
import { useEffect } from 'react';
import type { VoicePlan, VoiceRole } from '../../../../shared/contract/index.js';
import { formatBytes } from '../../../../shared/format-bytes.js';
import { useDownloads } from '../../stores/downloads.js';
import { compatibleModels, useVoiceSetup } from '../../stores/voice-setup.js';
import { DownloadList, Starters } from '../downloads/DownloadsPanel.js';
import { ROLE_LABEL } from './chain.js';

const ROLES: VoiceRole[] = ['asr', 'llm', 'tts'];

export function VoiceSetup({ required }: { required: boolean }) {
  const s = useVoiceSetup();
  const loadDownloads = useDownloads((d) => d.load);
  useEffect(() => {
    // Mounted = open: the plan follows the library and the services while the card shows.
    useVoiceSetup.setState({ open: true });
    void s.load();
    void loadDownloads();
    return () => useVoiceSetup.setState({ open: false });
  }, []);
  const missing = ROLES.filter((r) => r !== 'tts' && compatibleModels(r, s.models, s.engines).length === 0);
  const frac = s.running?.progress?.total ? Math.min(1, s.running.progress.done / s.running.progress.total) : null;
  const fits = s.plan?.verdict.kind === 'fits';

  return (
    <section className="card voice-setup" data-testid="voice-setup">
      <h2>Set up the voice chain</h2>
      <p className="muted small">
        {required ? 'No voice chain is set yet. ' : ''}Pick what hears you (ASR), thinks (LLM) and speaks (TTS); AIMA creates the services on its embedded engines and starts them. Left on automatic, a link uses a running service of its kind or a model from your library.
      </p>
      <div className="form-row">
        {ROLES.map((role) => (
          <LinkPicker key={role} role={role} />
        ))}
        <label>
          LLM runs on{' '}
          <select name="llmDevice" value={s.choices.llmDevice ?? 'auto'} onChange={(e) => s.choose({ llmDevice: e.target.value === 'auto' ? undefined : (e.target.value as 'cpu' | 'gpu') })} disabled={!!s.running}>
            <option value="auto">GPU if it fits, else CPU</option>
            <option value="cpu">CPU</option>
            <option value="gpu">GPU</option>
          </select>
        </label>
      </div>
      {missing.length > 0 && (
        <div data-testid="voice-starters">
          <p className="small">
            Your library has no {missing.map((r) => ROLE_LABEL[r]).join(' or ')} model the embedded engines can run. Fetch the starter set, or import models on the Models page.
          </p>
          <Starters title="Starter set" />
          <DownloadList />
        </div>
      )}
      {s.error && (
        <div className="banner error-banner" role="alert" data-testid="voice-setup-error">
          <strong>{s.error.message}</strong> {s.error.fix}
        </div>
      )}
      {s.plan && <BudgetView plan={s.plan} />}
      {s.running ? (
        <div className="form-row" data-testid="voice-setup-progress">
          <span className="grow">{s.running.progress?.message ?? 'Setting up…'}</span>
          {frac !== null && <span>{Math.round(frac * 100)}%</span>}
          <button type="button" onClick={() => void s.cancel()}>
            Cancel
          </button>
        </div>
      ) : (
        <div className="form-row">
          <button type="button" className="primary" data-testid="voice-setup-start" disabled={!s.plan || !fits || s.planning} onClick={() => void s.apply()}>
            Set up and start
          </button>
          {s.plan && !fits && (
            <button type="button" data-testid="voice-setup-force" onClick={() => void s.apply(true)} title="Estimates can be wrong">
              Set up anyway
            </button>
          )}
          {!required && (
            <button type="button" onClick={() => s.show(false)}>
              Close
            </button>
          )}
        </div>
      )}
      {frac !== null && s.running && (
        <div className="bar">
          <div style={{ width: `${frac * 100}%` }} />
        </div>
      )}
    </section>
  );
}

function LinkPicker({ role }: { role: VoiceRole }) {
  const { choices, models, engines, choose, running } = useVoiceSetup();
  const options = compatibleModels(role, models, engines);
  return (
    <label>
      {ROLE_LABEL[role]}{' '}
      <select name={`voice-${role}`} data-testid={`voice-setup-${role}`} value={choices[role] ?? ''} onChange={(e) => choose({ [role]: e.target.value || undefined })} disabled={!!running}>
        <option value="">{role === 'tts' ? 'Automatic (built-in voices need no model)' : 'Automatic'}</option>
        {options.map((m) => (
          <option key={m.id} value={m.name}>
            {m.name} ({m.format}, {formatBytes(m.sizeBytes)})
          </option>
        ))}
      </select>
    </label>
  );
}

function linkMemory(l: VoicePlan['links'][number]): string {
  if (l.device === 'remote') return 'remote';
  const parts = [l.gpuBytes > 0 ? `${formatBytes(l.gpuBytes)} GPU` : '', l.ramBytes > 0 ? `${formatBytes(l.ramBytes)} RAM` : ''].filter(Boolean);
  return parts.join(' + ') || '—';
}

/** The budget: one row per link, the total against what is free, the verdict, ways out, the GPU's holders. */
export function BudgetView({ plan }: { plan: VoicePlan }) {
  const choose = useVoiceSetup((s) => s.choose);
  const v = plan.verdict;
  return (
    <div data-testid="voice-budget" data-verdict={v.kind}>
      <table className="grid">
        <thead>
          <tr>
            <th>Link</th>
            <th>Model</th>
            <th>Served by</th>
            <th>Device</th>
            <th>Memory</th>
          </tr>
        </thead>
        <tbody>
          {plan.links.map((l) => (
            <tr key={l.role} data-testid="budget-link" data-role={l.role} data-device={l.device}>
              <td>{ROLE_LABEL[l.role]}</td>
              <td>
                <code>{l.name}</code>
                {l.contextSize ? <span className="muted small"> · ctx {l.contextSize}</span> : null}
              </td>
              <td title={l.note}>{l.via === 'new-service' ? `new service ${l.service} (${l.engine})` : l.via === 'service' ? `${l.service} (${l.state})` : 'remote endpoint'}</td>
              <td>{l.device.toUpperCase()}</td>
              <td>
                {linkMemory(l)} <span className="muted small">{l.memory === 'measured' ? 'measured' : l.memory === 'estimated' ? 'estimated' : ''}{l.counted ? '' : ', in use'}</span>
              </td>
            </tr>
          ))}
          <tr data-testid="budget-total">
            <td>
              <strong>Total</strong>
            </td>
            <td colSpan={3}>to start</td>
            <td>
              <strong>
                {plan.gpu || plan.total.gpuBytes > 0 ? `${formatBytes(plan.total.gpuBytes)} GPU + ` : ''}
                {formatBytes(plan.total.ramBytes)} RAM
              </strong>{' '}
              <span className="muted small">
                free: {plan.gpu ? `${formatBytes(plan.gpu.budgetBytes)} usable on GPU ${plan.gpu.index} (${plan.gpu.name})` : 'no GPU'}
                {plan.ram ? `, ${formatBytes(plan.ram.availableBytes)} RAM` : ''}
              </span>
            </td>
          </tr>
        </tbody>
      </table>
      <p className={v.kind === 'fits' ? 'small' : 'small error'} data-testid="budget-verdict">
        <strong>{v.kind === 'fits' ? 'Fits.' : 'Does not fit.'}</strong> {v.message}
      </p>
      {plan.alternatives.length > 0 && (
        <ul className="small" data-testid="budget-alternatives">
          {plan.alternatives.map((a) => (
            <li key={a.message}>
              {a.message}{' '}
              {a.choices && (
                <button type="button" className="link" onClick={() => choose(a.choices!)}>
                  Use this
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {plan.holders.length > 0 && (
        <p className="small muted" data-testid="budget-holders">
          Also holding GPU memory: {plan.holders.map((h) => `${h.service ? `service ${h.service}` : h.name} (pid ${h.pid}, ${formatBytes(h.usedBytes)} on GPU ${h.gpu})`).join(', ')}
        </p>
      )}
    </div>
  );
}
