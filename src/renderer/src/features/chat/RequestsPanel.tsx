/** The gateway's last requests with their timings (all clients: editors, scripts, this app). */
import { useEffect } from 'react';
import { useRequests } from '../../stores/requests.js';

export function RequestsPanel() {
  const { items, queues, load } = useRequests();
  const waiting = Object.values(queues).flatMap((q) => q.waiting.map((w) => ({ ...w, model: q.model, of: q.waiting.length })));
  useEffect(() => {
    void load();
  }, [load]);
  return (
    <section className="card">
      <h2>Recent gateway requests</h2>
      {waiting.length > 0 && (
        <ul className="plain" data-testid="requests-waiting">
          {waiting.map((w) => (
            <li key={`${w.model}-${w.id}`}>
              {w.model} {w.endpoint}: waiting, position {w.position} of {w.of}
              {w.etaMs !== null ? `, about ${Math.max(1, Math.round(w.etaMs / 1000))} s` : ''}
            </li>
          ))}
        </ul>
      )}
      {items.length === 0 ? (
        <p className="muted">None yet. Anything that calls http://127.0.0.1:PORT/v1 shows up here.</p>
      ) : (
        <table className="grid" data-testid="requests-table">
          <thead>
            <tr>
              <th>Time</th>
              <th>Endpoint</th>
              <th>Model</th>
              <th>Status</th>
              <th>Queued</th>
              <th>First token</th>
              <th>Total</th>
              <th>Tokens/s</th>
            </tr>
          </thead>
          <tbody>
            {items.map((r) => (
              <tr key={r.id} title={r.error ?? undefined}>
                <td>{new Date(r.at).toLocaleTimeString()}</td>
                <td>{r.endpoint}</td>
                <td>{r.model ?? '—'}</td>
                <td className={r.status >= 400 ? 'error' : ''}>{r.status}</td>
                <td>{r.queuedMs} ms</td>
                <td>{r.ttftMs === null ? '—' : `${r.ttftMs} ms`}</td>
                <td>{r.durationMs} ms</td>
                <td>{r.tokensPerSecond ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
