/** The services and service_events tables: rows in, typed records out. No SQL outside this file touches them. */
import type { Db } from '../database.js';
import type { Device } from '../../../shared/contract/services.js';
import type { DesiredState, RestartPolicy, ServicePhase } from '../../../shared/service-state.js';

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
  createdAt: number;
  /** The primary's id when this service is one of its replicas, else null. */
  replicaOf: string | null;
}

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
  created_at: number;
  replica_of: string | null;
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
    createdAt: r.created_at,
    replicaOf: r.replica_of ?? null,
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

  insert(s: Omit<ServiceRecord, 'createdAt' | 'replicaOf'>): ServiceRecord {
    this.db
      .prepare(
        `INSERT INTO services (id, name, model_id, engine_id, device, gpus, port, threads, ctx_size, concurrency, desired_state, restart_policy, created_at)
         VALUES (@id, @name, @modelId, @engineId, @device, @gpus, @port, @threads, @ctxSize, @concurrency, @desiredState, @restartPolicy, @createdAt)`,
      )
      .run({ ...s, gpus: JSON.stringify(s.gpus), createdAt: Date.now() });
    return this.getById(s.id)!;
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
