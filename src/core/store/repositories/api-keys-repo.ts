/**
 * API keys: created with a random secret shown once, stored as a SHA-256 hash, listed by name and
 * prefix, revoked (kept for the audit trail, never accepted again).
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Db } from '../database.js';

export interface ApiKeyInfo {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

interface Row {
  id: string;
  name: string;
  prefix: string;
  hash: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
const toInfo = (r: Row): ApiKeyInfo => ({ id: r.id, name: r.name, prefix: r.prefix, createdAt: iso(r.created_at)!, lastUsedAt: iso(r.last_used_at), revokedAt: iso(r.revoked_at) });
export const hashKey = (key: string) => createHash('sha256').update(key).digest('hex');

export class ApiKeysRepo {
  private activeCount: number | null = null;
  /** When each key's last use was written, so a busy client does not cost a write per request. */
  private readonly lastWrite = new Map<string, number>();
  constructor(private readonly db: Db) {}

  /** Creates a key; the returned secret is never stored and cannot be shown again. */
  create(name: string): { key: string; info: ApiKeyInfo } {
    const key = `aima-${randomBytes(24).toString('base64url')}`;
    const id = randomUUID();
    this.db.prepare('INSERT INTO api_keys (id, name, prefix, hash, created_at) VALUES (?, ?, ?, ?, ?)').run(id, name, key.slice(0, 9), hashKey(key), Date.now());
    this.activeCount = null;
    return { key, info: this.get(id)! };
  }

  get(id: string): ApiKeyInfo | null {
    const row = this.db.prepare('SELECT * FROM api_keys WHERE id = ?').get(id) as Row | undefined;
    return row ? toInfo(row) : null;
  }

  list(): ApiKeyInfo[] {
    return (this.db.prepare('SELECT * FROM api_keys ORDER BY created_at').all() as Row[]).map(toInfo);
  }

  /** The key that is not revoked with this id or name, or null. */
  findActive(idOrName: string): ApiKeyInfo | null {
    const row = this.db.prepare('SELECT * FROM api_keys WHERE (id = ? OR name = ?) AND revoked_at IS NULL').get(idOrName, idOrName) as Row | undefined;
    return row ? toInfo(row) : null;
  }

  /** Revokes by id or name; returns the revoked key, or null when none matched. */
  revoke(idOrName: string): ApiKeyInfo | null {
    const key = this.findActive(idOrName);
    if (!key) return null;
    this.db.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ?').run(Date.now(), key.id);
    this.activeCount = null;
    return this.get(key.id);
  }

  /** Number of keys that are not revoked (cached: read on every request). */
  active(): number {
    this.activeCount ??= (this.db.prepare('SELECT COUNT(*) AS n FROM api_keys WHERE revoked_at IS NULL').get() as { n: number }).n;
    return this.activeCount;
  }

  /** True for a live key; records its use. */
  verify(key: string): boolean {
    if (!key.startsWith('aima-')) return false;
    const row = this.db.prepare('SELECT id, revoked_at FROM api_keys WHERE hash = ?').get(hashKey(key)) as { id: string; revoked_at: number | null } | undefined;
    if (!row || row.revoked_at !== null) return false;
    const now = Date.now();
    if (now - (this.lastWrite.get(row.id) ?? 0) > 60_000) {
      this.lastWrite.set(row.id, now);
      this.db.prepare('UPDATE api_keys SET last_used_at = ? WHERE id = ?').run(now, row.id);
    }
    return true;
  }
}
