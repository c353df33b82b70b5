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
import { createSshLink, type SshLinkState } from '../../src/core/nodes/ssh/ssh-link.js';
import { createSshTunnels } from '../../src/core/nodes/ssh/tunnel.js';
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

/** A GET on a new connection each time (a pooled one may be the tunnel connection a loss just ended). */
const get = (port: number, p: string) =>
  new Promise<string>((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: p, agent: false }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
const logins = (s: TestSshd) => (s.log().match(/Accepted publickey/g) ?? []).length;

describe('SSH loopback tunnels', () => {
  it('forwards to the node loopback over one SSH connection, reconnects after a loss, and closes', async (ctx) => {
    requirePart(ctx, 'sshd', haveSshd);
    const s = sshd!;
    const states: SshLinkState[] = [];
    let onIdle: () => void = () => {};
    const link = createSshLink(
      { url: s.url, knownHostsFile: s.knownHostsFile, identityFile: s.identityFile, agent: null },
      {
        backoffMs: 50,
        onState: (st) => {
          states.push(st);
          if (st === 'idle') onIdle();
        },
      },
    );
    const tunnels = createSshTunnels(link);
    const before = logins(s);
    const fwd = await tunnels.forward(upstreamPort);
    expect(fwd.localPort).not.toBe(upstreamPort);
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => get(fwd.localPort, `/v1/models?i=${i}`)));
    expect(answers).toEqual(Array.from({ length: 8 }, (_, i) => `engine saw /v1/models?i=${i}`));
    expect(logins(s) - before).toBe(1);

    const idle = new Promise<void>((r) => (onIdle = r));
    s.dropConnections();
    await idle;
    expect(link.state()).toBe('idle');
    expect(link.lastError()?.message).toMatch(/lost/);
    expect(await get(fwd.localPort, '/health')).toBe('engine saw /health');
    expect(logins(s) - before).toBe(2);
    expect(states).toEqual(['connecting', 'ready', 'idle', 'connecting', 'ready']);

    await tunnels.close();
    await expect(get(fwd.localPort, '/health')).rejects.toThrow();
    await expect(tunnels.forward(upstreamPort)).rejects.toThrow(/closed/);
    link.close();
    expect(link.state()).toBe('closed');
    expect(states.at(-1)).toBe('closed');
  }, 60_000);

  it('refuses a tunnel to a host whose key is not known, opening no listener', async (ctx) => {
    requirePart(ctx, 'sshd', haveSshd);
    const s = sshd!;
    const empty = path.join(s.dir, 'known_hosts.none');
    writeFileSync(empty, '');
    const link = createSshLink({ url: s.url, knownHostsFile: empty, identityFile: s.identityFile, agent: null });
    const tunnels = createSshTunnels(link);
    const err = await tunnels.forward(upstreamPort).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SshNodeError);
    expect((err as SshNodeError).reason).toBe('host-key-unknown');
    expect(link.state()).toBe('idle');
    // Within the backoff the next use fails at once with the same reason, without connecting again.
    const connections = (s.log().match(/Connection from/g) ?? []).length;
    await expect(tunnels.forward(upstreamPort)).rejects.toBe(err);
    expect((s.log().match(/Connection from/g) ?? []).length).toBe(connections);
    await tunnels.close();
    link.close();
  }, 60_000);
});
