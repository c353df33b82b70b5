/** The models table: rows in, ModelSummary out. No SQL outside this file touches it. */
import type { Db } from '../database.js';
import type { ModelSummary } from '../../../shared/contract/index.js';

interface ModelRow {
  id: string;
  name: string;
  kind: ModelSummary['kind'];
  kind_reason: string;
  format: ModelSummary['format'];
  path: string;
  root_path: string;
  source_path: string;
  source_real: string;
  storage: ModelSummary['storage'];
  size_bytes: number;
  missing: string;
  warnings: string;
  metadata: string;
  created_at: number;
}

export interface NewModel extends Omit<ModelSummary, 'createdAt'> {
  sourceReal: string;
}

function toSummary(row: ModelRow): ModelSummary {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    kindReason: row.kind_reason,
    format: row.format,
    path: row.path,
    rootPath: row.root_path,
    sourcePath: row.source_path,
    storage: row.storage,
    sizeBytes: row.size_bytes,
    createdAt: new Date(row.created_at).toISOString(),
    missing: JSON.parse(row.missing),
    warnings: JSON.parse(row.warnings),
    metadata: JSON.parse(row.metadata),
  };
}

export class ModelsRepo {
  constructor(private readonly db: Db) {}

  list(): ModelSummary[] {
    return (this.db.prepare('SELECT * FROM models ORDER BY name').all() as ModelRow[]).map(toSummary);
  }

  getByName(name: string): ModelSummary | null {
    const row = this.db.prepare('SELECT * FROM models WHERE name = ?').get(name) as ModelRow | undefined;
    return row ? toSummary(row) : null;
  }

  getById(id: string): ModelSummary | null {
    const row = this.db.prepare('SELECT * FROM models WHERE id = ?').get(id) as ModelRow | undefined;
    return row ? toSummary(row) : null;
  }

  /** The model imported from this real (symlink-resolved) path, if any. */
  getBySourceReal(sourceReal: string): ModelSummary | null {
    const row = this.db.prepare('SELECT * FROM models WHERE source_real = ?').get(sourceReal) as ModelRow | undefined;
    return row ? toSummary(row) : null;
  }

  insert(m: NewModel): ModelSummary {
    this.db
      .prepare(
        `INSERT INTO models (id, name, kind, kind_reason, format, path, root_path, source_path, source_real, storage, size_bytes, missing, warnings, metadata, created_at)
         VALUES (@id, @name, @kind, @kindReason, @format, @path, @rootPath, @sourcePath, @sourceReal, @storage, @sizeBytes, @missing, @warnings, @metadata, @createdAt)`,
      )
      .run({ ...m, missing: JSON.stringify(m.missing), warnings: JSON.stringify(m.warnings), metadata: JSON.stringify(m.metadata), createdAt: Date.now() });
    return this.getById(m.id)!;
  }

  rename(id: string, newName: string): void {
    this.db.prepare('UPDATE models SET name = ? WHERE id = ?').run(newName, id);
  }

  delete(id: string): void {
    this.db.prepare('DELETE FROM models WHERE id = ?').run(id);
  }
}
