/**
 * Two AIMA installs (two data directories) on one Docker daemon, against the real daemon with
 * the busybox httpd test image: services with the same name both run, a core's start leaves the
 * other install's containers alone, and a container made before containers carried the install's
 * id is adopted by the install whose service it runs, renamed to the new name and kept.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { createCore, type Core } from '../../src/core/core.js';
import { ServicesRepo } from '../../src/core/store/repositories/services-repo.js';
import { tempHome } from '../support/cli.js';
import { aimaContainers, buildHttpdImage, busyboxStaticAvailable, docker, HTTPD_IMAGE } from '../support/docker-images.js';
import { waitFor } from '../support/services.js';
import { dockerAvailable, requireAll, requirePart } from '../support/system.js';

const haveDocker = dockerAvailable();
const haveBusybox = busyboxStaticAvailable();

const ENTRYPOINT = ['/bin/sh', '-c', 'echo "httpd starting for $0"; echo "serving"; exec httpd -f -vv -p 8080 -h /www'];

/** A data directory with the httpd test engine in its catalog. */
function install(prefix: string): string {
  const home = tempHome(prefix);
  mkdirSync(path.join(home, 'engines'), { recursive: true });
  const entry = {
    id: 'test-httpd',
    name: 'Test httpd (busybox)',
    kind: 'llm',
    runtime: 'docker',
    devices: ['cpu', 'gpu'],
    model: { required: false, formats: ['gguf'], kinds: ['llm'] },
    images: [{ image: HTTPD_IMAGE }],
    modelMountPath: '/models',
    containerPort: 8080,
    entrypoint: [...ENTRYPOINT, '{{model_name}}'],
    health: { path: '/health', status: 200 },
    resources: { memory: '64m', cpus: 0.5 },
    defaults: { stopGraceMs: 1000, stallTimeoutMs: 30000 },
  };
  writeFileSync(path.join(home, 'engines', 'test-httpd.json'), JSON.stringify(entry));
  return home;
}

const cores = new Set<Core>();
async function core(home: string): Promise<Core> {
  const c = await createCore({ dataDir: home, host: 'serve', serviceTiming: { stopGraceMs: 1000 } });
  cores.add(c);
  return c;
}
/** Closes a core the way a quit with "keep running" does: its containers stay for the next core. */
async function leave(c: Core): Promise<void> {
  cores.delete(c);
  await c.close({ stopServices: false });
}
afterEach(async () => {
  for (const c of [...cores]) await c.close({ stopServices: true }).catch(() => {});
  cores.clear();
});

const made: string[] = [];
afterAll(() => {
  if (!haveDocker) return;
  for (const id of made) if (exists(id)) docker(['rm', '-f', id]);
});
beforeAll(() => {
  if (haveDocker && haveBusybox) buildHttpdImage();
}, 120_000);

const inspect = (id: string) => JSON.parse(docker(['inspect', id]))[0] as { Id: string; Name: string; State: { Running: boolean }; Config: { Labels: Record<string, string> } };
const exists = (id: string) => {
  try {
    docker(['inspect', id]);
    return true;
  } catch {
    return false;
  }
};
const installIdOf = (home: string) => readFileSync(path.join(home, 'install-id'), 'utf8').trim();

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

describe('two installs on one Docker daemon', () => {
  const need = (ctx: { skip: (note?: string) => void }) => {
    requirePart(ctx, 'docker', haveDocker);
    if (!haveBusybox) {
      if (requireAll) throw new Error('busybox-static is missing: apt-get install -y busybox-static');
      ctx.skip('missing system part "busybox-static": apt-get install -y busybox-static');
    }
  };

  it('a service named the same in two data directories runs in both; the container names and labels carry each install', async (ctx) => {
    need(ctx);
    const homeA = install('aima-inst-a-');
    const homeB = install('aima-inst-b-');
    const a = await core(homeA);
    const b = await core(homeB);
    const sa = await a.api['services.create']({ name: 'web', engine: 'test-httpd' });
    const sb = await b.api['services.create']({ name: 'web', engine: 'test-httpd' });
    expect((await a.api['services.start']({ name: 'web', wait: true, timeoutMs: 30_000 })).state).toBe('running');
    const started = await b.api['services.start']({ name: 'web', wait: true, timeoutMs: 30_000 }).catch((e: Error) => e);
    expect(started).not.toBeInstanceOf(Error);
    expect((started as { state: string }).state).toBe('running');

    const [ca] = aimaContainers(sa.id);
    const [cb] = aimaContainers(sb.id);
    const ia = inspect(ca!);
    const ib = inspect(cb!);
    expect(installIdOf(homeA)).not.toBe(installIdOf(homeB));
    expect(ia.Name).toBe(`/aima-${installIdOf(homeA).slice(0, 8)}-web`);
    expect(ib.Name).toBe(`/aima-${installIdOf(homeB).slice(0, 8)}-web`);
    expect(ia.Config.Labels['aima.install']).toBe(installIdOf(homeA));
    expect(ib.Config.Labels['aima.install']).toBe(installIdOf(homeB));
    await a.api['services.stop']({ name: 'web' });
    await b.api['services.stop']({ name: 'web' });
    expect(aimaContainers(sa.id)).toEqual([]);
    expect(aimaContainers(sb.id)).toEqual([]);
  }, 90_000);

  it("a starting core removes its own stopped containers and leaves another install's alone", async (ctx) => {
    need(ctx);
    const homeA = install('aima-inst-a-');
    const homeB = install('aima-inst-b-');
    // Install A has run once (it has an install id and a service), so its start is a restart.
    const a0 = await core(homeA);
    await a0.api['services.create']({ name: 'web', engine: 'test-httpd' });
    await leave(a0);

    // B's engine runs while B's core is gone; then it stops with nobody watching.
    const b0 = await core(homeB);
    const sb = await b0.api['services.create']({ name: 'web', engine: 'test-httpd' });
    await b0.api['services.start']({ name: 'web', wait: true, timeoutMs: 30_000 });
    const [cb] = aimaContainers(sb.id);
    made.push(cb!);
    await leave(b0);
    docker(['stop', '-t', '0', cb!]);
    expect(inspect(cb!).State.Running).toBe(false);

    const a = await core(homeA);
    expect(exists(cb!)).toBe(true); // not A's to remove
    await leave(a);

    // B's own core does remove it (and, its desired state being running, starts a new one).
    const b = await core(homeB);
    expect(exists(cb!)).toBe(false);
    await waitFor(async () => (await b.api['services.get']({ name: 'web' })).state === 'running', 'B restored', 30_000, 100);
  }, 90_000);

  it('a running container made before install ids (no install label, old name) is adopted by the install whose service it runs, renamed, and stopped through it later', async (ctx) => {
    need(ctx);
    const homeA = install('aima-inst-a-');
    const homeB = install('aima-inst-b-');
    const a0 = await core(homeA);
    const s = await a0.api['services.create']({ name: 'legacy', engine: 'test-httpd' });
    new ServicesRepo(a0.db).setDesiredState(s.id, 'running');
    await leave(a0);
    await leave(await core(homeB)); // B exists and has an install id

    // What the earlier version created: `aima-<name>`, labelled with the service id only.
    const port = await freePort();
    const logFile = path.join(homeA, 'logs', 'services', 'legacy.log');
    const id = docker([
      'run', '-d', '--name', 'aima-legacy',
      '--label', `aima.service=${s.id}`, '--label', 'aima.service.name=legacy', '--label', 'aima.engine=test-httpd',
      '--label', `aima.log=${logFile}`, '--label', 'aima.host=127.0.0.1', '--label', `aima.port=${port}`,
      '-p', `127.0.0.1:${port}:8080`, '--entrypoint', ENTRYPOINT[0]!, HTTPD_IMAGE, ...ENTRYPOINT.slice(1), 'legacy',
    ]).trim();
    made.push(id);

    // Another install's core start neither adopts nor renames nor removes it.
    await leave(await core(homeB));
    expect(inspect(id).Name).toBe('/aima-legacy');
    expect(inspect(id).State.Running).toBe(true);

    const a = await core(homeA);
    const adopted = await a.api['services.get']({ name: 'legacy' });
    expect(['loading', 'running']).toContain(adopted.state);
    await waitFor(async () => (await a.api['services.get']({ name: 'legacy' })).state === 'running', 'adopted → running', 20_000, 100);
    expect(aimaContainers(s.id)).toEqual([id.slice(0, 12)]); // the same container, not a new one
    expect(inspect(id).Name).toBe(`/aima-${installIdOf(homeA).slice(0, 8)}-legacy`);

    // Adopted once, it stays A's: a core restart adopts it again, and a stop removes it.
    await leave(a);
    const a2 = await core(homeA);
    expect(['loading', 'running']).toContain((await a2.api['services.get']({ name: 'legacy' })).state);
    expect(aimaContainers(s.id)).toEqual([id.slice(0, 12)]);
    await a2.api['services.stop']({ name: 'legacy' });
    expect(exists(id)).toBe(false);
  }, 90_000);

  it("a container squatting the service's name: this install's leftover is removed and the start goes on; anyone else's is named in the refusal with the `docker rm -f` fix", async (ctx) => {
    need(ctx);
    const home = install('aima-inst-a-');
    const a = await core(home);
    await a.api['services.create']({ name: 'web', engine: 'test-httpd' });
    const name = `aima-${installIdOf(home).slice(0, 8)}-web`;

    // Left by a removed service of this install (same name, another service id).
    const leftover = docker(['create', '--name', name, '--label', `aima.install=${installIdOf(home)}`, '--label', 'aima.service=00000000-0000-4000-8000-000000000000', HTTPD_IMAGE]).trim();
    made.push(leftover);
    expect((await a.api['services.start']({ name: 'web', wait: true, timeoutMs: 30_000 })).state).toBe('running');
    expect(exists(leftover)).toBe(false);
    await a.api['services.stop']({ name: 'web' });

    // Not ours: refused, named, left alone.
    const squatter = docker(['create', '--name', name, HTTPD_IMAGE]).trim();
    made.push(squatter);
    const err = await a.api['services.start']({ name: 'web', wait: true, timeoutMs: 30_000 }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain(`Docker already has a container named ${name} (${squatter.slice(0, 12)}, not made by AIMA)`);
    expect((err as Error).message).toContain(`docker rm -f ${name}`);
    expect(exists(squatter)).toBe(true);
  }, 90_000);
});
