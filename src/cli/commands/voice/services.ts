/** Shared by the voice commands: the service (if any) behind a chain model, started with progress on stderr. */
import { randomUUID } from 'node:crypto';
import { serviceFor } from '../../../shared/service-lookup.js';
import type { Connection } from '../../context.js';

/** Starts the services behind `models` that are not running, one after another, showing progress. */
export async function ensureRunning(conn: Connection, models: string[], timeoutMs = 600_000): Promise<void> {
  const list = await conn.api['services.list']({});
  for (const model of models) {
    const s = serviceFor(list, model);
    if (!s || s.state === 'running') continue;
    process.stderr.write(`Starting ${s.name} (${model})…\n`);
    const operationId = randomUUID();
    let last = '';
    const off = conn.transport.on('operation.progress', (p) => {
      if (p.id !== operationId || !p.message || p.message === last) return;
      last = p.message;
      process.stderr.write(`${s.name}: ${p.message}\n`);
    });
    try {
      const r = await conn.api['services.start']({ name: s.name, wait: true, timeoutMs, operationId });
      if (r.state !== 'running') throw new Error(`${s.name} did not start: ${r.reason ?? r.state}. See \`aima service logs ${s.name}\`.`);
    } finally {
      off();
    }
  }
}
