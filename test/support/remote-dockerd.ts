/**
 * A second real Docker engine standing in for another machine: `dockerd` in a named network
 * namespace of its own, joined to the host by a veth pair (host side HOST_ADDR, namespace side
 * NODE_ADDR, a /30 of 10.231.x.0), listening on NODE_ADDR:2376 with TLS certificates made here by
 * openssl (a CA, the engine's certificate for NODE_ADDR, a client certificate), with live-restore
 * on. It has its own data and exec roots and its own docker0 inside the namespace, so the shared
 * daemon's network is never touched. The test talks to it as AIMA would (TCP + TLS) and, for
 * setup, through its unix socket. `linkDown`/`linkUp` make a silent partition; `restart` restarts
 * the daemon (containers survive by live-restore). Other harnesses (an sshd in the namespace)
 * run their processes with `inNamespace`.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hasCommand } from './system.js';

/** True when this machine can run the harness: root, iproute2, nsenter, dockerd, openssl. */
export function remoteDockerdAvailable(): boolean {
  return process.getuid?.() === 0 && ['ip', 'nsenter', 'dockerd', 'docker', 'openssl'].every(hasCommand);
}

export interface TlsFiles {
  /** Folder with ca.pem, cert.pem, key.pem (what `aima node add --tls-dir` takes). */
  clientDir: string;
  serverCa: string;
  serverCert: string;
  serverKey: string;
}

const sh = (cmd: string, args: string[], input?: string | Buffer) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], input, timeout: 120_000 });

/** A CA, a server certificate for `serverAddr` and a client certificate, made by openssl under `dir`. */
export function makeTlsFiles(dir: string, serverAddr: string): TlsFiles {
  mkdirSync(dir, { recursive: true });
  const f = (n: string) => path.join(dir, n);
  const clientDir = f('client');
  mkdirSync(clientDir, { recursive: true });
  sh('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca-key.pem'), '-out', f('ca.pem'), '-days', '2', '-subj', '/CN=aima-test-ca']);
  sh('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('server-key.pem'), '-out', f('server.csr'), '-subj', `/CN=${serverAddr}`]);
  writeFileSync(f('server.ext'), `subjectAltName=IP:${serverAddr}\nextendedKeyUsage=serverAuth\n`);
  sh('openssl', ['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca-key.pem'), '-CAcreateserial', '-out', f('server-cert.pem'), '-days', '2', '-extfile', f('server.ext')]);
  sh('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(clientDir, 'key.pem'), '-out', f('client.csr'), '-subj', '/CN=aima-client']);
  writeFileSync(f('client.ext'), 'extendedKeyUsage=clientAuth\n');
  sh('openssl', ['x509', '-req', '-in', f('client.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca-key.pem'), '-CAcreateserial', '-out', path.join(clientDir, 'cert.pem'), '-days', '2', '-extfile', f('client.ext')]);
  writeFileSync(path.join(clientDir, 'ca.pem'), readFileSync(f('ca.pem')));
  return { clientDir, serverCa: f('ca.pem'), serverCert: f('server-cert.pem'), serverKey: f('server-key.pem') };
}

export interface RemoteDockerd {
  /** The network namespace's name. */
  netns: string;
  hostAddr: string;
  nodeAddr: string;
  /** `tcp://NODE_ADDR:2376`. */
  url: string;
  tls: TlsFiles;
  /** The daemon's unix socket (setup from the host side). */
  socket: string;
  /** Runs the docker CLI against this daemon (through its socket). */
  docker(args: string[], input?: string | Buffer): string;
  /** Copies an image of the shared daemon into this one (`docker save`, then `docker load`). */
  loadImage(image: string): void;
  /** A command line prefix that runs a program inside the namespace. */
  inNamespace(cmd: string, args: string[]): [string, string[]];
  /** The host side of the veth down (a silent partition) or up again. */
  linkDown(): void;
  linkUp(): void;
  /** SIGTERM the daemon and start it again (containers survive: live-restore). */
  restart(): Promise<void>;
  /** Removes its containers, stops it, deletes the namespace, the veth and its files. */
  stop(): Promise<void>;
  log(): string;
}

/**
 * Starts the second engine; rejects with its log when it does not come up within a minute.
 * `runtimes`: daemon.json's OCI runtimes (e.g. an `nvidia` entry standing in for the NVIDIA
 * Container Runtime).
 */
export async function startRemoteDockerd(opts: { runtimes?: Record<string, { path: string }> } = {}): Promise<RemoteDockerd> {
  const id = randomBytes(3).toString('hex');
  const subnet = 1 + (randomBytes(1)[0]! % 250);
  const netns = `aima-node-${id}`;
  const hostIf = `aimah${id}`;
  const nodeIf = `aiman${id}`;
  const hostAddr = `10.231.${subnet}.1`;
  const nodeAddr = `10.231.${subnet}.2`;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'aima-node-'));
  const socket = path.join(dir, 'docker.sock');
  const tls = makeTlsFiles(path.join(dir, 'tls'), nodeAddr);
  writeFileSync(path.join(dir, 'daemon.json'), JSON.stringify({ 'live-restore': true, ...(opts.runtimes ? { runtimes: opts.runtimes } : {}) }));

  sh('ip', ['netns', 'add', netns]);
  sh('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nodeIf]);
  sh('ip', ['link', 'set', nodeIf, 'netns', netns]);
  sh('ip', ['addr', 'add', `${hostAddr}/30`, 'dev', hostIf]);
  sh('ip', ['link', 'set', hostIf, 'up']);
  const inNs = (args: string[]) => sh('nsenter', [`--net=/var/run/netns/${netns}`, ...args]);
  inNs(['ip', 'addr', 'add', `${nodeAddr}/30`, 'dev', nodeIf]);
  inNs(['ip', 'link', 'set', nodeIf, 'up']);
  inNs(['ip', 'link', 'set', 'lo', 'up']);

  let daemon: ChildProcess | null = null;
  let log = '';
  // nsenter, not `ip netns exec`: the latter remounts /sys, and dockerd then finds no cgroups.
  const args = [
    `--net=/var/run/netns/${netns}`,
    'dockerd',
    '--config-file', path.join(dir, 'daemon.json'),
    '--data-root', path.join(dir, 'data'),
    '--exec-root', path.join(dir, 'exec'),
    '--pidfile', path.join(dir, 'dockerd.pid'),
    '-H', `unix://${socket}`,
    '-H', `tcp://${nodeAddr}:2376`,
    '--tlsverify', '--tlscacert', tls.serverCa, '--tlscert', tls.serverCert, '--tlskey', tls.serverKey,
    '--iptables=false', '--ip6tables=false',
  ];
  const cli = (a: string[], input?: string | Buffer) => sh('docker', ['-H', `unix://${socket}`, ...a], input);
  const launch = async () => {
    daemon = spawn('nsenter', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    daemon.stderr!.on('data', (d) => (log = (log + d).slice(-20_000)));
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        cli(['version', '--format', '{{.Server.Version}}']);
        return;
      } catch {
        if (daemon.exitCode !== null || Date.now() > deadline) throw new Error(`the node's dockerd did not come up:\n${log.slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  };
  const stopDaemon = async () => {
    const d = daemon as ChildProcess | null;
    if (!d || d.exitCode !== null) return;
    const exited = new Promise((r) => d.once('exit', r));
    d.kill('SIGTERM');
    await exited;
  };

  const cleanup = async () => {
    try {
      const ids = cli(['ps', '-aq']).split('\n').filter(Boolean);
      if (ids.length) cli(['rm', '-f', ...ids]);
    } catch {}
    await stopDaemon();
    // Processes the daemon left in the namespace (containerd, shims) were started by this harness.
    try {
      for (const pid of sh('ip', ['netns', 'pids', netns]).split('\n').filter(Boolean)) process.kill(Number(pid), 'SIGKILL');
    } catch {}
    try {
      sh('ip', ['link', 'del', hostIf]);
    } catch {}
    try {
      sh('ip', ['netns', 'del', netns]);
    } catch {}
    try {
      sh('sh', ['-c', `grep -o " ${dir}[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l`]);
    } catch {}
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await launch();
  } catch (err) {
    await cleanup();
    throw err;
  }
  return {
    netns,
    hostAddr,
    nodeAddr,
    url: `tcp://${nodeAddr}:2376`,
    tls,
    socket,
    docker: cli,
    loadImage(image) {
      const tar = path.join(dir, 'image.tar');
      sh('docker', ['save', '-o', tar, image]);
      cli(['load', '-i', tar]);
      rmSync(tar, { force: true });
    },
    inNamespace: (cmd, a) => ['nsenter', [`--net=/var/run/netns/${netns}`, cmd, ...a]],
    linkDown: () => void sh('ip', ['link', 'set', hostIf, 'down']),
    linkUp: () => void sh('ip', ['link', 'set', hostIf, 'up']),
    async restart() {
      await stopDaemon();
      await launch();
    },
    stop: cleanup,
    log: () => log,
  };
}
