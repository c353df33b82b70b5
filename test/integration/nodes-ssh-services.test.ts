/**
 * A service on an SSH node, through a real `aima serve`: a real sshd (test/support/sshd.ts) in front
 * of the local dockerd is the node. A custom-image service (busybox httpd) created with `--node`
 * publishes its port on the node's 127.0.0.1 only, and is reached through an SSH tunnel AIMA opens
 * over the node's kept connection: its URL is a local tunnel port (not the published one), its
 * health goes ready through it, the gateway's request reaches the engine, the published port is
 * not open on the machine's other addresses; after the SSH connection is lost the tunnel carries
 * requests again; a core started afresh adopts the container and opens a new tunnel; stop closes it;
 * removing the node ends the SSH connection.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import os from 'node:os';
import { rmSync } from 'node:fs';
import OpenAI from 'openai';
import { createHttpClient, transportToApi } from '../../src/lib/client/http-client.js';
import type { CoreApi, ServiceSummary } from '../../src/shared/contract/index.js';
import { runAima, startServe, tempHome, type ServeHandle } from '../support/cli.js';
import { aimaContainers, buildHttpdImage, busyboxStaticAvailable, docker, HTTPD_IMAGE } from '../support/docker-images.js';
import { get } from '../support/http-get.js';
import { waitFor } from '../support/services.js';
import { startSshd, sshdAvailable, type TestSshd } from '../support/sshd.js';
import { dockerAvailable, requirePart } from '../support/system.js';

const haveParts = dockerAvailable() && sshdAvailable();
const haveBusybox = busyboxStaticAvailable();


const portOf = (url: string) => Number(new URL(url).port);
/** This machine's addresses other than loopback (where a port published on 0.0.0.0 would answer). */
const otherAddresses = () =>
  Object.values(os.networkInterfaces())
    .flat()
    .filter((a): a is os.NetworkInterfaceInfo => Boolean(a && a.family === 'IPv4' && !a.internal))
    .map((a) => a.address);

describe('a service on an SSH node, reached through an SSH tunnel', () => {
  let sshd: TestSshd | undefined;
  let serve: ServeHandle | undefined;
  let client: ReturnType<typeof createHttpClient> | undefined;
  let api: CoreApi;
  const home = tempHome('aima-nodes-ssh-svc-');
  const env = { AIMA_HOME: home, SSH_AUTH_SOCK: '' };
  const connect = (s: ServeHandle) => {
    client?.close();
    client = createHttpClient({ url: s.url, token: s.token });
    api = transportToApi(client);
  };
  const logins = () => (sshd!.log().match(/Accepted publickey/g) ?? []).length;

  beforeAll(async () => {
    if (!haveParts || !haveBusybox) return;
    buildHttpdImage();
    sshd = await startSshd();
    serve = await startServe(env, [], 60_000);
    connect(serve);
  }, 120_000);
  afterAll(async () => {
    client?.close();
    if (serve) {
      await api['services.remove']({ name: 'web' }).catch(() => {});
      await serve.stop();
    }
    await sshd?.stop();
    rmSync(home, { recursive: true, force: true });
  }, 60_000);

  const need = (ctx: { skip: (note?: string) => void }) => {
    requirePart(ctx, 'docker', dockerAvailable());
    requirePart(ctx, 'sshd', sshdAvailable());
    if (!haveBusybox) ctx.skip('missing system part "busybox-static": apt-get install -y busybox-static');
  };

  let service: ServiceSummary;
  let container = '';

  it('publishes on the node loopback only; its URL is a local tunnel port; health, direct requests and the gateway go through the tunnel', async (ctx) => {
    need(ctx);
    const s = sshd!;
    // What an earlier attempt of this test made (vitest retries it) is removed first.
    await api['services.remove']({ name: 'web' }).catch(() => {});
    await api['nodes.remove']({ name: 's' }).catch(() => {});
    const add = await runAima(['node', 'add', 's', '--docker', s.url, '--identity-file', s.identityFile, '--known-hosts', s.knownHostsFile], env);
    expect(add.code, add.stderr).toBe(0);
    const created = await runAima(['service', 'create', 'web', '--engine', 'custom-image', '--image', HTTPD_IMAGE, '--node', 's', '--json'], env);
    expect(created.code, created.stderr).toBe(0);
    service = JSON.parse(created.stdout) as ServiceSummary;
    expect(service.node).toBe('s');

    const loginsBefore = logins();
    const running = await api['services.start']({ name: 'web', wait: true, timeoutMs: 60_000 });
    expect(running.state).toBe('running');
    expect(running.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    [container] = aimaContainers(service.id);
    expect(container).toBeDefined();

    // Docker published the engine's port on the node's 127.0.0.1 only; the service's URL is another port: the tunnel's.
    const bindings = JSON.parse(docker(['inspect', '-f', '{{json .NetworkSettings.Ports}}', container])) as Record<string, { HostIp: string; HostPort: string }[]>;
    const published = bindings['8000/tcp']!;
    expect(published.map((b) => b.HostIp)).toEqual(['127.0.0.1']);
    const publishedPort = Number(published[0]!.HostPort);
    expect(portOf(running.url!)).not.toBe(publishedPort);
    for (const addr of otherAddresses()) expect(await get(publishedPort, '/health', addr)).toEqual({ error: 'ECONNREFUSED' });

    // The tunnel reaches the engine, over the one SSH connection the node's Docker calls use.
    expect(await get(portOf(running.url!), '/health')).toEqual({ status: 200, body: '{"status":"ok"}\n' });
    expect(logins() - loginsBefore).toBeLessThanOrEqual(1);

    // The gateway routes to the tunnel: the engine's own answer comes back (busybox httpd serves no POST).
    const openai = new OpenAI({ baseURL: `${serve!.url}/v1`, apiKey: serve!.token, maxRetries: 0 });
    const err = await openai.chat.completions.create({ model: 'web', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(501);
    // The engine's access line reaches the service log as the log is followed, a moment later.
    await waitFor(async () => (await api['services.logs']({ name: 'web', lines: 50 })).lines.join('\n').includes('/v1/chat/completions'), 'the request in the service log', 10_000, 100);
  }, 120_000);

  it('after the SSH connection is lost, the tunnel carries the next request over a new one', async (ctx) => {
    need(ctx);
    const before = logins();
    sshd!.dropConnections();
    // The same listener reconnects on the next request; should the heartbeat have seen the node
    // silent meanwhile, the container is adopted again through a new tunnel: either way the
    // service's URL answers again, over a new SSH connection.
    await waitFor(async () => {
      const s = await api['services.get']({ name: 'web' });
      if (s.state !== 'running' || !s.url) return false;
      const r = await get(portOf(s.url), '/health');
      return 'status' in r && r.status === 200;
    }, 'the tunnel answering after the loss', 20_000, 200);
    expect(logins()).toBeGreaterThan(before);
  }, 60_000);

  it('a core started afresh adopts the container and opens a new tunnel to it', async (ctx) => {
    need(ctx);
    const oldUrl = (await api['services.get']({ name: 'web' })).url!;
    client!.close();
    client = undefined;
    await serve!.kill();
    // The old core's tunnel went with it; the engine did not.
    expect(await get(portOf(oldUrl), '/health')).toEqual({ error: 'ECONNREFUSED' });
    expect(docker(['inspect', '-f', '{{.State.Running}}', container]).trim()).toBe('true');
    serve = await startServe(env, [], 60_000);
    connect(serve);
    await waitFor(async () => (await api['services.get']({ name: 'web' })).state === 'running', 'adopted → running', 30_000, 100);
    expect(aimaContainers(service.id)).toEqual([container]);
    const url = (await api['services.get']({ name: 'web' })).url!;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await get(portOf(url), '/health')).toEqual({ status: 200, body: '{"status":"ok"}\n' });
  }, 120_000);

  it('stopping the service closes its tunnel and removes the container', async (ctx) => {
    need(ctx);
    const url = (await api['services.get']({ name: 'web' })).url!;
    const started = Date.now();
    const stopped = await api['services.stop']({ name: 'web' });
    // The test image's httpd stops on SIGTERM: no wait for the custom image engine's 10 s grace.
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(stopped.state).toBe('stopped');
    expect(stopped.url).toBeNull();
    expect(await get(portOf(url), '/health')).toEqual({ error: 'ECONNREFUSED' });
    expect(aimaContainers(service.id)).toEqual([]);
  }, 60_000);

  it('removing the node ends its SSH connection', async (ctx) => {
    need(ctx);
    const ended = () => (sshd!.log().match(/Disconnected from user|Connection closed by/g) ?? []).length;
    await api['services.remove']({ name: 'web' });
    const before = ended();
    const rm = await runAima(['node', 'rm', 's'], env);
    expect(rm.code, rm.stderr).toBe(0);
    await waitFor(() => ended() > before, 'the SSH connection closed by the core', 10_000, 50);
  }, 60_000);
});
