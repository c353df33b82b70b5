/**
 * Reaching an engine on a TCP node safely, against real servers: the engine's certificate comes
 * from the per-install CA (the same CA as `aima serve`'s own), it requires a per-service key, and
 * the gateway adds the key and trusts only the install CA for that upstream. The OpenAI SDK is the
 * client. Without the key the engine refuses; with the system's CAs, or a certificate from another
 * CA, the gateway refuses the upstream. The TLS files reach a real container through Docker's
 * archive API, before it starts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { X509Certificate } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { Gateway, type GatewayPolicy } from '../../src/core/gateway/gateway.js';
import type { ModelDirectory, RoutableModel } from '../../src/core/gateway/directory.js';
import { issueEngineCredentials, prepareTlsReach } from '../../src/core/nodes/reach/engine-credentials.js';
import { putContainerFiles } from '../../src/core/nodes/reach/container-files.js';
import { ensureInstallCerts } from '../../src/core/server/tls/install-ca.js';
import { createDockerClient } from '../../src/core/runtimes/docker/platform.js';
import { buildHttpdImage, busyboxStaticAvailable, docker } from '../support/docker-images.js';
import { startFakeOpenAI } from '../support/fake-openai.js';
import { dockerAvailable, requireAll, requirePart } from '../support/system.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const policy: GatewayPolicy = { startOnDemand: false, maxQueue: 10, queueTimeoutMs: 10_000, maxJsonBytes: 1 << 20, maxUploadBytes: 1 << 20, uploadBudgetBytes: 1 << 24, corsOrigins: [] };
const tempData = () => mkdtempSync(path.join(os.tmpdir(), 'aima-reach-'));

/** A gateway on loopback serving model "m" from `route`; returns an OpenAI client for it. */
async function gatewayFor(route: Partial<RoutableModel> & { baseUrl: string }): Promise<OpenAI> {
  const entry: RoutableModel = { id: 'm', aliases: [], kind: 'llm', owner: { type: 'service', service: 'on-node' }, state: 'running', upstreamModel: 'm', concurrency: 4, ...route };
  const directory: ModelDirectory = { list: () => [entry], resolve: (m) => (m === 'm' ? entry : null) };
  const gateway = new Gateway({ directory, policy: () => policy, authorize: () => true });
  const server = http.createServer((req, res) => {
    const [p, q = ''] = req.url!.split('?');
    if (!gateway.route(req, res, p!, q)) res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))));
  return new OpenAI({ baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, apiKey: 'gateway-user', maxRetries: 0 });
}

const ask = (client: OpenAI) => client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });

/** Status of a request sent straight to the engine (trusting the install CA), with or without a key. */
function direct(url: string, ca: string, key?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.request(`${url}/v1/models`, { ca, headers: key ? { authorization: `Bearer ${key}` } : {} }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('engine TLS with a per-service key', () => {
  it('the gateway adds the key and trusts the install CA; the engine refuses requests without the key', async () => {
    const dataDir = tempData();
    const creds = issueEngineCredentials(dataDir, ['127.0.0.1']);
    expect(ensureInstallCerts(dataDir, ['localhost']).caCert).toBe(creds.caCertPem);
    expect(creds.apiKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const engine = await startFakeOpenAI({ tls: { cert: creds.certPem, key: creds.keyPem }, requireKey: creds.apiKey });
    cleanups.push(() => engine.close());
    expect(engine.url.startsWith('https://127.0.0.1:')).toBe(true);

    const answer = await ask(await gatewayFor({ baseUrl: engine.url, apiKey: creds.apiKey, upstreamCa: creds.caCertPem }));
    expect(answer.choices[0]!.message.content).toBe('hello there');
    expect(engine.seenAuth.at(-1)).toBe(`Bearer ${creds.apiKey}`);

    expect(await direct(engine.url, creds.caCertPem)).toBe(401);
    expect(await direct(engine.url, creds.caCertPem, 'wrong')).toBe(401);
    const withoutKey = await ask(await gatewayFor({ baseUrl: engine.url, upstreamCa: creds.caCertPem })).catch((e: unknown) => e);
    expect(withoutKey).toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it('refuses an upstream whose certificate the install CA did not sign, and trusts no system CA in its place', async () => {
    const ours = issueEngineCredentials(tempData(), ['127.0.0.1']);
    const other = issueEngineCredentials(tempData(), ['127.0.0.1']);
    const impostor = await startFakeOpenAI({ tls: { cert: other.certPem, key: other.keyPem } });
    cleanups.push(() => impostor.close());
    for (const route of [{ upstreamCa: ours.caCertPem }, {}]) {
      const err = await ask(await gatewayFor({ baseUrl: impostor.url, apiKey: ours.apiKey, ...route })).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.APIError);
      expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    }
    expect(impostor.requests).toBe(0);
  });

  it('a certificate names the address the gateway dials: another name is refused', async () => {
    const creds = issueEngineCredentials(tempData(), ['gpu-box.lan']);
    const engine = await startFakeOpenAI({ tls: { cert: creds.certPem, key: creds.keyPem }, requireKey: creds.apiKey });
    cleanups.push(() => engine.close());
    const err = await ask(await gatewayFor({ baseUrl: engine.url, apiKey: creds.apiKey, upstreamCa: creds.caCertPem })).catch((e: unknown) => e);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    expect(engine.requests).toBe(0);
  });
});

describe('TLS files into a container', () => {
  it('prepares the arguments and puts the certificate and key into a created container before it starts', async (ctx) => {
    requirePart(ctx, 'docker', dockerAvailable());
    if (!busyboxStaticAvailable()) {
      if (requireAll) throw new Error('busybox-static is missing: apt-get install -y busybox-static');
      return ctx.skip('missing system part "busybox-static": apt-get install -y busybox-static');
    }
    const image = buildHttpdImage();
    const reach = prepareTlsReach({ tlsKeyFileFlag: '--ssl-keyfile', tlsCertFileFlag: '--ssl-certfile', apiKeyFlag: '--api-key', keyGuards: '/v1', openPaths: [] }, tempData(), '127.0.0.1');
    expect(reach.args).toEqual(['--ssl-keyfile', '/run/aima-tls/key.pem', '--ssl-certfile', '/run/aima-tls/cert.pem', '--api-key', reach.apiKey]);
    const cert = reach.files.find((f) => f.path.endsWith('cert.pem'))!.content as string;
    expect(new X509Certificate(cert).checkIssued(new X509Certificate(reach.caCertPem))).toBe(true);
    const client = createDockerClient();
    const container = await client.createContainer({ Image: image, Cmd: ['/bin/sh', '-c', 'cat /run/aima-tls/cert.pem; /bin/busybox stat -c "%a %u" /run/aima-tls/key.pem'] });
    cleanups.push(() => container.remove({ force: true }).then(() => undefined));
    await putContainerFiles(container, reach.files);
    await container.start();
    await container.wait();
    const out = docker(['logs', container.id]);
    expect(out).toContain(cert.trim());
    expect(out.trim().split('\n').at(-1)).toBe('444 0');
  }, 60_000);
});
