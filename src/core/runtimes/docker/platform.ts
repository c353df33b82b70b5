/**
 * Is Docker usable, and can it run GPU containers? Asks the daemon for its version and `info`, and
 * turns each way it can fail into a closed reason with a fix the user can act on.
 */
import { createRequire } from 'node:module';
import type Docker from 'dockerode';
import { joinHostPort, unbracketHost } from '../../../shared/host-port.js';

/** The two daemon calls used; dockerode's client satisfies it, tests may pass a stub. */
export interface DockerLike {
  version(): Promise<{ Version?: string; ApiVersion?: string; Os?: string; Arch?: string }>;
  info(): Promise<DockerInfoLike>;
  /** dockerode's modem (socketPath, host, port, protocol), read only to name the endpoint in messages. */
  modem?: object;
}

/** The fields of `GET /info` that matter here (Docker Engine API). */
export interface DockerInfoLike {
  ServerVersion?: string;
  Runtimes?: Record<string, { path?: string; runtimeArgs?: string[] } | undefined>;
  DefaultRuntime?: string;
  /** API ≥ 1.44: directories the daemon reads CDI specs from. */
  CDISpecDirs?: string[] | null;
  /** API ≥ 1.50: devices found by device drivers, e.g. `{ Source: 'cdi', ID: 'nvidia.com/gpu=0' }`. */
  DiscoveredDevices?: Array<{ Source?: string; ID?: string }> | null;
  NCPU?: number;
  MemTotal?: number;
}

/** How GPUs can reach containers, or why they cannot. */
export type GpuContainerSupport =
  | { kind: 'nvidia-runtime'; isDefault: boolean }
  | { kind: 'cdi'; devices: string[] }
  | { kind: 'none'; reason: 'nvidia-runtime-missing'; explanation: string; fix: string };

export interface ContainerPlatformReady {
  status: 'running';
  endpoint: string;
  version: string;
  apiVersion: string;
  os?: string;
  arch?: string;
  defaultRuntime?: string;
  runtimes: string[];
  cdiSpecDirs: string[];
  cdiDevices: string[];
  gpu: GpuContainerSupport;
  /** The engine's CPUs and memory as `docker info` reports them (NCPU, MemTotal). */
  cpus?: number;
  memoryBytes?: number;
}

/** Why the daemon could not be used. */
export type ContainerPlatformFailure = 'not-running' | 'permission-denied' | 'timeout' | 'error';

export interface ContainerPlatformUnavailable {
  status: ContainerPlatformFailure;
  endpoint: string;
  /** The underlying error, as the client reported it. */
  error: string;
  fix: string;
}

export type ContainerPlatform = ContainerPlatformReady | ContainerPlatformUnavailable;

export const NVIDIA_TOOLKIT_FIX =
  'Install the NVIDIA Container Toolkit (https://docs.nvidia.com/datacenter/cloud-native/container-toolkit/latest/install-guide.html), ' +
  'then run `sudo nvidia-ctk runtime configure --runtime=docker` and `sudo systemctl restart docker`.';

/**
 * Builds dockerode options from a DOCKER_HOST value (`unix:///path`, `tcp://host:port`,
 * `http://…`). Explicit, instead of letting docker-modem read process.env, so the endpoint tried
 * is the one the caller (the config module) says.
 */
export function dockerOptionsFromHost(dockerHost: string | undefined): Docker.DockerOptions {
  if (!dockerHost) return {};
  if (dockerHost.startsWith('unix://')) return { socketPath: dockerHost.slice('unix://'.length) || '/var/run/docker.sock' };
  if (dockerHost.startsWith('npipe://')) return { socketPath: dockerHost.slice('npipe://'.length) };
  const url = new URL(dockerHost.includes('//') ? dockerHost : `tcp://${dockerHost}`);
  const tls = url.protocol === 'https:' || url.port === '2376';
  // URL keeps an IPv6 literal's brackets in `hostname`; the socket (docker-modem's http.request) wants the bare address.
  return { host: unbracketHost(url.hostname), port: url.port || (tls ? '2376' : '2375'), protocol: tls ? 'https' : 'http' };
}

/**
 * A dockerode client for DOCKER_HOST (or the default socket when unset). dockerode is loaded here,
 * on the first call, not with this module: it is slow to load and most starts of the core do not
 * talk to Docker before their first answer.
 */
export function createDockerClient(dockerHost?: string): Docker {
  const Dockerode = createRequire(import.meta.url)('dockerode') as typeof Docker;
  return new Dockerode(dockerOptionsFromHost(dockerHost));
}

/** Names the endpoint a client talks to, for messages. */
export function describeEndpoint(docker: DockerLike): string {
  // docker-modem's typings do not declare these fields, though the object has them.
  const m = docker.modem as { socketPath?: unknown; host?: string; port?: string | number; protocol?: string } | undefined;
  if (!m) return 'the Docker daemon';
  if (typeof m.socketPath === 'string') return `unix://${m.socketPath}`;
  if (m.host) return `${m.protocol === 'https' ? 'https' : 'tcp'}://${joinHostPort(m.host, m.port ?? '')}`;
  // docker-modem resolves its default socket lazily (a function): name the usual one.
  return 'the default socket (unix:///var/run/docker.sock)';
}

/** Decides how (whether) GPUs reach containers from `docker info`. Pure: tested on recorded objects. */
export function gpuSupportFromInfo(info: DockerInfoLike): GpuContainerSupport {
  const runtimes = Object.keys(info.Runtimes ?? {});
  if (runtimes.includes('nvidia')) return { kind: 'nvidia-runtime', isDefault: info.DefaultRuntime === 'nvidia' };
  const cdiDevices = cdiDevicesFromInfo(info).filter((d) => d.startsWith('nvidia.com/gpu'));
  if (cdiDevices.length > 0) return { kind: 'cdi', devices: cdiDevices };
  return {
    kind: 'none',
    reason: 'nvidia-runtime-missing',
    explanation:
      'GPU containers need the NVIDIA Container Toolkit: Docker lists no `nvidia` runtime and no NVIDIA CDI device, ' +
      'so a container asking for a GPU fails with `could not select device driver "" with capabilities: [[gpu]]`.',
    fix: NVIDIA_TOOLKIT_FIX,
  };
}

function cdiDevicesFromInfo(info: DockerInfoLike): string[] {
  return (info.DiscoveredDevices ?? []).filter((d) => d.Source === 'cdi' && d.ID).map((d) => d.ID as string);
}

function classify(err: unknown, endpoint: string): ContainerPlatformUnavailable {
  const e = err as NodeJS.ErrnoException & { statusCode?: number };
  const error = e?.message ?? String(err);
  const dockerHostHint = process.platform === 'win32' ? 'start Docker Desktop' : 'start it with `sudo systemctl start docker` (or `dockerd &`)';
  switch (e?.code) {
    case 'EACCES':
    case 'EPERM':
      return {
        status: 'permission-denied',
        endpoint,
        error,
        fix:
          `Permission denied on ${endpoint}: add your user to the docker group ` +
          '(`sudo usermod -aG docker $USER`, then log out and back in), or set DOCKER_HOST to a daemon you may use.',
      };
    case 'ENOENT':
    case 'ECONNREFUSED':
    case 'ECONNRESET':
    case 'EHOSTUNREACH':
    case 'ENOTFOUND':
      return { status: 'not-running', endpoint, error, fix: `Docker is not running at ${endpoint} — ${dockerHostHint}, or set DOCKER_HOST.` };
    case 'ETIMEDOUT':
      return { status: 'timeout', endpoint, error, fix: `Docker at ${endpoint} did not answer — check that the daemon is healthy, or set DOCKER_HOST.` };
    default:
      return { status: 'error', endpoint, error, fix: `Docker at ${endpoint} answered with an error — see \`docker info\` and the daemon's log.` };
  }
}

/**
 * Checks the container platform: daemon reachable, its version and API version, runtimes, the
 * default runtime, CDI directories and devices, and whether GPU containers can work.
 */
export async function checkContainerPlatform(docker: DockerLike, options: { timeoutMs?: number } = {}): Promise<ContainerPlatform> {
  const endpoint = describeEndpoint(docker);
  const timeoutMs = options.timeoutMs ?? 5_000;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })), timeoutMs);
  });
  try {
    const [version, info] = await Promise.race([Promise.all([docker.version(), docker.info()]), timeout]);
    const runtimes = Object.keys(info.Runtimes ?? {}).sort();
    return {
      status: 'running',
      endpoint,
      version: version.Version ?? info.ServerVersion ?? 'unknown',
      apiVersion: version.ApiVersion ?? 'unknown',
      os: version.Os,
      arch: version.Arch,
      defaultRuntime: info.DefaultRuntime,
      runtimes,
      cdiSpecDirs: info.CDISpecDirs ?? [],
      cdiDevices: cdiDevicesFromInfo(info),
      gpu: gpuSupportFromInfo(info),
      cpus: info.NCPU,
      memoryBytes: info.MemTotal,
    };
  } catch (err) {
    return classify(err, endpoint);
  } finally {
    clearTimeout(timer);
  }
}
