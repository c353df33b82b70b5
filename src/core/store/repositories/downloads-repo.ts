/** The downloads tables (schema 5, source since 10): downloads, their files and per-chunk written bytes. No SQL elsewhere. */
import type { Db } from '../database.js';
import type { DownloadState, HubSource } from '../../../shared/contract/index.js';

export interface DownloadRow {
  id: string;
  source: HubSource;
  repo: string;
  revision: string;
  commitSha: string | null;
  state: DownloadState;
  error: string | null;
  modelName: string | null;
  wantedName: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface DownloadFileRow {
  path: string;
  size: number;
  sha256: string | null;
  blobId: string | null;
  verified: boolean;
}

export interface ChunkRow {
  path: string;
  idx: number;
  start: number;
  length: number;
  written: number;
}

interface RawDownload {
  id: string;
  source: HubSource;
  repo: string;
  revision: string;
  commit_sha: string | null;
  state: DownloadState;
  error: string | null;
  model_name: string | null;
  wanted_name: string | null;
  created_at: number;
  updated_at: number;
}

const toDownload = (r: RawDownload): DownloadRow => ({
  id: r.id,
  source: r.source,
  repo: r.repo,
  revision: r.revision,
  commitSha: r.commit_sha,
  state: r.state,
  error: r.error,
  modelName: r.model_name,
  wantedName: r.wanted_name,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export class DownloadsRepo {
  constructor(private readonly db: Db) {}

  create(d: { id: string; source: HubSource; repo: string; revision: string; wantedName: string | null; files: Omit<DownloadFileRow, 'verified'>[]; chunks: ChunkRow[] }): void {
    const now = Date.now();
    this.db.transaction(() => {
      this.db
        .prepare(`INSERT INTO downloads (id, source, repo, revision, state, wanted_name, created_at, updated_at) VALUES (?, ?, ?, ?, 'queued', ?, ?, ?)`)
        .run(d.id, d.source, d.repo, d.revision, d.wantedName, now, now);
      const f = this.db.prepare(`INSERT INTO download_files (download_id, path, size, sha256, blob_id) VALUES (?, ?, ?, ?, ?)`);
      for (const file of d.files) f.run(d.id, file.path, file.size, file.sha256, file.blobId);
      const c = this.db.prepare(`INSERT INTO download_chunks (download_id, path, idx, start, length, written) VALUES (?, ?, ?, ?, ?, 0)`);
      for (const ch of d.chunks) c.run(d.id, ch.path, ch.idx, ch.start, ch.length);
    })();
  }

  get(id: string): DownloadRow | null {
    const r = this.db.prepare(`SELECT * FROM downloads WHERE id = ?`).get(id) as RawDownload | undefined;
    return r ? toDownload(r) : null;
  }

  list(): DownloadRow[] {
    return (this.db.prepare(`SELECT * FROM downloads WHERE state != 'cancelled' ORDER BY created_at`).all() as RawDownload[]).map(toDownload);
  }

  files(id: string): DownloadFileRow[] {
    return (
      this.db.prepare(`SELECT path, size, sha256, blob_id AS blobId, verified FROM download_files WHERE download_id = ? ORDER BY path`).all(id) as Array<
        Omit<DownloadFileRow, 'verified'> & { verified: number }
      >
    ).map((f) => ({ ...f, verified: f.verified === 1 }));
  }

  chunks(id: string): ChunkRow[] {
    return this.db.prepare(`SELECT path, idx, start, length, written FROM download_chunks WHERE download_id = ? ORDER BY path, idx`).all(id) as ChunkRow[];
  }

  setState(id: string, state: DownloadState, extra: { error?: string | null; modelName?: string | null } = {}): void {
    this.db
      .prepare(`UPDATE downloads SET state = ?, error = ?, model_name = COALESCE(?, model_name), updated_at = ? WHERE id = ?`)
      .run(state, extra.error ?? null, extra.modelName ?? null, Date.now(), id);
  }

  setCommit(id: string, commit: string): void {
    this.db.prepare(`UPDATE downloads SET commit_sha = ? WHERE id = ? AND commit_sha IS NULL`).run(commit, id);
  }

  /** Records several chunks' written bytes in one transaction (called after an fdatasync). */
  saveWritten(id: string, updates: Array<{ path: string; idx: number; written: number }>): void {
    const st = this.db.prepare(`UPDATE download_chunks SET written = ? WHERE download_id = ? AND path = ? AND idx = ?`);
    this.db.transaction(() => {
      for (const u of updates) st.run(u.written, id, u.path, u.idx);
    })();
  }

  setVerified(id: string, path: string, verified: boolean): void {
    this.db.prepare(`UPDATE download_files SET verified = ? WHERE download_id = ? AND path = ?`).run(verified ? 1 : 0, id, path);
  }

  /** Forgets a file's bytes (after a checksum mismatch) so the next run fetches it again. */
  resetFile(id: string, path: string): void {
    this.db.transaction(() => {
      this.db.prepare(`UPDATE download_chunks SET written = 0 WHERE download_id = ? AND path = ?`).run(id, path);
      this.setVerified(id, path, false);
    })();
  }

  delete(id: string): void {
    this.db.prepare(`DELETE FROM downloads WHERE id = ?`).run(id);
  }
}
