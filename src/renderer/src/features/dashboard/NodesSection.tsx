/**
 * The Dashboard's Nodes section: every Docker engine services may run on (this machine's `local`
 * and other machines'), with reachability, Docker version, CPU/RAM, GPUs and the NVIDIA runtime;
 * a form to add one (its TLS files and the connection are checked before anything is saved; each
 * step shows while it runs, and Cancel stops the add with nothing saved), each
 * node's cluster link (the address and interface a service across nodes uses) with an edit form,
 * and a remove button (refused while services are on the node).
 */
import { useEffect, useState } from 'react';
import type { NodeSummary } from '../../../../shared/contract/index.js';
import { formatBytes } from '../../../../shared/format-bytes.js';
import { useNodes, type ClusterLinkForm, type NodeForm } from '../../stores/nodes.js';

export function NodesSection() {
  const { nodes, loaded, busy, adding, error, load, add, cancelAdd, setLink, remove } = useNodes();
  const [form, setForm] = useState<NodeForm>({ name: '', docker: '', tlsDir: '' });
  useEffect(() => {
    void load();
  }, [load]);

  return (
    <section className="card nodes" data-testid="nodes-card">
      <h2>
        Nodes{' '}
        <button onClick={() => void load(true)} disabled={busy}>
          {busy ? 'Asking…' : 'Refresh'}
        </button>
      </h2>
      {error && (
        <div className="banner error-banner" role="alert">
          <strong>{error.message}</strong> {error.fix}
        </div>
      )}
      {!loaded ? (
        <p className="muted">Asking the engines…</p>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th>Node</th>
              <th>State</th>
              <th>Docker</th>
              <th>CPU / RAM</th>
              <th>GPUs</th>
              <th>Cluster link</th>
              <th>Services</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {nodes.map((n) => (
              <NodeRow key={n.name} node={n} onSetLink={(link) => setLink(n.name, link)} onRemove={() => void remove(n.name)} />
            ))}
          </tbody>
        </table>
      )}
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          void add(form).then((ok) => ok && setForm({ name: '', docker: '', tlsDir: '' }));
        }}
      >
        <input aria-label="Node name" placeholder="name" value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} required />
        <input aria-label="Docker endpoint" placeholder="tcp://host:2376 or ssh://user@host" value={form.docker} onChange={(e) => setForm({ ...form, docker: e.target.value })} required />
        <input aria-label="TLS folder" placeholder="TLS folder (ca.pem, cert.pem, key.pem)" value={form.tlsDir} onChange={(e) => setForm({ ...form, tlsDir: e.target.value })} />
        <button type="submit" disabled={busy}>
          {busy ? 'Checking…' : 'Add node'}
        </button>
        {adding && (
          <>
            <span className="muted small" role="status" aria-label="Adding node">
              {adding.progress?.message ? `${adding.progress.total ? `Step ${Math.min(adding.progress.done + 1, adding.progress.total)} of ${adding.progress.total}: ` : ''}${adding.progress.message}` : 'Starting…'}
            </span>
            <button type="button" onClick={() => void cancelAdd()}>
              Cancel
            </button>
          </>
        )}
      </form>
    </section>
  );
}

function NodeRow({ node: n, onSetLink, onRemove }: { node: NodeSummary; onSetLink: (link: ClusterLinkForm) => Promise<boolean>; onRemove: () => void }) {
  return (
    <tr data-node={n.name}>
      <td>
        <strong>{n.name}</strong>
        <div className="muted small">{n.docker}</div>
      </td>
      <td>
        <span className={n.reachable ? 'badge ok' : 'badge bad'}>{n.reachable ? 'reachable' : 'unreachable'}</span>
        {n.error && <div className="muted small">{n.error}</div>}
      </td>
      <td>
        {n.dockerVersion ?? '–'}
        {n.arch && <div className="muted small">{n.arch}</div>}
      </td>
      <td>
        {n.cpus ?? '–'} CPUs · {n.memoryBytes !== null ? formatBytes(n.memoryBytes) : '–'}
      </td>
      <td>
        {n.gpus.length === 0 ? 'none' : n.gpus.map((g) => `${g.name} (${formatBytes(g.memoryTotalMiB * 1024 * 1024)})`).join(', ')}
        <div className="muted small">NVIDIA runtime: {n.nvidiaRuntime ? 'yes' : 'no'}</div>
        {n.gpuNote && <div className="muted small">{n.gpuNote}</div>}
      </td>
      <td>
        <ClusterLinkCell node={n} onSave={onSetLink} />
      </td>
      <td>{n.services.join(', ') || '–'}</td>
      <td>{n.transport !== 'local' && <button onClick={onRemove}>Remove</button>}</td>
    </tr>
  );
}

/** The address other nodes of a span reach this one at and the NCCL/Gloo interface; Edit opens a small form (empty address: none). */
function ClusterLinkCell({ node: n, onSave }: { node: NodeSummary; onSave: (link: ClusterLinkForm) => Promise<boolean> }) {
  const [form, setForm] = useState<ClusterLinkForm | null>(null);
  if (!form) {
    return (
      <>
        {n.cluster ? n.cluster.address : 'none'}
        {n.cluster?.interface && <div className="muted small">on {n.cluster.interface}</div>}
        <div>
          <button aria-label={`Edit the cluster link of ${n.name}`} onClick={() => setForm({ address: n.cluster?.address ?? '', iface: n.cluster?.interface ?? '' })}>
            Edit
          </button>
        </div>
      </>
    );
  }
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        void onSave(form).then((ok) => ok && setForm(null));
      }}
    >
      <input aria-label="Cluster address" placeholder="address (empty: none)" value={form.address} onChange={(e) => setForm({ ...form, address: e.target.value })} />
      <input aria-label="Cluster interface" placeholder="interface, e.g. enp1s0f1np1" value={form.iface} onChange={(e) => setForm({ ...form, iface: e.target.value })} />
      <button type="submit">Save</button>
      <button type="button" onClick={() => setForm(null)}>
        Cancel
      </button>
    </form>
  );
}
