/** Models: import by path (in the desktop app also by file dialog or drag and drop), list, details. */
import { Banners } from '../../components/Banners.js';
import { useEffect, useState, type DragEvent } from 'react';
import { modelKinds, type ModelSummary } from '../../../../shared/contract/index.js';
import { useModels, type ImportForm } from '../../stores/models.js';
import { desktop } from '../../api/client.js';
import { formatBytes } from '../../../../shared/format-bytes.js';
import { modelBrief } from '../../../../shared/model-format.js';
import { DownloadsPanel } from '../downloads/DownloadsPanel.js';

export function ModelsPage() {
  const { models, loaded, selected, importing, error, notice, load, select } = useModels();
  useEffect(() => {
    void load();
  }, [load]);
  const current = models.find((m) => m.name === selected) ?? null;

  return (
    <>
      <ImportCard />
      <DownloadsPanel libraryEmpty={loaded && models.length === 0} />
      {importing && <ImportProgress />}
      <Banners error={error} notice={notice} errorTestId="model-error" />
      <section className="card">
        <h2>Library</h2>
        {!loaded ? (
          <p>Loading…</p>
        ) : models.length === 0 ? (
          <p className="muted">No models yet. Import a GGUF file, a Hugging Face folder or an ONNX model above.</p>
        ) : (
          <table className="grid" data-testid="models-table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Kind</th>
                <th>Format</th>
                <th>Size</th>
                <th>Details</th>
                <th>Storage</th>
              </tr>
            </thead>
            <tbody>
              {models.map((m) => (
                <tr key={m.id} className={m.name === selected ? 'selected' : ''} onClick={() => select(m.name)} data-model={m.name}>
                  <td>{m.name}</td>
                  <td>{m.kind}</td>
                  <td>{m.format}</td>
                  <td>{formatBytes(m.sizeBytes)}</td>
                  <td>{modelBrief(m)}</td>
                  <td>{m.storage}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      {current && <ModelDetails model={current} />}
    </>
  );
}

function ImportCard() {
  const { importing, importModel } = useModels();
  const [form, setForm] = useState<ImportForm>({ path: '', name: '', kind: '', mode: 'link' });
  const [dragging, setDragging] = useState(false);
  const set = (patch: Partial<ImportForm>) => setForm((f) => ({ ...f, ...patch }));

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    const file = e.dataTransfer.files[0];
    const p = file && desktop?.pathForFile(file);
    if (p) set({ path: p });
  };

  return (
    <section
      className={dragging ? 'card import dragging' : 'card import'}
      onDragOver={(e) => {
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={onDrop}
    >
      <h2>Import a model</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (form.path.trim()) void importModel(form);
        }}
      >
        <div className="form-row">
          <input className="grow" name="path" placeholder={desktop ? 'Path of a model file or folder — or drop it here' : 'Absolute path of a model file or folder on the AIMA machine'} value={form.path} onChange={(e) => set({ path: e.target.value })} />
          {desktop && (
            <>
              <button type="button" onClick={() => void desktop!.pickModelPath('file').then((p) => p && set({ path: p }))}>
                File…
              </button>
              <button type="button" onClick={() => void desktop!.pickModelPath('folder').then((p) => p && set({ path: p }))}>
                Folder…
              </button>
            </>
          )}
        </div>
        <div className="form-row">
          <input name="name" placeholder="Name (optional)" value={form.name} onChange={(e) => set({ name: e.target.value })} />
          <select name="kind" value={form.kind} onChange={(e) => set({ kind: e.target.value as ImportForm['kind'] })}>
            <option value="">Kind: detect</option>
            {modelKinds.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
          <select name="mode" value={form.mode} onChange={(e) => set({ mode: e.target.value as ImportForm['mode'] })}>
            <option value="link">Use the files where they are</option>
            <option value="copy">Copy into AIMA's data folder</option>
          </select>
          <button type="submit" className="primary" disabled={!!importing || !form.path.trim()}>
            Import
          </button>
        </div>
      </form>
    </section>
  );
}

function ImportProgress() {
  const { importing, cancelImport } = useModels();
  const p = importing?.progress;
  const frac = p?.total ? Math.min(1, p.done / p.total) : null;
  return (
    <section className="card" data-testid="import-progress">
      <div className="form-row">
        <span className="grow">{p?.message ?? p?.label ?? 'Reading the model…'}</span>
        {frac !== null && <span>{Math.round(frac * 100)}%</span>}
        <button type="button" onClick={() => void cancelImport()}>
          Cancel
        </button>
      </div>
      {frac !== null && (
        <div className="bar">
          <div style={{ width: `${frac * 100}%` }} />
        </div>
      )}
    </section>
  );
}

function ModelDetails({ model }: { model: ModelSummary }) {
  const { remove, rename } = useModels();
  const [newName, setNewName] = useState(model.name);
  useEffect(() => {
    setNewName(model.name);
  }, [model.name]);
  const md = model.metadata as Record<string, unknown>;
  const facts = Object.entries(md).filter(([k, v]) => !['format', 'keys', 'bytesByType', 'bytesByDtype', 'shards', 'opCounts', 'opsets', 'files'].includes(k) && v !== undefined && v !== null);
  return (
    <section className="card" data-testid="model-details">
      <h2>{model.name}</h2>
      <dl className="facts">
        <dt>Kind</dt>
        <dd>
          {model.kind} <small className="muted">({model.kindReason})</small>
        </dd>
        <dt>Path</dt>
        <dd>
          <code>{model.path}</code>
        </dd>
        <dt>Storage</dt>
        <dd>{model.storage === 'link' ? `linked in place` : `copied from ${model.sourcePath}`}</dd>
        {facts.map(([k, v]) => (
          <FactRow key={k} name={k} value={v} />
        ))}
      </dl>
      {model.warnings.length > 0 && <p className="muted">Warnings: {model.warnings.join('; ')}</p>}
      <div className="form-row">
        <input value={newName} onChange={(e) => setNewName(e.target.value)} aria-label="New name" />
        <button type="button" disabled={newName === model.name} onClick={() => void rename(model.name, newName)}>
          Rename
        </button>
        <span className="grow" />
        <button type="button" className="danger" onClick={() => void remove(model.name)}>
          Remove
        </button>
      </div>
    </section>
  );
}

function FactRow({ name, value }: { name: string; value: unknown }) {
  const label = name.replace(/([A-Z])/g, ' $1').toLowerCase();
  const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  return (
    <>
      <dt>{label}</dt>
      <dd data-fact={name}>{text}</dd>
    </>
  );
}
