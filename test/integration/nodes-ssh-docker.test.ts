/**
 * Docker over SSH with AIMA's own host-key check, against a real sshd (started by the test with
 * keys made by ssh-keygen) in front of the real local dockerd: `version`/`info` work through it;
 * an unknown host, a changed host key, a key the node does not accept and a closed port are each
 * refused with a clear error, and on a host-key refusal no authentication happens at all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import Docker from 'dockerode';
import { checkSshDocker, sshDockerOptions } from '../../src/core/nodes/ssh/docker-ssh.js';
import { SshNodeError, type SshNodeTarget } from '../../src/core/nodes/ssh/ssh-target.js';
import { SshNodes } from '../../src/core/nodes/ssh/ssh-nodes.js';
import { startSshd, sshdAvailable, type TestSshd } from '../support/sshd.js';
import { dockerAvailable, requirePart } from '../support/system.js';

const haveDocker = dockerAvailable();
const haveSshd = sshdAvailable();
let sshd: TestSshd | null = null;

beforeAll(async () => {
  if (haveDocker && haveSshd) sshd = await startSshd();
}, 30_000);
afterAll(async () => {
  await sshd?.stop();
});

function need(ctx: { skip: (note?: string) => void }): TestSshd {
  requirePart(ctx, 'docker', haveDocker);
  requirePart(ctx, 'sshd', haveSshd);
  return sshd!;
}
const targetOf = (s: TestSshd, over: Partial<SshNodeTarget> = {}): SshNodeTarget => ({ url: s.url, knownHostsFile: s.knownHostsFile, identityFile: s.identityFile, agent: null, ...over });

async function refusal(p: Promise<unknown>): Promise<SshNodeError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SshNodeError);
  return err as SshNodeError;
}

/** Calls the engine through dockerode, passing what it threw through the target's explain. */
async function dockerVersion(target: SshNodeTarget): Promise<Docker.DockerVersion> {
  const ssh = sshDockerOptions(target);
  try {
    return await new Docker(ssh.options).version();
  } catch (err) {
    throw ssh.explain(err);
  } finally {
    ssh.close();
  }
}

const localVersion = () => execFileSync('docker', ['version', '--format', '{{.Server.Version}}'], { encoding: 'utf8' }).trim();
const logins = (s: TestSshd) => (s.log().match(/Accepted publickey/g) ?? []).length;
const authAttempts = (s: TestSshd) => s.log().match(/Accepted publickey|Failed publickey|Connection closed by authenticating user/g) ?? [];

describe('Docker over SSH', () => {
  it('reaches the node engine over one kept SSH connection: version, info, a stream, and the first check', async (ctx) => {
    const s = need(ctx);
    const before = logins(s);
    const ssh = sshDockerOptions(targetOf(s));
    try {
      const docker = new Docker(ssh.options);
      expect((await docker.version()).Version).toBe(localVersion());
      const info = await docker.info();
      expect(info.NCPU).toBeGreaterThan(0);
      expect(info.MemTotal).toBeGreaterThan(0);
      // Concurrent calls and a long-lived event stream share the one connection.
      const events = (await docker.getEvents({ filters: { type: ['network'] } })) as NodeJS.ReadableStream & { destroy(): void };
      const pings = await Promise.all(Array.from({ length: 8 }, () => docker.ping()));
      expect(pings.map(String)).toEqual(Array(8).fill('OK'));
      events.destroy();
      expect(ssh.link.state()).toBe('ready');
      expect(logins(s) - before).toBe(1);
    } finally {
      ssh.close();
    }
    expect(ssh.link.state()).toBe('closed');
    expect(await checkSshDocker(targetOf(s))).toEqual({ serverVersion: localVersion() });
  }, 60_000);

  it('SshNodes shares one link per node among its Docker clients, and closes it with the node', async (ctx) => {
    const s = need(ctx);
    const nodes = new SshNodes();
    const before = logins(s);
    const a = nodes.get(targetOf(s));
    expect(nodes.get(targetOf(s))).toBe(a);
    await Promise.all([new Docker(a.options).ping(), new Docker(nodes.get(targetOf(s)).options).ping()]);
    expect(logins(s) - before).toBe(1);
    nodes.close(s.url);
    expect(a.link.state()).toBe('closed');
    expect(nodes.get(targetOf(s))).not.toBe(a);
    nodes.closeAll();
  }, 60_000);

  it('after the SSH connection is lost, the next Docker call connects again', async (ctx) => {
    const s = need(ctx);
    let onIdle: () => void = () => {};
    const ssh = sshDockerOptions(targetOf(s), { onState: (st) => st === 'idle' && onIdle() });
    try {
      const docker = new Docker(ssh.options);
      expect(String(await docker.ping())).toBe('OK');
      const before = logins(s);
      const idle = new Promise<void>((r) => (onIdle = r));
      s.dropConnections();
      await idle;
      expect(ssh.link.lastError()?.message).toMatch(/was lost/);
      expect((await docker.version()).Version).toBe(localVersion());
      expect(logins(s) - before).toBe(1);
    } finally {
      ssh.close();
    }
  }, 60_000);

  it('refuses an unknown host before authenticating, telling how to add its key', async (ctx) => {
    const s = need(ctx);
    const empty = path.join(s.dir, 'known_hosts.empty');
    writeFileSync(empty, `# no keys\n[127.0.0.1]:1 ${s.knownHostsLine.split(' ').slice(1).join(' ')}\n`);
    const before = authAttempts(s).length;
    for (const call of [checkSshDocker, dockerVersion]) {
      const err = await refusal(call(targetOf(s, { knownHostsFile: empty })));
      expect(err.reason).toBe('host-key-unknown');
      expect(err.code).toBe('forbidden');
      expect(err.message).toContain(`[127.0.0.1]:${s.port} is not in ${empty}`);
      expect(err.fix).toContain(`ssh-keyscan -p ${s.port} 127.0.0.1 >> ${empty}`);
    }
    expect(authAttempts(s).length).toBe(before);
  }, 60_000);

  it('refuses a key the node does not accept, naming the credentials offered', async (ctx) => {
    const s = need(ctx);
    const other = path.join(s.dir, 'other_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
    const err = await refusal(dockerVersion(targetOf(s, { identityFile: other })));
    expect(err.reason).toBe('auth');
    expect(err.message).toContain(`the key ${other}`);
    expect(err.fix).toContain('authorized_keys');
  }, 60_000);

  it('refuses a port nothing listens on as unreachable', async (ctx) => {
    const s = need(ctx);
    const err = await refusal(checkSshDocker(targetOf(s, { url: `ssh://${s.user}@127.0.0.1:1` })));
    expect(err.reason).toBe('unreachable');
    expect(err.code).toBe('unavailable');
  }, 60_000);

  it('refuses bad addresses and key files before connecting', (ctx) => {
    const s = need(ctx);
    expect(() => sshDockerOptions(targetOf(s, { url: 'tcp://host:2376' }))).toThrow(/not an SSH node address: the scheme is tcp/);
    expect(() => sshDockerOptions(targetOf(s, { url: 'ssh://u:pw@host' }))).toThrow(/passwords in the address/);
    expect(() => sshDockerOptions(targetOf(s, { identityFile: path.join(s.dir, 'missing') }))).toThrow(/Cannot read the SSH key/);
    const locked = path.join(s.dir, 'locked_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'secret', '-f', locked]);
    expect(() => sshDockerOptions(targetOf(s, { identityFile: locked }))).toThrow(/protected by a passphrase/);
  });

  it('a node whose SSH sessions have no docker CLI is refused with that reason, on the first check and on Docker calls', async (ctx) => {
    need(ctx);
    const bare = await startSshd({ sessionPath: '/nonexistent' });
    try {
      for (const call of [checkSshDocker, dockerVersion]) {
        const err = await refusal(call(targetOf(bare)));
        expect(err.reason).toBe('docker-missing');
        expect(err.message).toContain(`The docker CLI is not on PATH for ${bare.user}@127.0.0.1:${bare.port}`);
        expect(err.fix).toContain('PATH of non-interactive SSH sessions');
      }
    } finally {
      await bare.stop();
    }
  }, 60_000);

  // Last: it gives the server a new host key.
  it('refuses a changed host key with the file, the line and the fix, and never authenticates', async (ctx) => {
    const s = need(ctx);
    await s.regenerateHostKey();
    for (const call of [checkSshDocker, dockerVersion]) {
      const err = await refusal(call(targetOf(s)));
      expect(err.reason).toBe('host-key-changed');
      expect(err.message).toContain(`The SSH host key of [127.0.0.1]:${s.port} changed`);
      expect(err.message).toContain(`${s.knownHostsFile} line 1 holds a different ssh-ed25519 key`);
      expect(err.fix).toContain(`ssh-keygen -R '[127.0.0.1]:${s.port}' -f ${s.knownHostsFile}`);
    }
    expect(authAttempts(s)).toEqual([]);
  }, 60_000);
});
