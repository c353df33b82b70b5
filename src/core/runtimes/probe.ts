/** The health probe every runtime uses: one HTTP GET, judged by the catalog's health spec. */
import http from 'node:http';
import https from 'node:https';
import type { HealthSpec } from '../engines/catalog-schema.js';
import type { EngineTls } from '../nodes/reach/container-reach.js';
import type { ProbeResult } from './types.js';

function field(obj: unknown, dotted: string): unknown {
  let cur: unknown = obj;
  for (const key of dotted.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

/**
 * GET http://host:port<health.path> — https trusting only `tls.ca` and sending its key, for an
 * engine on another node — ready when the status (and JSON field, if any) match.
 */
export function probeHttp(host: string, port: number, health: HealthSpec, timeoutMs = 2000, tls?: EngineTls): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = { accept: 'application/json', ...(tls ? { authorization: `Bearer ${tls.apiKey}` } : {}) };
    const options = { host, port, path: health.path, timeout: timeoutMs, agent: false, headers };
    const onResponse = (res: http.IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        if (body.length < 64 * 1024) body += d;
      });
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        let json: unknown = undefined;
        try {
          json = body ? JSON.parse(body) : undefined;
        } catch {}
        const progressRaw = health.progressField ? field(json, health.progressField) : undefined;
        const progress = typeof progressRaw === 'number' ? progressRaw : null;
        const statusOk = status === health.status;
        const jsonOk = !health.json || field(json, health.json.field) === health.json.equals;
        resolve(statusOk && jsonOk ? { kind: 'ready' } : { kind: 'not-ready', status, progress });
      });
      res.on('error', (err) => resolve({ kind: 'unreachable', error: err.message }));
    };
    const req = tls ? https.get({ ...options, ca: tls.ca }, onResponse) : http.get(options, onResponse);
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ kind: 'unreachable', error: err.code ?? err.message }));
  });
}
