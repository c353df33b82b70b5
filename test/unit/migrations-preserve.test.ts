/**
 * Every migration keeps every existing row intact. For each step N-1 → N of the migrations list,
 * every table that exists at N-1 is filled with a row holding a non-default, non-null value in
 * every column (a revoked API key, a remote endpoint, a running GPU service, a paused download...),
 * the migration runs, and every column of every pre-existing row is compared before and after.
 * Columns a migration adds may be new; none may vanish or change, unless `transforms` below
 * documents the change and asserts it. A rebuilt table that drops or resets a column (revoked keys
 * coming back to life) fails here.
 *
 * New migrations are covered without touching this file, except that a new table or column needs a
 * value in `fixtures`: the test refuses to run a step with a column it has no value for.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase, schemaVersion, type Db } from '../../src/core/store/database.js';
import { migrations } from '../../src/core/store/migrations/index.js';

type Row = Record<string, unknown>;

/**
 * One row per table, parents before children (foreign keys are on). Every value differs from the
 * column's default so that a column silently re-created with its default is seen.
 */
const fixtures: Record<string, Row> = {
  settings: { key: 'theme', value: '"dark"', updated_at: 1_700_000_000_123 },
  models: {
    id: 'm1',
    name: 'kept-model',
    kind: 'llm',
    kind_reason: 'GGUF general.architecture = llama',
    format: 'gguf',
    path: '/models/a.gguf',
    root_path: '/models',
    source_path: '/src/a.gguf',
    source_real: '/real/a.gguf',
    storage: 'copy',
    size_bytes: 123_456_789,
    missing: '["tokenizer.json"]',
    warnings: '["old quant"]',
    metadata: '{"architecture":"llama"}',
    created_at: 1_700_000_000_001,
  },
  services: {
    id: 's1',
    name: 'kept-service',
    model_id: 'm1',
    engine_id: 'llama-cpp',
    device: 'gpu',
    gpus: '[0,1]',
    port: 8123,
    threads: 6,
    ctx_size: 8192,
    concurrency: 4,
    desired_state: 'running',
    restart_policy: 'always',
    replica_of: 's1',
    created_at: 1_700_000_000_002,
    idle_ttl: 600,
    pinned: 1,
    peak_rss: 123_456_789,
    node: 'kept-node',
    nodes: '["kept-node","other-node"]',
    tensor_parallel: 2,
    pipeline_parallel: 2,
    model_path_on_node: '/srv/models/kept.gguf',
    hf_model: 'kept-org/kept-model',
    hf_revision: 'kept-branch',
  },
  service_events: { id: 41, service_id: 's1', at: 1_700_000_000_003, from_state: 'running', to_state: 'crashed', event: 'exited', reason: 'killed by SIGKILL' },
  downloads: {
    id: 'd1',
    source: 'modelscope',
    repo: 'owner/name',
    revision: 'v2',
    commit_sha: 'abc123',
    state: 'paused',
    error: 'network down',
    model_name: 'kept-download',
    wanted_name: 'wanted',
    created_at: 1_700_000_000_004,
    updated_at: 1_700_000_000_005,
  },
  download_files: { download_id: 'd1', path: 'a.gguf', size: 20, sha256: 'f'.repeat(64), blob_id: 'blob-1', verified: 1 },
  download_chunks: { download_id: 'd1', path: 'a.gguf', idx: 1, start: 10, length: 10, written: 7 },
  api_keys: { id: 'k1', name: 'revoked-ci', prefix: 'aima-ab', hash: 'e'.repeat(64), created_at: 1_700_000_000_006, last_used_at: 1_700_000_000_007, revoked_at: 1_700_000_000_008 },
  remote_endpoints: { id: 'r1', name: 'openai', base_url: 'https://api.example.com/v1', models: '["gpt-x"]', kind: 'asr', has_key: 1, created_at: 1_700_000_000_009 },
  voice_conversations: {
    id: 'c1',
    title: 'kitchen',
    system_prompt: 'Be brief.',
    asr_model: 'whisper',
    llm_model: 'remote/gpt',
    tts_model: 'voice-tts',
    voice: 'slt',
    created_at: 1_700_000_000_010,
    updated_at: 1_700_000_000_011,
  },
  voice_turns: {
    id: 't1',
    conversation_id: 'c1',
    seq: 3,
    user_text: 'turn on the lights',
    assistant_text: 'Done.',
    interrupted: 1,
    timeline: '{"asrDone":12.5}',
    created_at: 1_700_000_000_012,
    user_audio_seconds: 1.25,
    reply_audio_seconds: 2.5,
    audio_bytes: 4096,
  },
  voice_config: { key: 'chain', value: '{"asr":"whisper"}' },
  nodes: { name: 'kept-node', docker_url: 'tcp://10.0.0.2:2376', transport: 'tcp-tls', tls_ca: 'CA PEM', tls_cert: 'CERT PEM', ssh_known_hosts: '/home/me/.ssh/known_hosts', created_at: 1_700_000_000_013 },
  node_cluster_links: { node: 'local', address: '10.0.0.1', interface: 'enp1s0f1np1' },
};

/**
 * Changes to existing values that a migration documents, by version: given a table and its rows
 * before, the rows expected after (restricted to the old columns). None so far: migration 2 only
 * adds `settings.updated_at`, which is a new column.
 */
const transforms: Record<number, (table: string, before: Row[]) => Row[]> = {};

const tables = (db: Db): string[] =>
  (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`).all() as { name: string }[]).map((r) => r.name);

const columnsOf = (db: Db, table: string) => db.prepare(`PRAGMA table_info(${JSON.stringify(table)})`).all() as { name: string; dflt_value: string | null }[];

const rowsOf = (db: Db, table: string): Row[] => db.prepare(`SELECT * FROM ${JSON.stringify(table)} ORDER BY rowid`).all() as Row[];

/** Inserts the fixture row of every table present, checking each value is set and not the default. */
function fill(db: Db): void {
  const present = new Set(tables(db));
  for (const name of present) expect(fixtures, `fixtures has no row for table ${name}: add one`).toHaveProperty(name);
  for (const [table, row] of Object.entries(fixtures)) {
    if (!present.has(table)) continue;
    const cols = columnsOf(db, table);
    for (const c of cols) {
      const v = row[c.name];
      expect(v, `fixtures.${table}.${c.name}: add a non-null value`).not.toBeUndefined();
      expect(v, `fixtures.${table}.${c.name}: use a non-null value`).not.toBeNull();
      if (c.dflt_value !== null) {
        const dflt = (db.prepare(`SELECT ${c.dflt_value} AS v`).get() as { v: unknown }).v;
        expect(v, `fixtures.${table}.${c.name} equals the column default ${c.dflt_value}: use another value`).not.toEqual(dflt);
      }
    }
    const names = cols.map((c) => c.name);
    db.prepare(`INSERT INTO ${JSON.stringify(table)} (${names.map((n) => JSON.stringify(n)).join(', ')}) VALUES (${names.map(() => '?').join(', ')})`).run(
      ...names.map((n) => row[n]),
    );
  }
}

const pick = (row: Row, keys: string[]): Row => Object.fromEntries(keys.map((k) => [k, row[k]]));

describe('migrations keep every column of every existing row', () => {
  const steps = migrations.map((m) => m.version).filter((v) => v > 1);

  it('the list is numbered 1, 2, 3, … without gaps (each step below is N-1 → N)', () => {
    expect(migrations.map((m) => m.version)).toEqual(migrations.map((_, i) => i + 1));
  });

  it.each(steps)('migration %i: every table of the previous schema keeps all its rows and values', (version) => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), `aima-mkeep${version}-`)), 'aima.db');
    const old = openDatabase(file, { targetVersion: version - 1 });
    expect(schemaVersion(old)).toBe(version - 1);
    fill(old);
    const before = new Map(tables(old).map((t) => [t, { columns: columnsOf(old, t).map((c) => c.name), rows: rowsOf(old, t) }]));
    old.close();

    const db = openDatabase(file, { targetVersion: version });
    expect(schemaVersion(db)).toBe(version);
    const after = new Set(tables(db));
    for (const [table, { columns, rows }] of before) {
      expect(after.has(table), `table ${table} still exists after migration ${version}`).toBe(true);
      const newColumns = columnsOf(db, table).map((c) => c.name);
      for (const c of columns) expect(newColumns, `column ${table}.${c} still exists after migration ${version}`).toContain(c);
      const expected = transforms[version]?.(table, rows) ?? rows;
      const actual = rowsOf(db, table).map((r) => pick(r, columns));
      expect(actual, `rows of ${table} after migration ${version}`).toEqual(expected);
    }
    db.close();
  });

  it('a revoked API key written at schema 6 (which added keys) is still revoked after upgrading to the latest schema in one go', () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'aima-mkeep-all-')), 'aima.db');
    const old = openDatabase(file, { targetVersion: 6 });
    fill(old);
    old.close();
    const db = openDatabase(file);
    expect(db.prepare('SELECT revoked_at FROM api_keys WHERE id = ?').get('k1')).toEqual({ revoked_at: fixtures.api_keys!.revoked_at });
    db.close();
  });
});
