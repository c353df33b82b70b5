/**
 * A real OpenSSH server for tests: Debian's sshd in the foreground on a free loopback port, with a
 * host key and a client key made by ssh-keygen in a temporary folder, the client key authorized for
 * the current user, and a known_hosts file that holds the host key. `regenerateHostKey` gives the
 * server a new host key (a reinstalled node, or someone in the middle) for the refusal tests;
 * `pause` and `resume` make the node go silent and answer again on the same port.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { hasCommand } from './system.js';

export const SSHD = '/usr/sbin/sshd';

/** True when sshd and ssh-keygen are installed (Debian: openssh-server). */
export const sshdAvailable = (): boolean => hasCommand(SSHD) && hasCommand('ssh-keygen');

export interface TestSshd {
  host: string;
  port: number;
  user: string;
  url: string;
  dir: string;
  /** The client's private key, authorized on this server. */
  identityFile: string;
  /** Holds this server's host key as `[127.0.0.1]:port`. */
  knownHostsFile: string;
  /** The host key line as known_hosts stores it. */
  knownHostsLine: string;
  /** Everything sshd wrote to stderr (it logs there with -e). */
  log(): string;
  /** Ends every open SSH session (the per-connection sshd processes), as a network loss would. */
  dropConnections(): void;
  /** Replaces the host key and restarts sshd on the same port; known_hosts keeps the old key. */
  regenerateHostKey(): Promise<void>;
  /** Goes silent as a lost machine does: every session ends and nothing listens on the port until resume(). */
  pause(): Promise<void>;
  /** Listens again on the same port, with the same keys. */
  resume(): Promise<void>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.once('error', reject);
  });
}

const keygen = (file: string) => execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'aima-test', '-f', file], { stdio: 'pipe' });

export interface SshdOptions {
  /** PATH of the sessions (default: sshd's own); a PATH without docker shows the missing-CLI refusal. */
  sessionPath?: string;
}

/** Starts sshd; resolves once it listens. */
export async function startSshd(opts: SshdOptions = {}): Promise<TestSshd> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'aima-sshd-'));
  const host = '127.0.0.1';
  const port = await freePort();
  const user = os.userInfo().username;
  const hostKey = path.join(dir, 'host_ed25519');
  const identityFile = path.join(dir, 'client_ed25519');
  keygen(hostKey);
  keygen(identityFile);
  writeFileSync(path.join(dir, 'authorized_keys'), readFileSync(`${identityFile}.pub`), { mode: 0o600 });
  const config = path.join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      `ListenAddress ${host}`,
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
      'PidFile none',
      'StrictModes no',
      'UsePAM no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'AllowTcpForwarding yes',
      'LogLevel VERBOSE',
      ...(opts.sessionPath ? [`SetEnv PATH=${opts.sessionPath}`] : []),
    ].join('\n') + '\n',
  );
  // Privilege separation needs this directory when sshd runs as root.
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const knownHostsFile = path.join(dir, 'known_hosts');
  const knownHostsLine = `[${host}]:${port} ${readFileSync(`${hostKey}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ')}`;
  writeFileSync(knownHostsFile, `${knownHostsLine}\n`);

  let log = '';
  let child: ChildProcess | null = null;
  const launch = () =>
    new Promise<void>((resolve, reject) => {
      const c = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
      child = c;
      const timer = setTimeout(() => reject(new Error(`sshd did not start listening within 15 s: ${log}`)), 15_000);
      c.stderr!.on('data', (d: Buffer) => {
        log += d.toString();
        if (log.includes('Server listening')) {
          clearTimeout(timer);
          resolve();
        }
      });
      c.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`sshd exited with ${code}: ${log}`));
      });
    });
  const halt = async () => {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    await exited;
  };
  await launch();
  return {
    host,
    port,
    user,
    url: `ssh://${user}@${host}:${port}`,
    dir,
    identityFile,
    knownHostsFile,
    knownHostsLine,
    log: () => log,
    dropConnections() {
      const pid = (child as ChildProcess | null)?.pid;
      if (pid) spawnSync('pkill', ['-KILL', '-P', String(pid)]);
    },
    async regenerateHostKey() {
      await halt();
      rmSync(hostKey);
      rmSync(`${hostKey}.pub`);
      keygen(hostKey);
      log = '';
      await launch();
    },
    async pause() {
      const pid = (child as ChildProcess | null)?.pid;
      if (pid) spawnSync('pkill', ['-KILL', '-P', String(pid)]);
      await halt();
    },
    async resume() {
      await launch();
    },
    async stop() {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
