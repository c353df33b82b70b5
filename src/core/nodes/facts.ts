/**
 * A node's facts (NodeFacts) as its engine reports them: reachability, Docker version,
 * architecture, CPUs and memory from `version`/`info`; GPUs, where the engine has the NVIDIA
 * runtime, from `nvidia-smi` run in a short-lived container on that node (the runtime mounts
 * nvidia-smi and the driver into it), parsed by the same parser as the local GPUs.
 */
import type Docker from 'dockerode';
import { AimaError } from '../../shared/errors.js';
import { NVIDIA_QUERY_GPU_ARGS, parseNvidiaQueryGpu } from '../hardware/nvidia-smi.js';
import { checkContainerPlatform, type ContainerPlatform } from '../runtimes/docker/platform.js';
import type { NodeFacts, NodeGpuFacts } from './node-facts.js';

/** Docker's architecture names, normalised; null for one AIMA has no images for. */
export function normaliseArch(arch: string | undefined): NodeFacts['arch'] {
  if (arch === 'x86_64' || arch === 'amd64' || arch === 'x64') return 'x64';
  if (arch === 'aarch64' || arch === 'arm64') return 'arm64';
  return null;
}

/** NodeFacts from the platform check (pure); GPUs are filled separately. */
export function factsFromPlatform(name: string, p: ContainerPlatform, describeFailure: (p: Exclude<ContainerPlatform, { status: 'running' }>) => string): NodeFacts {
  if (p.status !== 'running') return { name, reachable: false, error: describeFailure(p), arch: null, dockerVersion: null, cpus: null, memoryBytes: null, nvidiaRuntime: false, gpus: [] };
  return {
    name,
    reachable: true,
    error: null,
    arch: normaliseArch(p.arch),
    dockerVersion: p.version,
    cpus: p.cpus ?? null,
    memoryBytes: p.memoryBytes ?? null,
    nvidiaRuntime: p.gpu.kind === 'nvidia-runtime',
    gpus: [],
  };
}

/**
 * The image nvidia-smi runs in: one already on the node (nothing is pulled), with a C library for
 * the driver's tools to load — a CUDA or engine image first, then a common distribution. Pure.
 */
export function pickGpuProbeImage(tags: string[]): string | null {
  const usable = tags.filter((t) => t && t !== '<none>:<none>');
  const rank = (t: string) => (/cuda|vllm|sglang/i.test(t) ? 0 : /(^|\/)(ubuntu|debian)(:|$)/i.test(t) ? 1 : 2);
  const ranked = usable.filter((t) => rank(t) < 2).sort((a, b) => rank(a) - rank(b));
  return ranked[0] ?? null;
}

/**
 * `p`, or a `cancelled` error as soon as `signal` aborts (`p` itself runs on; the caller cleans up
 * after it). Without a signal, `p`.
 */
export function abortable<T>(p: Promise<T>, signal: AbortSignal | undefined, what: string): Promise<T> {
  if (!signal) return p;
  const cancelled = () => new AimaError('cancelled', `${what}: cancelled.`);
  if (signal.aborted) return Promise.reject(cancelled());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(cancelled());
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

/**
 * GPUs as nvidia-smi reports them inside a short-lived container with the NVIDIA runtime. A
 * cancel (`signal`) stops the wait and removes the container, as a timeout does.
 */
export async function probeNodeGpus(docker: Docker, timeoutMs = 30_000, signal?: AbortSignal): Promise<{ gpus: NodeGpuFacts[]; note: string | null }> {
  const images = await abortable(docker.listImages(), signal, 'Listing the GPUs');
  const image = pickGpuProbeImage(images.flatMap((i) => i.RepoTags ?? []));
  if (!image) return { gpus: [], note: 'No CUDA or Debian/Ubuntu image is on the node to run nvidia-smi in; GPUs are listed once one is (e.g. after the first GPU service pulls its image).' };
  const container = await docker.createContainer({
    Image: image,
    Entrypoint: ['nvidia-smi'],
    Cmd: NVIDIA_QUERY_GPU_ARGS,
    Env: ['NVIDIA_VISIBLE_DEVICES=all', 'NVIDIA_DRIVER_CAPABILITIES=utility'],
    Labels: { 'aima.probe': 'nvidia-smi' },
    HostConfig: { Runtime: 'nvidia', NetworkMode: 'none' },
  });
  try {
    await abortable(container.start(), signal, 'Listing the GPUs');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`nvidia-smi did not finish within ${timeoutMs / 1000} s`)), timeoutMs)));
    const status = (await abortable(Promise.race([container.wait(), timeout]), signal, 'Listing the GPUs').finally(() => clearTimeout(timer))) as { StatusCode: number };
    const out = (await container.logs({ stdout: true, stderr: true, follow: false })) as Buffer;
    const text = demux(out);
    if (status.StatusCode !== 0) return { gpus: [], note: `nvidia-smi in ${image} exited with ${status.StatusCode}: ${text.trim().split('\n').at(-1) ?? ''}` };
    return { gpus: parseNvidiaQueryGpu(text).map((g) => ({ index: g.index, name: g.name, memoryTotalMiB: g.memoryTotalMiB, memoryUsedMiB: g.memoryUsedMiB ?? null })), note: null };
  } finally {
    await container.remove({ force: true }).catch(() => {});
  }
}

/** Docker's multiplexed log frames (8-byte headers) to text; a TTY-less container always has them. */
function demux(buf: Buffer): string {
  let out = '';
  let i = 0;
  while (i + 8 <= buf.length) {
    const size = buf.readUInt32BE(i + 4);
    out += buf.subarray(i + 8, i + 8 + size).toString('utf8');
    i += 8 + size;
  }
  return out;
}

/** The steps of a facts read, for progress: the engine's `version`/`info`, then the GPUs (only with the NVIDIA runtime). */
export type FactsStep = 'engine' | 'gpus';

/**
 * Reads a node's facts: the platform check, then GPUs where the NVIDIA runtime is present.
 * `step` hears each step as it begins; `signal` cancels (a `cancelled` error, the GPU probe's
 * container removed).
 */
export async function readNodeFacts(
  name: string,
  docker: Docker,
  describeFailure: (p: Exclude<ContainerPlatform, { status: 'running' }>) => string,
  timeoutMs = 5_000,
  opts: { signal?: AbortSignal; step?: (step: FactsStep) => void } = {},
): Promise<{ facts: NodeFacts; gpuNote: string | null }> {
  opts.step?.('engine');
  const platform = await abortable(checkContainerPlatform(docker, { timeoutMs }), opts.signal, `Asking node "${name}"`);
  const facts = factsFromPlatform(name, platform, describeFailure);
  if (!facts.nvidiaRuntime) return { facts, gpuNote: null };
  opts.step?.('gpus');
  try {
    const { gpus, note } = await probeNodeGpus(docker, undefined, opts.signal);
    return { facts: { ...facts, gpus }, gpuNote: note };
  } catch (err) {
    if (opts.signal?.aborted) throw err;
    return { facts, gpuNote: `nvidia-smi could not run on the node: ${(err as Error).message}` };
  }
}
