/**
 * Downloads on the Models page: pick a hub (Hugging Face or ModelScope; the `downloadSource`
 * setting preselects it and "Make default" changes it), search it, open a repository to see its
 * GGUF quantizations (shards grouped, sizes, a fit hint) or files, download; live rows with the
 * source, speed, ETA and bytes, pause/resume/cancel. Starter models are offered while the library
 * is empty.
 */
import { useEffect, useState } from 'react';
import type { DownloadSummary, HubFiles, HubSource } from '../../../../shared/contract/index.js';
import { useDownloads } from '../../stores/downloads.js';
import { useSettings } from '../../stores/settings.js';
import { formatBytes } from '../../../../shared/format-bytes.js';
import { hubSourceLabels, hubSources } from '../../../../shared/contract/enums.js';

function eta(s: number | null): string {
  if (s === null) return '';
  if (s < 60) return `${s}s left`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s left`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m left`;
}

export function DownloadsPanel({ libraryEmpty }: { libraryEmpty: boolean }) {
  const { load, error } = useDownloads();
  useEffect(() => {
    void load();
  }, [load]);
  return (
    <>
      <HubSearch />
      {libraryEmpty && <Starters />}
      {error && (
        <div className="banner error-banner" role="alert" data-testid="download-error">
          <strong>{error.message}</strong> {error.fix}
        </div>
      )}
      <DownloadList />
    </>
  );
}

function HubSearch() {
  const { results, resultsSource, searching, files, loadingFiles, search, openRepo } = useDownloads();
  const { settings, load: loadSettings, update } = useSettings();
  useEffect(() => {
    if (!settings) void loadSettings();
  }, [settings, loadSettings]);
  const [query, setQuery] = useState('');
  const [picked, setPicked] = useState<HubSource | null>(null);
  const preferred = settings?.downloadSource ?? 'huggingface';
  const source = picked ?? preferred;
  return (
    <section className="card" data-testid="hub-search">
      <h2>Download from {hubSourceLabels[source]}</h2>
      <form
        className="form-row"
        onSubmit={(e) => {
          e.preventDefault();
          void search(query.trim(), source);
        }}
      >
        <select name="hub-source" aria-label="Source" value={source} onChange={(e) => setPicked(e.target.value as HubSource)}>
          {hubSources.map((s) => (
            <option key={s} value={s}>
              {hubSourceLabels[s]}
            </option>
          ))}
        </select>
        {settings && source !== preferred && (
          <button type="button" name="make-default-source" title="Use this source when none is chosen (the downloadSource setting)" onClick={() => void update({ downloadSource: source })}>
            Make default
          </button>
        )}
        <input className="grow" name="hub-query" placeholder="Search GGUF models (e.g. qwen2.5 0.5b)" value={query} onChange={(e) => setQuery(e.target.value)} />
        <button type="submit" disabled={searching}>
          {searching ? 'Searching…' : 'Search'}
        </button>
      </form>
      {results && results.length === 0 && <p className="muted">No models found.</p>}
      {results && results.length > 0 && (
        <ul className="hub-results" style={{ listStyle: 'none', padding: 0 }}>
          {results.map((r) => (
            <li key={r.id}>
              <button type="button" className="link" data-repo={r.id} onClick={() => void openRepo(r.id, resultsSource ?? source)}>
                {r.id}
              </button>{' '}
              <small className="muted">
                {r.downloads !== undefined ? `${r.downloads} downloads` : ''}
                {r.gated ? ' · gated (needs a token)' : ''}
              </small>
            </li>
          ))}
        </ul>
      )}
      {loadingFiles && <p className="muted">Listing files…</p>}
      {files && <RepoFiles files={files} />}
    </section>
  );
}

function RepoFiles({ files }: { files: HubFiles }) {
  const { start } = useDownloads();
  const models = files.groups.filter((g) => !g.companion);
  return (
    <div data-testid="repo-files">
      <h3>
        {files.repo}{' '}
        <small className="muted">
          ({hubSourceLabels[files.source]}, {formatBytes(files.totalBytes)} in {files.files.length} files)
        </small>
      </h3>
      {models.length > 0 ? (
        <table className="grid">
          <thead>
            <tr>
              <th>Quantization</th>
              <th>File</th>
              <th>Size</th>
              <th>Fit</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {models.map((g) => (
              <tr key={g.label} data-quant={g.quant} data-label={g.label}>
                <td>{g.quant}</td>
                <td>{g.label}</td>
                <td>{formatBytes(g.sizeBytes)}</td>
                <td title={g.fit?.message}>{g.fit ? g.fit.kind : '—'}</td>
                <td>
                  <button type="button" className="primary" onClick={() => void start({ source: files.source, repo: files.repo, revision: files.revision, files: g.files })}>
                    Download
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <div className="form-row">
          <span className="grow">{files.files.map((f) => f.path).join(', ')}</span>
          <button type="button" className="primary" onClick={() => void start({ source: files.source, repo: files.repo, revision: files.revision })}>
            Download all
          </button>
        </div>
      )}
    </div>
  );
}

/** The starter set (a small chat model, speech recognition, a voice) with a Download button each. */
export function Starters({ title = 'Get started: a voice chain' }: { title?: string } = {}) {
  const { starters, start } = useDownloads();
  if (starters.length === 0) return null;
  return (
    <section className="card" data-testid="starters">
      <h2>{title}</h2>
      <p className="muted">A small chat model, speech recognition and a voice — enough for a first conversation.</p>
      <table className="grid">
        <tbody>
          {starters.map((s) => (
            <tr key={s.repo} data-starter={s.role}>
              <td>{s.role.toUpperCase()}</td>
              <td>
                {s.title}
                <br />
                <small className="muted">{s.note}</small>
              </td>
              <td>~{formatBytes(s.approxBytes)}</td>
              <td>
                <button type="button" onClick={() => void start({ source: s.source ?? 'huggingface', repo: s.repo, ...(s.revision ? { revision: s.revision } : {}), ...(s.files ? { files: s.files } : {}) })}>
                  Download
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** Downloads in progress and done, with speed, ETA, pause/resume/cancel. */
export function DownloadList() {
  const { downloads } = useDownloads();
  if (downloads.length === 0) return null;
  return (
    <section className="card" data-testid="downloads">
      <h2>Downloads</h2>
      {downloads.map((d) => (
        <DownloadRow key={d.id} d={d} />
      ))}
    </section>
  );
}

function DownloadRow({ d }: { d: DownloadSummary }) {
  const { pause, resume, cancel } = useDownloads();
  const frac = d.bytesTotal > 0 ? Math.min(1, d.bytesDone / d.bytesTotal) : 0;
  const name = d.files.length === 1 ? d.files[0]!.path : `${d.files.length} files`;
  const active = d.state === 'downloading' || d.state === 'queued';
  return (
    <div className="download-row" data-download={d.id} data-state={d.state} data-source={d.source} style={{ marginBottom: 12 }}>
      <div className="form-row">
        <span className="grow">
          <strong>{d.repo}</strong> · {name} <small className="muted" data-field="source">({hubSourceLabels[d.source]})</small>
        </span>
        <span data-field="state">{d.state}</span>
        <span data-field="bytes">
          {formatBytes(d.bytesDone)} / {formatBytes(d.bytesTotal)}
        </span>
        {d.state === 'downloading' && (
          <span data-field="speed">
            {formatBytes(d.speedBps)}/s {eta(d.etaSeconds)}
          </span>
        )}
        {active && (
          <button type="button" onClick={() => void pause(d.id)}>
            Pause
          </button>
        )}
        {(d.state === 'paused' || d.state === 'failed') && (
          <button type="button" onClick={() => void resume(d.id)}>
            Resume
          </button>
        )}
        {d.state !== 'completed' ? (
          <button type="button" className="danger" onClick={() => void cancel(d.id)}>
            Cancel
          </button>
        ) : (
          <button type="button" onClick={() => void cancel(d.id)} title="Remove from this list (the model stays)">
            Clear
          </button>
        )}
      </div>
      <div className="bar">
        <div style={{ width: `${frac * 100}%` }} />
      </div>
      {d.state === 'completed' && d.modelName && <small className="muted">Imported as “{d.modelName}”.</small>}
      {d.error && (
        <small className="error" data-field="error">
          {d.error}
        </small>
      )}
    </div>
  );
}
