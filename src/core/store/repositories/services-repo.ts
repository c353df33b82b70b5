/** The services and service_events tables: rows in, typed records out. No SQL outside this file touches them. */
import type { Db } from '../database.js';
import type { Device } from '../../../shared/contract/services.js';
import type { DesiredState, RestartPolicy, ServicePhase } from '../../../shared/service-state.js';
import type { ServiceSpan } from '../../../shared/contract/services.js';

/** A service as stored: its configuration and desired state (the actual state lives in the supervisor). */
export interface ServiceRecord {
  id: string;
  name: string;
  modelId: string | null;
  engineId: string;
  device: Device;
  gpus: number[];
  port: number;
  threads: number | null;
  ctxSize: number | null;
  concurrency: number;
  desiredState: DesiredState;
  restartPolicy: RestartPolicy;
  /** Seconds without a request before it stops; null = the on-demand default (never for a user's start); 0 = never. */
  idleTtl: number | null;
  /** Never stopped to make room or for idleness. */
  pinned: boolean;
  /** The largest RSS (bytes) its processes were seen holding, or null before a measurement. */
  peakRss: number | null;
  createdAt: number;
  /** The primary's id when this service is one of its replicas, else null. */
  replicaOf: string | null;
  /** The node (Docker engine) it runs on; `local` for this machine. */
  node: string;
  /** The nodes one model is served across, with the engine's parallel sizes; null on one node. */
  span: ServiceSpan | null;
  /** Where the model's files are on the node(s) it runs on (an absolute path there); null: the library's own files. */
  modelPathOnNode: string | null;
  /** The Hugging Face id its engine downloads on its node(s); null: none. */
  hfModel: string | null;
  /** That id's revision; null: the Hub's default branch. */
  hfRevision: string | null;
  /**
   * The Hub id the engine was given at its last start (what a running engine serves; null: none, or
   * never started). `hfModel` may differ after an update, until the next start.
   */
  startedHfModel: string | null;
}

/** The fields `services.update` may change (more join as the scheduler grows). */
export type ServiceRecordPatch = Partial<Pick<ServiceRecord, 'idleTtl' | 'pinned' | 'modelPathOnNode' | 'hfModel' | 'hfRevision'>>;

export interface ServiceEventRecord {
  id: number;
  serviceId: string;
  at: number;
  from: ServicePhase;
  to: ServicePhase;
  event: string;
  reason: string | null;
}

interface ServiceRow {
  id: string;
  name: string;
  model_id: string | null;
  engine_id: string;
  device: Device;
  gpus: string;
  port: number;
  threads: number | null;
  ctx_size: number | null;
  concurrency: number;
  desired_state: DesiredState;
  restart_policy: RestartPolicy;
  idle_ttl: number | null;
  pinned: number;
  peak_rss: number | null;
  created_at: number;
  replica_of: string | null;
  node?: string;
  nodes?: string | null;
  tensor_parallel?: number | null;
  pipeline_parallel?: number | null;
  model_path_on_node?: string | null;
  hf_model?: string | null;
  hf_revision?: string | null;
  started_hf_model?: string | null;
}

interface EventRow {
  id: number;
  service_id: string;
  at: number;
  from_state: ServicePhase;
  to_state: ServicePhase;
  event: string;
  reason: string | null;
}

function toRecord(r: ServiceRow): ServiceRecord {
  return {
    id: r.id,
    name: r.name,
    modelId: r.model_id,
    engineId: r.engine_id,
    device: r.device,
    gpus: JSON.parse(r.gpus) as number[],
    port: r.port,
    threads: r.threads,
    ctxSize: r.ctx_size,
    concurrency: r.concurrency,
    desiredState: r.desired_state,
    restartPolicy: r.restart_policy,
    idleTtl: r.idle_ttl ?? null,
    pinned: r.pinned === 1,
    peakRss: r.peak_rss ?? null,
    createdAt: r.created_at,
    replicaOf: r.replica_of ?? null,
    node: r.node ?? 'local',
    span: r.nodes ? { nodes: JSON.parse(r.nodes) as string[], tensorParallel: r.tensor_parallel ?? 1, pipelineParallel: r.pipeline_parallel ?? 1 } : null,
    modelPathOnNode: r.model_path_on_node ?? null,
    hfModel: r.hf_model ?? null,
    hfRevision: r.hf_revision ?? null,
    startedHfModel: r.started_hf_model ?? null,
  };
}

export class ServicesRepo {
  constructor(private readonly db: Db) {}

  list(): ServiceRecord[] {
    return (this.db.prepare('SELECT * FROM services ORDER BY name').all() as ServiceRow[]).map(toRecord);
  }

  getByName(name: string): ServiceRecord | null {
    const row = this.db.prepare('SELECT * FROM services WHERE name = ?').get(name) as ServiceRow | undefined;
    return row ? toRecord(row) : null;
  }

  getById(id: string): ServiceRecord | null {
    const row = this.db.prepare('SELECT * FROM services WHERE id = ?').get(id) as ServiceRow | undefined;
    return row ? toRecord(row) : null;
  }

  /** Services using a model (a model in use cannot be removed: the foreign key says RESTRICT). */
  usingModel(modelId: string): ServiceRecord[] {
    return (this.db.prepare('SELECT * FROM services WHERE model_id = ? ORDER BY name').all(modelId) as ServiceRow[]).map(toRecord);
  }

  /** Services other than `exceptId` configured on this fixed port. */
  usingPort(port: number, exceptId?: string): ServiceRecord[] {
    return (this.db.prepare('SELECT * FROM services WHERE port = ? AND id != ?').all(port, exceptId ?? '') as ServiceRow[]).map(toRecord);
  }

  insert(
    s: Omit<ServiceRecord, 'createdAt' | 'idleTtl' | 'pinned' | 'peakRss' | 'replicaOf' | 'node' | 'span' | 'modelPathOnNode' | 'hfModel' | 'hfRevision' | 'startedHfModel'> &
      Partial<Pick<ServiceRecord, 'idleTtl' | 'pinned' | 'node' | 'span' | 'modelPathOnNode' | 'hfModel' | 'hfRevision'>>,
  ): ServiceRecord {
    this.db
      .prepare(
        `INSERT INTO services (id, name, model_id, engine_id, device, gpus, port, threads, ctx_size, concurrency, desired_state, restart_policy, created_at)
         VALUES (@id, @name, @modelId, @engineId, @device, @gpus, @port, @threads, @ctxSize, @concurrency, @desiredState, @restartPolicy, @createdAt)`,
      )
      .run({ id: s.id, name: s.name, modelId: s.modelId, engineId: s.engineId, device: s.device, gpus: JSON.stringify(s.gpus), port: s.port, threads: s.threads, ctxSize: s.ctxSize, concurrency: s.concurrency, desiredState: s.desiredState, restartPolicy: s.restartPolicy, createdAt: Date.now() });
    // Later schemas' columns only when set, so older schemas' upgrade tests can insert.
    if (s.node !== undefined && s.node !== 'local') this.db.prepare('UPDATE services SET node = ? WHERE id = ?').run(s.node, s.id);
    if (s.span) {
      this.db
        .prepare('UPDATE services SET nodes = ?, tensor_parallel = ?, pipeline_parallel = ? WHERE id = ?')
        .run(JSON.stringify(s.span.nodes), s.span.tensorParallel, s.span.pipelineParallel, s.id);
    }
    if (s.modelPathOnNode) this.db.prepare('UPDATE services SET model_path_on_node = ? WHERE id = ?').run(s.modelPathOnNode, s.id);
    if (s.hfModel) this.db.prepare('UPDATE services SET hf_model = ?, hf_revision = ? WHERE id = ?').run(s.hfModel, s.hfRevision ?? null, s.id);
    if ((s.idleTtl ?? null) !== null || s.pinned) return this.update(s.id, { idleTtl: s.idleTtl, pinned: s.pinned });
    return this.getById(s.id)!;
  }

  /** Changes the given fields in one statement; returns the record as stored. */
  update(id: string, patch: ServiceRecordPatch): ServiceRecord {
    const cols: Record<keyof ServiceRecordPatch, string> = { idleTtl: 'idle_ttl', pinned: 'pinned', modelPathOnNode: 'model_path_on_node', hfModel: 'hf_model', hfRevision: 'hf_revision' };
    const sets: string[] = [];
    const values: (number | string | null)[] = [];
    for (const [k, col] of Object.entries(cols) as [keyof ServiceRecordPatch, string][]) {
      const v = patch[k];
      if (v === undefined) continue;
      sets.push(`${col} = ?`);
      values.push(typeof v === 'boolean' ? (v ? 1 : 0) : v);
    }
    if (sets.length > 0) this.db.prepare(`UPDATE services SET ${sets.join(', ')} WHERE id = ?`).run(...values, id);
    return this.getById(id)!;
  }

  /** Records the Hub id the engine is being started with (null: none). */
  setStartedHfModel(id: string, hfModel: string | null): void {
    this.db.prepare('UPDATE services SET started_hf_model = ? WHERE id = ?').run(hfModel, id);
  }

  /** Records the largest RSS seen for a service. */
  setPeakRss(id: string, bytes: number): void {
    this.db.prepare('UPDATE services SET peak_rss = ? WHERE id = ?').run(Math.round(bytes), id);
  }

  /** Makes a service a replica of `primaryId` (null: not a replica). */
  setReplicaOf(id: string, primaryId: string | null): void {
    this.db.prepare('UPDATE services SET replica_of = ? WHERE id = ?').run(primaryId, id);
  }

  setDesiredState(id: string, desired: DesiredState): void {
    this.db.prepare('UPDATE services SET desired_state = ? WHERE id = ?').run(desired, id);
  }

  delete(id: string): void {
    this.db.prepare('DELETE FROM services WHERE id = ?').run(id);
  }

  addEvent(e: Omit<ServiceEventRecord, 'id'>): void {
    this.db
      .prepare('INSERT INTO service_events (service_id, at, from_state, to_state, event, reason) VALUES (?, ?, ?, ?, ?, ?)')
      .run(e.serviceId, e.at, e.from, e.to, e.event, e.reason);
  }

  /** The most recent events of a service, oldest first. */
  events(serviceId: string, limit = 100): ServiceEventRecord[] {
    const rows = this.db
      .prepare('SELECT * FROM (SELECT * FROM service_events WHERE service_id = ? ORDER BY id DESC LIMIT ?) ORDER BY id')
      .all(serviceId, limit) as EventRow[];
    return rows.map((r) => ({ id: r.id, serviceId: r.service_id, at: r.at, from: r.from_state, to: r.to_state, event: r.event, reason: r.reason }));
  }
}
