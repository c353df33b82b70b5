/** Nodes, the pure parts: the endpoint parser, TLS file checks, facts from the engine, the GPU probe's image, the placement machine and the service endpoint seam. */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatNodeEndpoint, parseNodeEndpoint } from '../../src/core/nodes/endpoint.js';
import { factsFromPlatform, normaliseArch, pickGpuProbeImage } from '../../src/core/nodes/facts.js';
import { LOCAL_NODE, type NodeFacts } from '../../src/core/nodes/node-facts.js';
import { serviceEndpointOn } from '../../src/core/nodes/service-endpoint.js';
import { readNodeTlsFiles } from '../../src/core/nodes/tls-files.js';
import { nodeMachine } from '../../src/core/scheduler/node-machine.js';
import { planPlacement } from '../../src/core/scheduler/plan.js';
import { hasCommand } from '../support/system.js';
import { makeTlsFiles } from '../support/remote-dockerd.js';

describe('parseNodeEndpoint', () => {
  it.each([
    ['tcp://gpu-box:2376', { kind: 'tcp-tls', host: 'gpu-box', port: 2376 }],
    ['tcp://10.0.0.5', { kind: 'tcp-tls', host: '10.0.0.5', port: 2376 }],
    ['https://[fd00::5]:2377', { kind: 'tcp-tls', host: 'fd00::5', port: 2377 }],
    ['ssh://me@gpu-box', { kind: 'ssh', user: 'me', host: 'gpu-box', port: 22 }],
    ['ssh://me@gpu-box:2222', { kind: 'ssh', user: 'me', host: 'gpu-box', port: 2222 }],
  ])('%s', (raw, want) => {
    const e = parseNodeEndpoint(raw);
    expect(e).toEqual(want);
    expect(parseNodeEndpoint(formatNodeEndpoint(e))).toEqual(want);
  });

  it.each([
    ['gpu-box:2376', /is not a Docker endpoint URL/],
    ['http://gpu-box:2375', /Docker's API in clear/],
    ['unix:///var/run/docker.sock', /uses unix, which is not a Docker endpoint/],
    ['ssh://gpu-box', /names no user/],
    ['tcp://me@gpu-box:2376', /takes no user name/],
    ['tcp://gpu-box:2376/v1', /has a path/],
  ])('refuses %s', (raw, message) => {
    expect(() => parseNodeEndpoint(raw)).toThrow(message);
  });
});

describe('readNodeTlsFiles', () => {
  const haveOpenssl = hasCommand('openssl');
  it('accepts a matching set and names the bad file otherwise', (ctx) => {
    if (!haveOpenssl) return ctx.skip('missing openssl');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'aima-tls-'));
    const good = makeTlsFiles(path.join(dir, 'a'), '10.0.0.2');
    const other = makeTlsFiles(path.join(dir, 'b'), '10.0.0.2');
    const files = readNodeTlsFiles(good.clientDir);
    expect(files.key).toContain('PRIVATE KEY');
    expect(files.cert).toContain('BEGIN CERTIFICATE');

    const bad = mkdtempSync(path.join(dir, 'bad-'));
    expect(() => readNodeTlsFiles(bad)).toThrow(`${path.join(bad, 'ca.pem')} does not exist`);
    writeFileSync(path.join(bad, 'ca.pem'), 'not pem');
    expect(() => readNodeTlsFiles(bad)).toThrow(`${path.join(bad, 'ca.pem')} is not a PEM file`);
    copyFileSync(path.join(good.clientDir, 'ca.pem'), path.join(bad, 'ca.pem'));
    writeFileSync(path.join(bad, 'cert.pem'), readFileSync(path.join(good.clientDir, 'key.pem')));
    expect(() => readNodeTlsFiles(bad)).toThrow(`${path.join(bad, 'cert.pem')} holds no certificate AIMA can read`);
    copyFileSync(path.join(good.clientDir, 'cert.pem'), path.join(bad, 'cert.pem'));
    copyFileSync(path.join(other.clientDir, 'key.pem'), path.join(bad, 'key.pem'));
    expect(() => readNodeTlsFiles(bad)).toThrow(`${path.join(bad, 'key.pem')} is not the key of ${path.join(bad, 'cert.pem')}`);
    execFileSync('openssl', ['pkey', '-in', path.join(good.clientDir, 'key.pem'), '-aes256', '-passout', 'pass:secret', '-out', path.join(bad, 'key.pem')]);
    expect(() => readNodeTlsFiles(bad)).toThrow(`${path.join(bad, 'key.pem')} is encrypted with a passphrase`);
    expect(() => readNodeTlsFiles(good.clientDir, new Date(Date.now() + 5 * 86_400_000))).toThrow(/ca\.pem expired on/);
  });
});

describe('facts from the engine', () => {
  it('normalises Docker architecture names', () => {
    expect(['x86_64', 'amd64', 'aarch64', 'arm64', 'riscv64', undefined].map(normaliseArch)).toEqual(['x64', 'x64', 'arm64', 'arm64', null, null]);
  });

  it('reads a running platform, and an unreachable one with its described failure', () => {
    const running = factsFromPlatform(
      'b',
      { status: 'running', endpoint: 'x', version: '24.0.7', apiVersion: '1.43', arch: 'aarch64', runtimes: ['nvidia', 'runc'], cdiSpecDirs: [], cdiDevices: [], gpu: { kind: 'nvidia-runtime', isDefault: false }, cpus: 20, memoryBytes: 128e9 },
      () => 'unused',
    );
    expect(running).toEqual({ name: 'b', reachable: true, error: null, arch: 'arm64', dockerVersion: '24.0.7', cpus: 20, memoryBytes: 128e9, nvidiaRuntime: true, gpus: [] });
    const down = factsFromPlatform('b', { status: 'timeout', endpoint: 'x', error: 'no answer', fix: 'f' }, (p) => `down: ${p.error}`);
    expect(down).toMatchObject({ reachable: false, error: 'down: no answer', dockerVersion: null, nvidiaRuntime: false });
  });

  it('runs nvidia-smi in an image already on the node: CUDA or engine images first, then Debian/Ubuntu, never a bare one', () => {
    expect(pickGpuProbeImage(['busybox:1', 'debian:12', 'vllm/vllm-openai:v0.8'])).toBe('vllm/vllm-openai:v0.8');
    expect(pickGpuProbeImage(['<none>:<none>', 'ubuntu:24.04', 'aima-test/httpd:1'])).toBe('ubuntu:24.04');
    expect(pickGpuProbeImage(['nvidia/cuda:12.4.1-base-ubuntu22.04'])).toBe('nvidia/cuda:12.4.1-base-ubuntu22.04');
    expect(pickGpuProbeImage(['busybox:1', 'aima-test/httpd:1'])).toBeNull();
  });
});

describe('placement on another machine\'s node', () => {
  const facts: NodeFacts = { name: 'b', reachable: true, error: null, arch: 'arm64', dockerVersion: '27', cpus: 20, memoryBytes: 128 * 1024 ** 3, nvidiaRuntime: true, gpus: [{ index: 0, name: 'NVIDIA GB10', memoryTotalMiB: 1000, memoryUsedMiB: 250 }] };

  it('takes the node\'s GPUs and memory', () => {
    expect(nodeMachine(facts)).toEqual({
      gpus: [{ index: 0, name: 'NVIDIA GB10', totalBytes: 1000 * 1024 ** 2, freeBytes: 750 * 1024 ** 2 }],
      memory: { totalBytes: 128 * 1024 ** 3, availableBytes: 128 * 1024 ** 3 },
    });
    expect(nodeMachine({ ...facts, memoryBytes: null, gpus: [] })).toEqual({ gpus: [], memory: null });
  });

  it('the planner places on the node\'s GPU, and refuses what does not fit there', () => {
    const m = nodeMachine(facts);
    const base = { gpus: m.gpus, ram: { ...m.memory!, capBytes: m.memory!.totalBytes }, services: [], now: 0, antiThrashMs: 0 };
    const fits = planPlacement({ ...base, candidate: { name: 'x', model: 'm', device: 'gpu', gpus: [], estimateBytes: 500 * 1024 ** 2 } });
    expect(fits).toMatchObject({ kind: 'place', gpus: [0] });
    const tooBig = planPlacement({ ...base, candidate: { name: 'x', model: 'm', device: 'gpu', gpus: [], estimateBytes: 900 * 1024 ** 2 } });
    expect(tooBig.kind).toBe('refuse');
  });
});

describe('serviceEndpointOn', () => {
  it('publishes on loopback locally, on the node\'s loopback over SSH (reached through a tunnel), and on the node\'s address over TCP (TLS)', () => {
    expect(serviceEndpointOn(LOCAL_NODE, 'local', null, '127.0.0.1')).toEqual({ publishHost: '127.0.0.1', upstreamHost: '127.0.0.1' });
    expect(serviceEndpointOn('s', 'ssh', 'gpu-box.lan', '127.0.0.1')).toEqual({ publishHost: '127.0.0.1', upstreamHost: '127.0.0.1' });
    expect(serviceEndpointOn('b', 'tcp-tls', '10.231.5.2', '127.0.0.1')).toEqual({ publishHost: '10.231.5.2', upstreamHost: '10.231.5.2' });
  });
});
