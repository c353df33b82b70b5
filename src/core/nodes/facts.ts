/**
 * A node's facts (NodeFacts) as its engine reports them: reachability, Docker version,
 * architecture, CPUs and memory from `version`/`info`; GPUs, where the engine has the NVIDIA
 * runtime, from `nvidia-smi` run in a short-lived container on that node (the runtime mounts
 * nvidia-smi and the driver into it), parsed by the same parser as the local GPUs.
 */
import type Docker from 'dockerode';
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

/** GPUs as nvidia-smi reports them inside a short-lived container with the NVIDIA runtime. */
export async function probeNodeGpus(docker: Docker, timeoutMs = 30_000): Promise<{ gpus: NodeGpuFacts[]; note: string | null }> {
  const images = await docker.listImages();
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
    await container.start();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`nvidia-smi did not finish within ${timeoutMs / 1000} s`)), timeoutMs)));
    const status = (await Promise.race([container.wait(), timeout]).finally(() => clearTimeout(timer))) as { StatusCode: number };
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

/** Reads a node's facts: the platform check, then GPUs where the NVIDIA runtime is present. */
export async function readNodeFacts(
  name: string,
  docker: Docker,
  describeFailure: (p: Exclude<ContainerPlatform, { status: 'running' }>) => string,
  timeoutMs = 5_000,
): Promise<{ facts: NodeFacts; gpuNote: string | null }> {
  const platform = await checkContainerPlatform(docker, { timeoutMs });
  const facts = factsFromPlatform(name, platform, describeFailure);
  if (!facts.nvidiaRuntime) return { facts, gpuNote: null };
  try {
    const { gpus, note } = await probeNodeGpus(docker);
    return { facts: { ...facts, gpus }, gpuNote: note };
  } catch (err) {
    return { facts, gpuNote: `nvidia-smi could not run on the node: ${(err as Error).message}` };
  }
}
