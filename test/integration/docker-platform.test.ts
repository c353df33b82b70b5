/**
 * The container platform check against the real Docker daemon running here, a second real daemon
 * this test starts with an nvidia runtime in its daemon.json, bogus endpoints (also through the
 * CLI's DOCKER_HOST), and GPU-runtime detection on constructed `docker info` objects.
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runAima, tempHome } from '../support/cli.js';
import { hasCommand } from '../support/system.js';
import {
  checkContainerPlatform,
  createDockerClient,
  dockerOptionsFromHost,
  gpuSupportFromInfo,
  type DockerInfoLike,
  type DockerLike,
} from '../../src/core/runtimes/docker/platform.js';
import { dockerAvailable, requirePart } from '../support/system.js';

const haveDocker = dockerAvailable();

describe('checkContainerPlatform against the real daemon', () => {
  it('finds it running, with version, API version and runtimes', async (ctx) => {
    requirePart(ctx, 'docker', haveDocker);
    const p = await checkContainerPlatform(createDockerClient(process.env.DOCKER_HOST));
    if (p.status !== 'running') throw new Error(`expected running, got ${p.status}: ${p.error}`);
    expect(p.version).toMatch(/^\d+\.\d+/);
    expect(p.apiVersion).toMatch(/^1\.\d+$/);
    expect(p.runtimes).toContain('runc');
    expect(p.defaultRuntime).toBe('runc');
    expect(Array.isArray(p.cdiSpecDirs)).toBe(true);
    // This machine has no NVIDIA Container Toolkit: the check explains what GPU containers need.
    expect(p.gpu.kind).toBe('none');
    if (p.gpu.kind === 'none') {
      expect(p.gpu.reason).toBe('nvidia-runtime-missing');
      expect(p.gpu.explanation).toMatch(/^GPU containers need the NVIDIA Container Toolkit/);
      expect(p.gpu.fix).toMatch(/nvidia-ctk runtime configure --runtime=docker/);
    }
  });

  it('a unix socket that does not exist → not-running, naming the socket, with the fix', async () => {
    const p = await checkContainerPlatform(createDockerClient('unix:///tmp/nonexistent.sock'));
    expect(p.status).toBe('not-running');
    if (p.status === 'running') return;
    expect(p.endpoint).toBe('unix:///tmp/nonexistent.sock');
    expect(p.error).toMatch(/ENOENT/);
    expect(p.fix).toBe(
      'Docker is not running at unix:///tmp/nonexistent.sock — start it with `sudo systemctl start docker` (or `dockerd &`), or set DOCKER_HOST.',
    );
  });

  it('a daemon.json "runtimes" entry named nvidia is detected on a real daemon', async (ctx) => {
    // The shared daemon cannot be reconfigured, so a second dockerd runs beside it: its own
    // socket, data and exec roots, and a daemon.json written the way
    // `nvidia-ctk runtime configure --runtime=docker` writes it. It runs in a network namespace of
    // its own (unshare --net): a second daemon in the host's namespace deletes the first one's
    // docker0 bridge, and every container of the shared daemon then fails to start.
    const root = process.getuid?.() === 0;
    requirePart(ctx, 'docker', haveDocker && hasCommand('dockerd') && hasCommand('unshare') && root);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'aima-dockerd-'));
    const sock = path.join(dir, 'docker.sock');
    writeFileSync(path.join(dir, 'daemon.json'), JSON.stringify({ runtimes: { nvidia: { args: [], path: 'nvidia-container-runtime' } } }));
    const daemon = spawn(
      'unshare',
      ['--net', '--', 'dockerd', '--config-file', path.join(dir, 'daemon.json'), '--data-root', path.join(dir, 'data'), '--exec-root', path.join(dir, 'exec'), '--pidfile', path.join(dir, 'pid'), '-H', `unix://${sock}`, '--bridge', 'none', '--iptables=false', '--ip6tables=false'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let log = '';
    daemon.stderr.on('data', (d) => (log += d));
    const exited = new Promise((r) => daemon.once('exit', r));
    const hostLinks = readFileSync('/proc/net/dev', 'utf8');
    try {
      const client = createDockerClient(`unix://${sock}`);
      const deadline = Date.now() + 60_000;
      let p = await checkContainerPlatform(client);
      while (p.status !== 'running' && Date.now() < deadline && daemon.exitCode === null) {
        await new Promise((r) => setTimeout(r, 250));
        p = await checkContainerPlatform(client);
      }
      if (p.status !== 'running') throw new Error(`the second dockerd did not come up (${p.status}):\n${log.slice(-2000)}`);
      expect(p.runtimes).toContain('nvidia');
      expect(p.gpu).toEqual({ kind: 'nvidia-runtime', isDefault: false });
    } finally {
      daemon.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    }
    // The shared daemon's network is untouched (docker0 and every other interface still there).
    const names = (t: string) => t.split('\n').slice(2).map((l) => l.split(':')[0]!.trim()).filter(Boolean).sort();
    expect(names(readFileSync('/proc/net/dev', 'utf8'))).toEqual(names(hostLinks));
  }, 90_000);

  it('a bogus DOCKER_HOST in the environment: `aima gpu --json` says not running, with the fix', async () => {
    const home = tempHome();
    const env = { AIMA_HOME: home, DOCKER_HOST: 'unix:///tmp/aima-no-docker.sock' };
    try {
      const r = await runAima(['gpu', '--json'], env);
      expect(r.code).toBe(0);
      const cp = JSON.parse(r.stdout).containerPlatform;
      expect(cp).toMatchObject({ status: 'not-running', endpoint: 'unix:///tmp/aima-no-docker.sock' });
      expect(cp.fix).toBe('Docker is not running at unix:///tmp/aima-no-docker.sock — start it with `sudo systemctl start docker` (or `dockerd &`), or set DOCKER_HOST.');
    } finally {
      await runAima(['stop'], env);
    }
  });

  it('a TCP port nobody listens on → not-running, naming the host', async () => {
    const p = await checkContainerPlatform(createDockerClient('tcp://127.0.0.1:1'));
    expect(p.status).toBe('not-running');
    if (p.status === 'running') return;
    expect(p.endpoint).toBe('tcp://127.0.0.1:1');
    expect(p.error).toMatch(/ECONNREFUSED/);
    expect(p.fix).toMatch(/^Docker is not running at tcp:\/\/127\.0\.0\.1:1 — start it with `sudo systemctl start docker`/);
  });

  it('permission denied on the socket → its own reason and the docker-group fix', async () => {
    const denied: DockerLike = {
      version: () => Promise.reject(Object.assign(new Error('connect EACCES /var/run/docker.sock'), { code: 'EACCES' })),
      info: () => Promise.reject(Object.assign(new Error('connect EACCES /var/run/docker.sock'), { code: 'EACCES' })),
      modem: { socketPath: '/var/run/docker.sock' },
    };
    const p = await checkContainerPlatform(denied);
    expect(p.status).toBe('permission-denied');
    if (p.status === 'running') return;
    expect(p.fix).toMatch(/usermod -aG docker \$USER/);
  });

  it('a daemon that never answers → timeout', async () => {
    const hung: DockerLike = { version: () => new Promise(() => {}), info: () => new Promise(() => {}) };
    const p = await checkContainerPlatform(hung, { timeoutMs: 200 });
    expect(p.status).toBe('timeout');
  });
});

describe('GPU runtime detection from docker info', () => {
  // Shape of `docker info` after `nvidia-ctk runtime configure --runtime=docker`, which writes
  // daemon.json { "runtimes": { "nvidia": { "args": [], "path": "nvidia-container-runtime" } } }.
  const withNvidia: DockerInfoLike = {
    ServerVersion: '20.10.24+dfsg1',
    Runtimes: {
      'io.containerd.runc.v2': { path: 'runc' },
      nvidia: { path: 'nvidia-container-runtime' },
      runc: { path: 'runc' },
    },
    DefaultRuntime: 'runc',
  };

  it('an nvidia runtime entry is detected, default or not', () => {
    expect(gpuSupportFromInfo(withNvidia)).toEqual({ kind: 'nvidia-runtime', isDefault: false });
    expect(gpuSupportFromInfo({ ...withNvidia, DefaultRuntime: 'nvidia' })).toEqual({ kind: 'nvidia-runtime', isDefault: true });
  });

  it('CDI devices (newer daemons) count as GPU support too', () => {
    const info: DockerInfoLike = {
      Runtimes: { runc: { path: 'runc' } },
      CDISpecDirs: ['/etc/cdi', '/var/run/cdi'],
      DiscoveredDevices: [
        { Source: 'cdi', ID: 'nvidia.com/gpu=0' },
        { Source: 'cdi', ID: 'nvidia.com/gpu=all' },
      ],
    };
    expect(gpuSupportFromInfo(info)).toEqual({ kind: 'cdi', devices: ['nvidia.com/gpu=0', 'nvidia.com/gpu=all'] });
  });

  it('without either, explains the NVIDIA Container Toolkit', () => {
    const s = gpuSupportFromInfo({ Runtimes: { runc: { path: 'runc' } }, DefaultRuntime: 'runc', CDISpecDirs: null });
    expect(s).toMatchObject({ kind: 'none', reason: 'nvidia-runtime-missing' });
  });

  it('the real daemon info goes through the same function (absent case here)', async (ctx) => {
    requirePart(ctx, 'docker', haveDocker);
    const info = (await createDockerClient(process.env.DOCKER_HOST).info()) as DockerInfoLike;
    expect(Object.keys(info.Runtimes ?? {})).not.toContain('nvidia');
    expect(gpuSupportFromInfo(info).kind).toBe('none');
  });
});

describe('dockerOptionsFromHost', () => {
  it('maps DOCKER_HOST forms to dockerode options', () => {
    expect(dockerOptionsFromHost(undefined)).toEqual({});
    expect(dockerOptionsFromHost('unix:///var/run/docker.sock')).toEqual({ socketPath: '/var/run/docker.sock' });
    expect(dockerOptionsFromHost('tcp://10.0.0.5:2375')).toEqual({ host: '10.0.0.5', port: '2375', protocol: 'http' });
    expect(dockerOptionsFromHost('tcp://10.0.0.5:2376')).toEqual({ host: '10.0.0.5', port: '2376', protocol: 'https' });
    expect(dockerOptionsFromHost('10.0.0.5:1234')).toEqual({ host: '10.0.0.5', port: '1234', protocol: 'http' });
  });
});
