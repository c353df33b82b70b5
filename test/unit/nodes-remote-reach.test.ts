/**
 * How a service on a node is reached, decided from the built-in catalog's data: directly on the
 * local node, through an SSH tunnel on SSH nodes, with TLS and a per-service key on TCP nodes for
 * engines that have the flags, and refused otherwise (native engines anywhere remote, TLS-less
 * Docker engines on TCP nodes).
 */
import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { loadCatalog } from '../../src/core/engines/catalog.js';
import type { DockerEngineEntry } from '../../src/core/engines/catalog-schema.js';
import { remoteReach, tlsEngineArgs, type NodeTransport } from '../../src/core/nodes/reach/remote-reach.js';
import { repoRoot } from '../support/system.js';

const catalog = loadCatalog({ builtin: path.join(repoRoot, 'resources', 'engines'), user: '/nonexistent' });
const engine = (id: string) => catalog.items.get(id)!.entry;

describe('remoteReach', () => {
  const cases: Array<[string, NodeTransport, string]> = [
    ['vllm', 'local', 'direct'],
    ['aima-llm', 'local', 'direct'],
    ['vllm', 'ssh', 'ssh-tunnel'],
    ['kokoro', 'ssh', 'ssh-tunnel'],
    ['custom-image', 'ssh', 'ssh-tunnel'],
    ['vllm', 'tcp-tls', 'tls'],
    ['sglang', 'tcp-tls', 'tls'],
    ['llama-cpp', 'tcp-tls', 'tls'],
    ['kokoro', 'tcp-tls', 'refused'],
    ['speaches', 'tcp-tls', 'refused'],
    ['custom-image', 'tcp-tls', 'refused'],
    ['aima-llm', 'ssh', 'refused'],
    ['llama-server', 'tcp-tls', 'refused'],
  ];
  it.each(cases)('%s on a %s node: %s', (id, transport, kind) => {
    expect(remoteReach(engine(id), transport, 'gpu-box').kind).toBe(kind);
  });

  it('an SSH node publishes on its own loopback', () => {
    expect(remoteReach(engine('sglang'), 'ssh', 'gpu-box')).toEqual({ kind: 'ssh-tunnel', publishHost: '127.0.0.1' });
  });

  it('refusals name the engine, the node and the way out', () => {
    const tcp = remoteReach(engine('kokoro'), 'tcp-tls', 'gpu-box');
    if (tcp.kind !== 'refused') throw new Error('expected a refusal');
    expect(tcp.error.message).toContain('on node "gpu-box" (reached over TCP) its port would be open to the network in clear');
    expect(tcp.error.fix).toContain('aima node add NAME --docker ssh://user@host');
    const native = remoteReach(engine('aima-llm'), 'ssh', 'gpu-box');
    if (native.kind !== 'refused') throw new Error('expected a refusal');
    expect(native.error.message).toContain('runs as a process on this machine');
  });
});

describe('tlsEngineArgs', () => {
  const args = (id: string) => {
    const r = remoteReach(engine(id), 'tcp-tls', 'n');
    if (r.kind !== 'tls') throw new Error(`${id} has no TLS flags`);
    return tlsEngineArgs(r.access, 'KEY');
  };
  it.each([
    ['vllm', ['--ssl-keyfile', '/run/aima-tls/key.pem', '--ssl-certfile', '/run/aima-tls/cert.pem', '--api-key', 'KEY']],
    ['sglang', ['--ssl-keyfile', '/run/aima-tls/key.pem', '--ssl-certfile', '/run/aima-tls/cert.pem', '--api-key', 'KEY']],
    ['llama-cpp', ['--ssl-key-file', '/run/aima-tls/key.pem', '--ssl-cert-file', '/run/aima-tls/cert.pem', '--api-key', 'KEY']],
  ])('%s', (id, expected) => {
    expect(args(id)).toEqual(expected);
  });

  it('records what each key leaves open as catalog data', () => {
    const access = (id: string) => (engine(id) as DockerEngineEntry).remoteAccess!;
    expect([access('vllm').keyGuards, access('vllm').openPaths]).toEqual(['/v1', []]);
    expect([access('sglang').keyGuards, access('sglang').openPaths]).toEqual(['/', ['/health', '/metrics']]);
    expect(access('llama-cpp').openPaths).toContain('/health');
  });
});
