/**
 * SSH nodes through a real `aima serve`: a real sshd (test/support/sshd.ts, keys by ssh-keygen) in
 * front of the local dockerd is added with `aima node add --docker ssh://…`, listed reachable with
 * the engine's version, and removed; a host key that changed is refused before anything is saved,
 * naming known_hosts. The identity file's path goes to the secret store, not into SQLite.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { NodeSummary } from '../../src/shared/contract/index.js';
import { runAima, startServe, tempHome, type ServeHandle } from '../support/cli.js';
import { startSshd, sshdAvailable, type TestSshd } from '../support/sshd.js';
import { dockerAvailable, requirePart } from '../support/system.js';

const haveDocker = dockerAvailable();
const haveSshd = sshdAvailable();

describe('nodes over SSH', () => {
  let sshd: TestSshd | undefined;
  let serve: ServeHandle | undefined;
  const env = { AIMA_HOME: tempHome('aima-nodes-ssh-'), SSH_AUTH_SOCK: '' };
  beforeAll(async () => {
    if (!haveDocker || !haveSshd) return;
    sshd = await startSshd();
    serve = await startServe(env, [], 60_000);
  }, 60_000);
  afterAll(async () => {
    await serve?.stop();
    await sshd?.stop();
  });

  it('adds an SSH node (host key checked), lists it reachable, removes it; a changed host key is refused and nothing is saved', async (ctx) => {
    requirePart(ctx, 'docker', haveDocker);
    requirePart(ctx, 'sshd', haveSshd);
    const s = sshd!;
    const version = execFileSync('docker', ['version', '--format', '{{.Server.Version}}'], { encoding: 'utf8' }).trim();
    const add = (name: string) => runAima(['node', 'add', name, '--docker', s.url, '--identity-file', s.identityFile, '--known-hosts', s.knownHostsFile, '--json'], env);
    const res = await add('s');
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout) as NodeSummary).toMatchObject({ name: 's', docker: s.url, transport: 'ssh', reachable: true, dockerVersion: version });
    const list = await runAima(['node', 'list', '--json'], env);
    expect((JSON.parse(list.stdout) as NodeSummary[]).map((n) => [n.name, n.reachable])).toEqual([
      ['local', true],
      ['s', true],
    ]);
    for (const f of ['aima.db', 'aima.db-wal']) if (existsSync(path.join(env.AIMA_HOME, f))) expect(readFileSync(path.join(env.AIMA_HOME, f), 'latin1')).not.toContain(s.identityFile);

    await s.regenerateHostKey();
    const changed = await add('s2');
    expect(changed.code).not.toBe(0);
    expect(changed.stderr).toContain(s.knownHostsFile);
    expect(changed.stderr).toMatch(/host key/i);
    expect((JSON.parse((await runAima(['node', 'list', '--json'], env)).stdout) as NodeSummary[]).map((n) => n.name)).toEqual(['local', 's']);

    const rm = await runAima(['node', 'rm', 's'], env);
    expect(rm.code, rm.stderr).toBe(0);
    expect((JSON.parse((await runAima(['node', 'list', '--json'], env)).stdout) as NodeSummary[]).map((n) => n.name)).toEqual(['local']);
  }, 90_000);
});
