/** Remote OpenAI-compatible endpoints; their API keys are kept in the secret store under `remote:<name>`. */
import { randomUUID } from 'node:crypto';
import type { Db } from '../database.js';
import type { RemoteEndpoint } from '../../../shared/contract/index.js';

interface Row {
  id: string;
  name: string;
  base_url: string;
  models: string;
  kind: RemoteEndpoint['kind'];
  has_key: number;
  created_at: number;
}

const toRemote = (r: Row): RemoteEndpoint => ({
  name: r.name,
  baseUrl: r.base_url,
  models: JSON.parse(r.models),
  kind: r.kind,
  hasKey: r.has_key === 1,
  createdAt: new Date(r.created_at).toISOString(),
});

export class RemotesRepo {
  constructor(private readonly db: Db) {}

  list(): RemoteEndpoint[] {
    return (this.db.prepare('SELECT * FROM remote_endpoints ORDER BY name').all() as Row[]).map(toRemote);
  }

  get(name: string): RemoteEndpoint | null {
    const row = this.db.prepare('SELECT * FROM remote_endpoints WHERE name = ?').get(name) as Row | undefined;
    return row ? toRemote(row) : null;
  }

  insert(r: Omit<RemoteEndpoint, 'createdAt'>): RemoteEndpoint {
    this.db
      .prepare('INSERT INTO remote_endpoints (id, name, base_url, models, kind, has_key, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(randomUUID(), r.name, r.baseUrl, JSON.stringify(r.models), r.kind, r.hasKey ? 1 : 0, Date.now());
    return this.get(r.name)!;
  }

  delete(name: string): void {
    this.db.prepare('DELETE FROM remote_endpoints WHERE name = ?').run(name);
  }
}
