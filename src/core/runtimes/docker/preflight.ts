/**
 * Refusals before anything is created: a Docker engine is refused, with the problem and the fix,
 * when the daemon is not usable, when a GPU service has no way to reach the GPU (no NVIDIA
 * runtime or CDI device), or when no suitable image is present and no registry that could supply
 * one is reachable. Each check asks the daemon or the network; none writes anything.
 */
import net from 'node:net';
import type Docker from 'dockerode';
import type { Device } from '../../../shared/contract/services.js';
import { AimaError } from '../../../shared/errors.js';
import type { DockerEngineEntry } from '../../engines/catalog-schema.js';
import { checkContainerPlatform, type ContainerPlatform } from './platform.js';
import { imagePresent } from './images.js';
import { eligibleImages, type DockerHostFacts } from './plan.js';

/** The registry an image reference pulls from, as host:port (Docker Hub for bare names). */
export function registryOf(image: string): { host: string; port: number } {
  const first = image.split('/')[0]!;
  const hasRegistry = image.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (!hasRegistry) return { host: 'registry-1.docker.io', port: 443 };
  const [host, port] = first.split(':') as [string, string | undefined];
  return { host, port: port ? Number(port) : 443 };
}

/** True when a TCP connection to the registry opens within `timeoutMs`. */
export function registryReachable(image: string, timeoutMs = 2000): Promise<boolean> {
  const { host, port } = registryOf(image);
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

export interface PreflightInput {
  docker: Docker;
  engine: DockerEngineEntry;
  device: Device;
  facts: DockerHostFacts;
  /** Where the engine runs, for messages ("on node \"b\""); default: this machine. */
  where?: string;
  /** Seams for tests. */
  platform?: () => Promise<ContainerPlatform>;
  reachable?: (image: string) => Promise<boolean>;
}

/** Throws the first reason the engine cannot be run here; returns the platform when it can. */
export async function dockerPreflight(p: PreflightInput): Promise<ContainerPlatform> {
  const name = `${p.engine.name} (${p.engine.id})`;
  const where = p.where ?? 'locally';
  const platform = await (p.platform ?? (() => checkContainerPlatform(p.docker)))();
  if (platform.status !== 'running') {
    throw new AimaError('unavailable', `${name} runs in Docker, but Docker is not usable at ${platform.endpoint} (${platform.status}: ${platform.error}).`, platform.fix);
  }
  if (p.device === 'gpu' && platform.gpu.kind === 'none') {
    throw new AimaError('unavailable', `${name} on the GPU needs the NVIDIA container runtime: ${platform.gpu.explanation}`, `${platform.gpu.fix} Or create the service with --device cpu where the engine supports it.`);
  }
  const { images, skipped } = eligibleImages(p.engine, p.device, p.facts);
  if (images.length === 0) {
    throw new AimaError(
      'unavailable',
      `No image of ${name} suits this machine: ${skipped.map((s) => `${s.image} (${s.why})`).join('; ') || 'the catalog lists none'}.`,
      'Pick another device or engine, or add a suitable image to the engine entry.',
    );
  }
  for (const image of images) if (await imagePresent(p.docker, image)) return platform;
  const reachable = p.reachable ?? ((image: string) => registryReachable(image));
  for (const image of images) if (await reachable(image)) return platform;
  throw new AimaError(
    'unavailable',
    `No image of ${name} is present ${where} and no registry is reachable to pull one; tried ${images.map((i) => `${i} (registry ${registryOf(i).host}:${registryOf(i).port})`).join(', ')}.`,
    `Load one of them ${where === 'locally' ? '' : `into the engine ${where} `}with \`docker load\` (or \`docker pull\` where a registry is reachable), then try again.`,
  );
}
