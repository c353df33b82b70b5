/**
 * Loopback tunnels over SSH against a real sshd: a small HTTP server listening only on loopback
 * (an engine on the node's 127.0.0.1) is reached through a local listener; every connection rides
 * one SSH connection; a lost connection is made again on the next request; close ends it all; an
 * unknown host key refuses the tunnel before any listener opens.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import net from 'node:net';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { createSshTunnels, type SshLinkState } from '../../src/core/nodes/ssh/tunnel.js';
import { SshNodeError } from '../../src/core/nodes/ssh/ssh-target.js';
import { startSshd, sshdAvailable, type TestSshd } from '../support/sshd.js';
import { requirePart } from '../support/system.js';

const haveSshd = sshdAvailable();
let sshd: TestSshd | null = null;
let upstream: http.Server;
let upstreamPort = 0;

beforeAll(async () => {
  upstream = http.createServer((req, res) => res.end(`engine saw ${req.url}`));
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  upstreamPort = (upstream.address() as net.AddressInfo).port;
  if (haveSshd) sshd = await startSshd();
}, 30_000);
afterAll(async () => {
  await sshd?.stop();
  await new Promise((r) => upstream.close(r));
});

const get = async (port: number, p: string) => (await fetch(`http://127.0.0.1:${port}${p}`)).text();
const logins = (s: TestSshd) => (s.log().match(/Accepted publickey/g) ?? []).length;

describe('SSH loopback tunnels', () => {
  it('forwards to the node loopback over one SSH connection, reconnects after a loss, and closes', async (ctx) => {
    requirePart(ctx, 'sshd', haveSshd);
    const s = sshd!;
    const states: SshLinkState[] = [];
    let onIdle: () => void = () => {};
    const tunnels = createSshTunnels(
      { url: s.url, knownHostsFile: s.knownHostsFile, identityFile: s.identityFile, agent: null },
      {
        backoffMs: 50,
        onState: (st) => {
          states.push(st);
          if (st === 'idle') onIdle();
        },
      },
    );
    const before = logins(s);
    const fwd = await tunnels.forward(upstreamPort);
    expect(fwd.localPort).not.toBe(upstreamPort);
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => get(fwd.localPort, `/v1/models?i=${i}`)));
    expect(answers).toEqual(Array.from({ length: 8 }, (_, i) => `engine saw /v1/models?i=${i}`));
    expect(logins(s) - before).toBe(1);

    const idle = new Promise<void>((r) => (onIdle = r));
    s.dropConnections();
    await idle;
    expect(tunnels.state()).toBe('idle');
    expect(tunnels.lastError()?.message).toMatch(/lost/);
    await new Promise((r) => setTimeout(r, 100));
    expect(await get(fwd.localPort, '/health')).toBe('engine saw /health');
    expect(logins(s) - before).toBe(2);
    expect(states).toEqual(['connecting', 'ready', 'idle', 'connecting', 'ready']);

    await tunnels.close();
    expect(tunnels.state()).toBe('closed');
    await expect(fetch(`http://127.0.0.1:${fwd.localPort}/health`)).rejects.toThrow();
    await expect(tunnels.forward(upstreamPort)).rejects.toThrow(/closed/);
  }, 60_000);

  it('refuses a tunnel to a host whose key is not known, opening no listener', async (ctx) => {
    requirePart(ctx, 'sshd', haveSshd);
    const s = sshd!;
    const empty = path.join(s.dir, 'known_hosts.none');
    writeFileSync(empty, '');
    const tunnels = createSshTunnels({ url: s.url, knownHostsFile: empty, identityFile: s.identityFile, agent: null });
    const err = await tunnels.forward(upstreamPort).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SshNodeError);
    expect((err as SshNodeError).reason).toBe('host-key-unknown');
    expect(tunnels.state()).toBe('idle');
    await tunnels.close();
  }, 60_000);
});
