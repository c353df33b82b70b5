/**
 * `nodes.add` as an operation: its steps in order (the checks, the engine's version/info, the GPUs
 * only with the NVIDIA runtime, saving), a cancel while the engine is being asked or while
 * nvidia-smi runs in its container there (the add ends at once, the probe's container is removed,
 * no row and no secret are left, the name can be added again), a second add of a name being added
 * refused, and how the CLI prints a step. The engine is a stand-in Docker API over TLS (openssl
 * makes the files), so the steps and the cancel are timed by the test, not by a real daemon.
 */
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type http from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CoreEvents } from '../../src/core/events.js';
import { NodeRegistry } from '../../src/core/nodes/registry.js';
import { Operations, type OperationContext } from '../../src/core/operations/operations.js';
import type { SecretStore } from '../../src/core/secrets/secret-store.js';
import { openDatabase } from '../../src/core/store/database.js';
import { NodesRepo } from '../../src/core/store/repositories/nodes-repo.js';
import { NodeAddParams } from '../../src/shared/contract/nodes.js';
import type { OperationProgress } from '../../src/shared/contract/index.js';
import { AimaError } from '../../src/shared/errors.js';
import { formatProgress } from '../../src/cli/progress.js';
import { makeTlsFiles, type TlsFiles } from '../support/remote-dockerd.js';
import { hasCommand } from '../support/system.js';

const haveOpenssl = hasCommand('openssl');

/** A Docker API over TLS that answers what `node add` asks; `/info` or the probe's wait can be held until released. */
class StandInEngine {
  url = '';
  hold = { info: false, wait: false };
  nvidia = false;
  images: string[] = [];
  readonly requests: string[] = [];
  private held: http.ServerResponse[] = [];
  private server!: https.Server;

  static async start(tls: TlsFiles): Promise<StandInEngine> {
    const e = new StandInEngine();
    e.server = https.createServer({ key: readFileSync(tls.serverKey), cert: readFileSync(tls.serverCert), ca: readFileSync(tls.serverCa), requestCert: true, rejectUnauthorized: true }, (req, res) => e.handle(req, res));
    await new Promise<void>((r) => e.server.listen(0, '127.0.0.1', r));
    e.url = `tcp://127.0.0.1:${(e.server.address() as AddressInfo).port}`;
    return e;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const p = new URL(req.url!, 'https://engine').pathname.replace(/^\/v[\d.]+/, '');
    this.requests.push(`${req.method} ${p}`);
    req.resume();
    const json = (status: number, v: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(v));
    };
    if (p === '/_ping') return void res.end('OK');
    if (p === '/version') return json(200, { Version: '28.5.1', ApiVersion: '1.51', Os: 'linux', Arch: 'amd64' });
    if (p === '/info') {
      if (this.hold.info) return void this.held.push(res);
      return json(200, { ServerVersion: '28.5.1', NCPU: 8, MemTotal: 16 * 1024 ** 3, Runtimes: this.nvidia ? { runc: {}, nvidia: { path: 'nvidia-container-runtime' } } : { runc: {} } });
    }
    if (p === '/images/json') return json(200, this.images.map((t, i) => ({ Id: `sha256:${i}`, RepoTags: [t] })));
    if (p === '/containers/create') return json(201, { Id: 'probe1', Warnings: [] });
    if (p === '/containers/probe1/start') return void res.writeHead(204).end();
    if (p === '/containers/probe1/wait') {
      if (this.hold.wait) return void this.held.push(res);
      return json(200, { StatusCode: 0 });
    }
    if (p === '/containers/probe1' && req.method === 'DELETE') return void res.writeHead(204).end();
    json(404, { message: `no ${p}` });
  }

  release(): void {
    for (const r of this.held.splice(0)) r.destroy();
  }

  close(): Promise<void> {
    this.release();
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

class MemorySecrets implements SecretStore {
  readonly kind = 'file' as SecretStore['kind'];
  readonly values = new Map<string, string>();
  get(k: string) {
    return this.values.get(k) ?? null;
  }
  set(k: string, v: string) {
    this.values.set(k, v);
  }
  delete(k: string) {
    this.values.delete(k);
  }
}

describe('node add: steps, cancel, nothing half-added', () => {
  let tls: TlsFiles;
  let engine: StandInEngine;
  let registry: NodeRegistry | null = null;
  let repo: NodesRepo;
  let secrets: MemorySecrets;
  const events = new CoreEvents();
  const operations = new Operations(events);

  beforeAll(async () => {
    if (!haveOpenssl) return;
    tls = makeTlsFiles(mkdtempSync(path.join(os.tmpdir(), 'aima-add-tls-')), '127.0.0.1');
    engine = await StandInEngine.start(tls);
  }, 60_000);
  afterAll(async () => engine?.close());
  afterEach(() => {
    registry?.close();
    registry = null;
    engine?.release();
    if (engine) Object.assign(engine, { hold: { info: false, wait: false }, nvidia: false, images: [] });
  });

  const fresh = () => {
    const db = openDatabase(path.join(mkdtempSync(path.join(os.tmpdir(), 'aima-add-')), 'aima.db'));
    repo = new NodesRepo(db);
    secrets = new MemorySecrets();
    registry = new NodeRegistry({ repo, secrets, localClient: () => { throw new Error('the local engine is not asked here'); }, heartbeatMs: 60_000, lostAfterMs: 120_000 });
    return registry;
  };
  const params = () => NodeAddParams.parse({ name: 'b', docker: engine.url, tlsDir: tls.clientDir });
  const need = (ctx: { skip: (note?: string) => void }) => {
    if (!haveOpenssl) ctx.skip('missing system part "openssl": apt-get install -y openssl');
  };
  /** Every report of an add, unthrottled (the operations framework throttles what goes out as events). */
  const recorder = () => {
    const reports: { done: number; total: number | null; message?: string }[] = [];
    const op: OperationContext = { signal: new AbortController().signal, report: (done, total, message) => reports.push({ done, total, message }) };
    return { op, reports };
  };
  /** Runs the add as `nodes.add` does and cancels it once a step whose message starts with `when` is under way. */
  const addAndCancel = async (r: NodeRegistry, id: string, when: string) => {
    const seen: OperationProgress[] = [];
    const off = events.on('operation.progress', (p) => {
      if (p.id !== id) return;
      seen.push(p);
      if (p.phase === 'running' && p.message?.startsWith(when)) operations.cancel(id);
    });
    const started = Date.now();
    const err = await operations.run({ id, label: 'Adding node b', unit: 'items' }, (op) => r.add(params(), op)).catch((e: unknown) => e);
    off();
    return { err: err as AimaError, ms: Date.now() - started, seen };
  };
  const nothingLeft = (r: NodeRegistry) => {
    expect(repo.list()).toEqual([]);
    expect([...secrets.values.keys()]).toEqual([]);
    expect(r.names()).toEqual(['local']);
  };

  it('reports each step as it begins, the GPU step only with the NVIDIA runtime', async (ctx) => {
    need(ctx);
    const r = fresh();
    const plain = recorder();
    await r.add(params(), plain.op);
    expect(plain.reports).toEqual([
      { done: 0, total: 3, message: 'checking the name, the endpoint and the files' },
      { done: 1, total: 3, message: `asking the engine at ${engine.url} (docker version, info)` },
      { done: 2, total: 3, message: 'saving' },
      { done: 3, total: 3, message: 'added' },
    ]);
    r.remove('b');

    engine.nvidia = true;
    const gpu = recorder();
    const added = await r.add(params(), gpu.op);
    expect(gpu.reports.map((x) => `${x.done}/${x.total} ${x.message}`)).toEqual([
      '0/3 checking the name, the endpoint and the files',
      `1/3 asking the engine at ${engine.url} (docker version, info)`,
      '2/4 listing the GPUs (nvidia-smi in a short-lived container there)',
      '3/4 saving',
      '4/4 added',
    ]);
    expect(added.gpuNote).toContain('No CUDA or Debian/Ubuntu image is on the node');
  });

  it('a cancel while the engine is asked ends the add at once; no row, no secret; the name can be added again', async (ctx) => {
    need(ctx);
    const r = fresh();
    engine.hold.info = true;
    const { err, ms, seen } = await addAndCancel(r, 'add-1', 'asking the engine');
    expect(err).toBeInstanceOf(AimaError);
    expect(err.code).toBe('cancelled');
    expect(err.message).toBe('Adding node "b" was cancelled; nothing was saved.');
    // Well before the engine's 5 s connect timeout.
    expect(ms).toBeLessThan(2_000);
    expect(seen.at(-1)).toMatchObject({ phase: 'cancelled' });
    nothingLeft(r);

    engine.hold.info = false;
    expect((await r.add(params())).name).toBe('b');
  });

  it('a cancel while nvidia-smi runs in its container there removes the container and saves nothing', async (ctx) => {
    need(ctx);
    const r = fresh();
    Object.assign(engine, { nvidia: true, images: ['nvidia/cuda:12.4.1-base-ubuntu22.04'] });
    engine.hold.wait = true;
    const { err, seen } = await addAndCancel(r, 'add-2', 'listing the GPUs');
    expect(err.code).toBe('cancelled');
    expect(seen.some((p) => p.message?.startsWith('listing the GPUs'))).toBe(true);
    expect(engine.requests).toContain('DELETE /containers/probe1');
    nothingLeft(r);
  });

  it('a second add of a name being added is refused, not raced', async (ctx) => {
    need(ctx);
    const r = fresh();
    engine.hold.info = true;
    const ac = new AbortController();
    const first = r.add(params(), { signal: ac.signal, report: () => {} }).catch((e: unknown) => e);
    await new Promise((res) => setTimeout(res, 100));
    await expect(r.add(params())).rejects.toThrow('A node named "b" is being added right now.');
    ac.abort();
    expect(((await first) as AimaError).code).toBe('cancelled');
    nothingLeft(r);
  });

  it('the CLI prints a step as "step N of M — what it does"', () => {
    const p = (done: number, total: number, message: string): OperationProgress => ({ id: 'x', label: 'Adding node b', phase: 'running', done, total, unit: 'items', message });
    expect(formatProgress(p(1, 3, 'asking the engine at tcp://10.0.0.2:2376 (docker version, info)'))).toBe('Adding node b: step 2 of 3 — asking the engine at tcp://10.0.0.2:2376 (docker version, info)');
    expect(formatProgress(p(3, 3, 'added'))).toBe('Adding node b: step 3 of 3 — added');
  });
});

describe('operation progress', () => {
  it('a step reported within the throttle window still goes out while it runs', async () => {
    const events = new CoreEvents();
    const seen: string[] = [];
    events.on('operation.progress', (p) => p.id === 'op' && seen.push(`${p.phase}:${p.message ?? ''}`));
    await new Operations(events).run({ id: 'op', label: 'Steps', unit: 'items' }, async (op) => {
      op.report(0, 2, 'first');
      op.report(1, 2, 'second');
      await new Promise((r) => setTimeout(r, 250));
    });
    expect(seen).toEqual(['running:', 'running:first', 'running:second', 'done:second']);
  });
});
