/**
 * The wiring of remote reach into a Docker runtime on another node, with the built-in catalog's
 * entries: on a TCP node the plan turns TLS on (https health URL, the entry's flags) and an engine
 * without TLS flags is refused; a start's credentials (arguments with the key, the certificate and
 * key files) and the key kept in the secret store for adoption; the health probe over https
 * trusting only the install CA and sending the key, against a real TLS server that requires it;
 * the gateway's route carrying the key and the CA of a service served over https; an SSH node's
 * failure never described as a TLS one.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { loadCatalog } from '../../src/core/engines/catalog.js';
import type { DockerEngineEntry, HealthSpec } from '../../src/core/engines/catalog-schema.js';
import { createModelDirectory } from '../../src/core/gateway/routes-directory.js';
import { createContainerReach, engineKeySecret } from '../../src/core/nodes/reach/container-reach.js';
import { issueEngineCredentials } from '../../src/core/nodes/reach/engine-credentials.js';
import { describeNodeFailure } from '../../src/core/nodes/registry.js';
import type { SshTunnels } from '../../src/core/nodes/ssh/tunnel.js';
import { DockerRuntime } from '../../src/core/runtimes/docker/docker-runtime.js';
import { probeHttp } from '../../src/core/runtimes/probe.js';
import type { PlanInput } from '../../src/core/runtimes/types.js';
import type { SecretStore } from '../../src/core/secrets/secret-store.js';
import type { ServiceSummary } from '../../src/shared/contract/index.js';
import { repoRoot } from '../support/system.js';

const catalog = loadCatalog({ builtin: path.join(repoRoot, 'resources', 'engines'), user: '/nonexistent' });
const engine = (id: string) => catalog.items.get(id)!.entry;
const remoteAccessOf = (id: string) => (engine(id) as DockerEngineEntry).remoteAccess!;

function memorySecrets(): SecretStore & { values: Map<string, string> } {
  const values = new Map<string, string>();
  return { kind: 'file', values, get: (k) => values.get(k) ?? null, set: (k, v) => void values.set(k, v), delete: (k) => void values.delete(k) };
}

const noTunnels = (): SshTunnels => {
  throw new Error('no tunnels on a TCP node');
};

function tcpReach(dataDir = mkdtempSync(path.join(os.tmpdir(), 'aima-reach-'))) {
  const secrets = memorySecrets();
  return { secrets, dataDir, reach: createContainerReach({ node: 'gpu', transport: 'tcp-tls', address: '10.0.0.7', tunnels: noTunnels, dataDir, secrets }) };
}

function input(id: string): PlanInput {
  return {
    serviceId: 'svc-1',
    serviceName: 'big',
    engine: engine(id),
    binary: 'docker',
    model: { name: 'm', path: '/data/models/m-safetensors' },
    device: 'gpu',
    gpus: [0],
    host: '10.0.0.7',
    port: 0,
    threads: null,
    ctxSize: null,
    concurrency: 4,
    node: '/usr/bin/node',
    dockerNode: 'gpu',
    modelOnNodes: { kind: 'path', path: '/srv/models/m-safetensors' },
    workersDir: '/app/out/workers',
    logFile: '/data/logs/services/big.log',
    pidFile: '/data/run/svc-1.pid',
    electron: false,
  };
}

const facts = { arch: 'x64', gpuVendor: 'nvidia' as const, computeCapability: '9.0', env: {} };
const runtimeOn = (reach: ReturnType<typeof createContainerReach>) => new DockerRuntime({ docker: () => ({}) as never, facts, installId: '0a1b2c3d-0000', node: 'gpu', reach });

describe('a Docker runtime on a TCP node', () => {
  it('plans TLS for an engine with TLS flags (https health URL), and refuses one without, naming the engine and the fix', () => {
    const { reach } = tcpReach();
    const plan = runtimeOn(reach).plan(input('vllm'));
    expect(plan.tls).toEqual(remoteAccessOf('vllm'));
    expect(plan.healthUrl).toBe('https://10.0.0.7:0/health');
    expect(plan.host).toBe('10.0.0.7');
    // The key is issued at start, not planned: the plan holds no secret.
    expect(plan.cmd).not.toContain('--api-key');
    expect(() => runtimeOn(reach).plan({ ...input('kokoro'), device: 'cpu', model: null })).toThrow(/cannot serve TLS with a key, so on node "gpu" \(reached over TCP\) its port would be open to the network in clear/);
  });

  it('issues a start\'s credentials: the flags with the key, a certificate for the node address from the install CA, the key kept for adoption', async () => {
    const { reach, secrets, dataDir } = tcpReach();
    const access = remoteAccessOf('sglang');
    const start = reach.issue('svc-1', access);
    const key = secrets.get(engineKeySecret('svc-1'))!;
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(start.args).toEqual(['--ssl-keyfile', '/run/aima-tls/key.pem', '--ssl-certfile', '/run/aima-tls/cert.pem', '--api-key', key]);
    expect(start.files.map((f) => f.path)).toEqual(['/run/aima-tls/cert.pem', '/run/aima-tls/key.pem']);
    const cert = new X509Certificate(start.files[0]!.content as string);
    expect(cert.subjectAltName).toContain('IP Address:10.0.0.7');

    const up = await reach.open('svc-1', 31000, true);
    expect(up).toMatchObject({ host: '10.0.0.7', port: 31000, tls: { apiKey: key } });
    expect(cert.checkIssued(new X509Certificate(up.tls!.ca))).toBe(true);
    expect(issueEngineCredentials(dataDir, ['x']).caCertPem).toBe(up.tls!.ca);
    // A new start replaces the key; a removed service's key is forgotten.
    reach.issue('svc-1', access);
    expect(secrets.get(engineKeySecret('svc-1'))).not.toBe(key);
    reach.forget('svc-1');
    expect(secrets.values.size).toBe(0);
    await expect(reach.open('svc-1', 31000, true)).rejects.toThrow(/engine key of service svc-1 on node "gpu" is missing/);
  });

  it('an SSH node turns no TLS on and reaches the published port through a tunnel, closed once, and all of them with the runtime', async () => {
    const closed: number[] = [];
    const tunnels: SshTunnels = {
      forward: async (remotePort) => ({ localPort: 40000 + remotePort, remotePort, close: async () => void closed.push(remotePort) }),
      close: async () => {},
    };
    const reach = createContainerReach({ node: 's', transport: 'ssh', address: 'gpu-box', tunnels: () => tunnels, dataDir: '/nonexistent', secrets: memorySecrets() });
    expect(reach.check(engine('custom-image'))).toBeNull();
    expect(() => reach.check(engine('aima-llm'))).toThrow(/runs as a process on this machine, so it cannot run on node "s"/);
    const up = await reach.open('svc-2', 31000, false);
    expect(up).toMatchObject({ host: '127.0.0.1', port: 71000, tls: null });
    const other = await reach.open('svc-3', 32000, false);
    await up.close();
    await up.close();
    expect(closed).toEqual([31000]);
    // The node's runtime closing (the core closes, the node is removed) closes what is still open.
    await reach.close();
    expect(closed).toEqual([31000, 32000]);
    await other.close();
    expect(closed).toEqual([31000, 32000]);
  });
});

describe('the health probe of an engine serving TLS with a key', () => {
  const servers: https.Server[] = [];
  afterEach(() => {
    for (const s of servers.splice(0)) s.close();
  });

  it('trusts only the install CA and sends the key', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'aima-probe-'));
    const creds = issueEngineCredentials(dataDir, ['127.0.0.1']);
    const server = https.createServer({ cert: creds.certPem, key: creds.keyPem }, (req, res) => {
      res.writeHead(req.headers.authorization === `Bearer ${creds.apiKey}` ? 200 : 401).end();
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const health: HealthSpec = { path: '/health', status: 200 };
    expect(await probeHttp('127.0.0.1', port, health, 2000, { ca: creds.caCertPem, apiKey: creds.apiKey })).toEqual({ kind: 'ready' });
    expect(await probeHttp('127.0.0.1', port, health, 2000, { ca: creds.caCertPem, apiKey: 'wrong' })).toMatchObject({ kind: 'not-ready', status: 401 });
    const other = issueEngineCredentials(mkdtempSync(path.join(os.tmpdir(), 'aima-probe-')), ['127.0.0.1']);
    expect(await probeHttp('127.0.0.1', port, health, 2000, { ca: other.caCertPem, apiKey: creds.apiKey })).toMatchObject({ kind: 'unreachable' });
    expect(await probeHttp('127.0.0.1', port, health)).toMatchObject({ kind: 'unreachable' });
  });
});

describe("the gateway's route to a service on another node", () => {
  const summary = (url: string | null): ServiceSummary => ({ name: 'big', model: 'm', state: 'running', url, concurrency: 4, kind: 'llm', replicaOf: null, reason: null }) as ServiceSummary;
  const directoryOf = (s: ServiceSummary) =>
    createModelDirectory({
      services: () => [s],
      remotes: () => [],
      remoteKey: () => null,
      serviceTls: (name) => (name === 'big' ? { apiKey: 'k', ca: 'CA' } : null),
      startService: async () => s,
    });

  it('carries the key and the CA of an engine served over https, and nothing for one reached in clear (locally or through a tunnel)', () => {
    expect(directoryOf(summary('https://10.0.0.7:31000')).resolve('m')).toMatchObject({ baseUrl: 'https://10.0.0.7:31000', apiKey: 'k', upstreamCa: 'CA' });
    const tunnel = directoryOf(summary('http://127.0.0.1:41234')).resolve('m')!;
    expect(tunnel.baseUrl).toBe('http://127.0.0.1:41234');
    expect(tunnel.apiKey).toBeUndefined();
    expect(tunnel.upstreamCa).toBeUndefined();
  });
});

describe('describeNodeFailure', () => {
  it("describes an SSH node's failure as SSH's, even when its words look like TLS's", () => {
    const ssh = describeNodeFailure('s', 'ssh://me@gpu-box', { status: 'error', endpoint: 'x', error: 'Handshake failed: no matching key exchange algorithm', fix: '' });
    expect(ssh).toContain('Node "s" (ssh://me@gpu-box) cannot be reached over SSH: Handshake failed');
    expect(ssh).not.toMatch(/TLS/);
    const tcp = describeNodeFailure('b', 'tcp://gpu-box:2376', { status: 'error', endpoint: 'x', error: 'self-signed certificate in certificate chain', fix: '' });
    expect(tcp).toContain('refused the TLS connection');
  });
});
