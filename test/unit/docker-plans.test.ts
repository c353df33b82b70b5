/**
 * The container each Docker catalog entry produces for a given model and machine, as snapshots:
 * image candidates after hardware filtering, entrypoint/cmd, env, labels, read-only model mount,
 * the 127.0.0.1 port, limits and GPU requests. None of these registry images can be pulled here,
 * so the plans are what is tested; the runtime itself is tested with locally built images
 * (test/integration/docker-runtime.test.ts).
 */
import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { loadCatalog } from '../../src/core/engines/catalog.js';
import type { DockerEngineEntry } from '../../src/core/engines/catalog-schema.js';
import { eligibleImages, parseMemory, planDocker, resourceEnvPrefix, type DockerHostFacts } from '../../src/core/runtimes/docker/plan.js';
import type { PlanInput } from '../../src/core/runtimes/types.js';
import { envSpecs } from '../../src/core/config/env.js';
import { dockerFactsForNode } from '../../src/core/runtimes/docker/node-host-facts.js';
import type { NodeFacts } from '../../src/core/nodes/node-facts.js';
import { repoRoot } from '../support/system.js';

const catalog = loadCatalog({ builtin: path.join(repoRoot, 'resources', 'engines'), user: '/nonexistent' });
const dockerEntries = [...catalog.items.values()].map((i) => i.entry).filter((e): e is DockerEngineEntry => e.runtime === 'docker');

/** The install (data directory) the plans are made for: its id is in container names and labels. */
const INSTALL = '0a1b2c3d-0000-4000-8000-00000000aaaa';
const planFor = (i: PlanInput, facts: DockerHostFacts) => planDocker(i, facts, INSTALL);

const h100: DockerHostFacts = { arch: 'x64', gpuVendor: 'nvidia', computeCapability: '9.0', env: {} };
const cpuOnly: DockerHostFacts = { arch: 'x64', gpuVendor: null, computeCapability: null, env: {} };

/** A model of the kind and format the entry loads: a GGUF file, or a safetensors/ONNX folder. */
function modelFor(e: DockerEngineEntry): PlanInput['model'] {
  const format = e.model.formats[0];
  return format === 'gguf' ? { name: 'qwen2.5-0.5b', path: '/data/models/qwen2.5-0.5b-instruct-q4_k_m.gguf' } : { name: 'my-model', path: `/data/models/my-model-${format}` };
}

function input(e: DockerEngineEntry, device: 'cpu' | 'gpu', over: Partial<PlanInput> = {}): PlanInput {
  return {
    serviceId: '6f1c2d3e-0000-4000-8000-000000000001',
    serviceName: 'svc',
    engine: e,
    binary: 'docker',
    model: modelFor(e),
    device,
    gpus: device === 'gpu' ? [0] : [],
    host: '127.0.0.1',
    port: 18000,
    threads: null,
    ctxSize: 4096,
    concurrency: 4,
    node: '/usr/bin/node',
    dockerNode: 'local',
    workersDir: '/app/out/workers',
    logFile: '/data/logs/services/svc.log',
    pidFile: '/data/run/6f1c2d3e.pid',
    electron: false,
    ...over,
  };
}

describe('Docker plans for every catalog entry', () => {
  it('covers the entries this issue ships', () => {
    expect(dockerEntries.map((e) => e.id).sort()).toEqual(['custom-image', 'kokoro', 'llama-cpp', 'sglang', 'speaches', 'vllm']);
    expect(catalog.problems).toEqual([]);
  });

  for (const e of dockerEntries) {
    for (const device of e.devices) {
      it(`${e.id} on ${device}`, () => {
        const plan = planFor(input(e, device), device === 'gpu' ? h100 : cpuOnly);
        expect(plan.host).toBe('127.0.0.1');
        expect(plan.labels['aima.service']).toBe('6f1c2d3e-0000-4000-8000-000000000001');
        expect(plan.labels['aima.install']).toBe(INSTALL);
        expect(plan.containerName).toBe(`aima-0a1b2c3d-${plan.serviceName}`);
        for (const m of plan.mounts) expect(m.readOnly).toBe(true);
        expect(plan).toMatchSnapshot();
      });
    }
    it(`declares ${resourceEnvPrefix(e.id)}_MEMORY/_CPU/_GPU in config/env.ts`, () => {
      for (const suffix of ['MEMORY', 'CPU', 'GPU']) expect(Object.keys(envSpecs)).toContain(`${resourceEnvPrefix(e.id)}_${suffix}`);
    });
  }
});

describe('Docker plan rules', () => {
  const entry = (id: string) => dockerEntries.find((e) => e.id === id)!;

  it('mounts a model file under the mount path and a folder at it, read-only', () => {
    expect(planFor(input(entry('llama-cpp'), 'cpu'), cpuOnly).mounts).toEqual([
      { source: '/data/models/qwen2.5-0.5b-instruct-q4_k_m.gguf', target: '/models/qwen2.5-0.5b-instruct-q4_k_m.gguf', readOnly: true },
    ]);
    expect(planFor(input(entry('vllm'), 'gpu'), h100).mounts).toEqual([{ source: '/data/models/my-model-safetensors', target: '/models/model', readOnly: true }]);
    expect(planFor(input(entry('kokoro'), 'cpu', { model: null }), cpuOnly).mounts).toEqual([]);
  });

  it('takes limits from AIMA_<ENGINE>_MEMORY/_CPU/_GPU over the entry, and the service GPUs over all', () => {
    const env = { AIMA_VLLM_MEMORY: '24g', AIMA_VLLM_CPU: '6', AIMA_VLLM_GPU: '1,2' };
    const plan = planFor(input(entry('vllm'), 'gpu', { gpus: [] }), { ...h100, env });
    expect(plan.memoryBytes).toBe(24 * 1024 ** 3);
    expect(plan.nanoCpus).toBe(6e9);
    expect(plan.gpus).toEqual([1, 2]);
    expect(planFor(input(entry('vllm'), 'gpu', { gpus: [3] }), { ...h100, env }).gpus).toEqual([3]);
    expect(planFor(input(entry('vllm'), 'gpu', { gpus: [] }), h100).gpus).toEqual([]); // all
    expect(planFor(input(entry('llama-cpp'), 'cpu'), cpuOnly).gpus).toBeNull();
    expect(() => planFor(input(entry('vllm'), 'gpu'), { ...h100, env: { AIMA_VLLM_MEMORY: 'lots' } })).toThrow(/AIMA_VLLM_MEMORY must be bytes/);
    expect(parseMemory('512m', 'x')).toBe(512 * 1024 ** 2);
  });

  it('takes limits from the engineResources setting over the entry, with the environment winning over both', () => {
    const resources = { vllm: { memory: '40g', cpus: 3, gpus: '0' } };
    const plan = planFor(input(entry('vllm'), 'gpu', { gpus: [] }), { ...h100, resources });
    expect(plan.memoryBytes).toBe(40 * 1024 ** 3);
    expect(plan.nanoCpus).toBe(3e9);
    expect(plan.gpus).toEqual([0]);
    // Another engine's entry is untouched.
    expect(planFor(input(entry('sglang'), 'gpu', { gpus: [] }), { ...h100, resources }).nanoCpus).toBe(planFor(input(entry('sglang'), 'gpu', { gpus: [] }), h100).nanoCpus);
    const env = { AIMA_VLLM_MEMORY: '24g', AIMA_VLLM_GPU: '1' };
    const both = planFor(input(entry('vllm'), 'gpu', { gpus: [] }), { ...h100, env, resources });
    expect(both.memoryBytes).toBe(24 * 1024 ** 3);
    expect(both.nanoCpus).toBe(3e9); // no AIMA_VLLM_CPU: the setting's
    expect(both.gpus).toEqual([1]);
    expect(() => planFor(input(entry('vllm'), 'gpu'), { ...h100, resources: { vllm: { memory: 'lots' } } })).toThrow(/engineResources\.vllm\.memory must be bytes/);
  });

  it('filters image candidates by device, vendor, compute capability and architecture, saying why', () => {
    expect(eligibleImages(entry('llama-cpp'), 'gpu', h100)).toEqual({
      images: ['ghcr.io/ggml-org/llama.cpp:server-cuda'],
      skipped: [{ image: 'ghcr.io/ggml-org/llama.cpp:server', why: 'for device cpu' }],
    });
    expect(eligibleImages(entry('vllm'), 'gpu', { ...h100, computeCapability: '6.1' }).skipped).toEqual([
      { image: 'vllm/vllm-openai:v0.11.0', why: 'needs compute capability 7.0 (this GPU has 6.1)' },
      { image: 'nvcr.io/nvidia/vllm:25.09-py3', why: 'for arm64 (this machine is x64)' },
    ]);
    expect(eligibleImages(entry('vllm'), 'gpu', { ...h100, arch: 'arm64' }).images).toEqual(['nvcr.io/nvidia/vllm:25.09-py3']);
    expect(eligibleImages(entry('vllm'), 'gpu', { ...h100, gpuVendor: 'amd' }).skipped[0]!.why).toBe('for nvidia GPUs (this machine has amd)');
  });
});

describe('image candidates chosen by the node a container runs on', () => {
  const entry = (id: string) => dockerEntries.find((e) => e.id === id)!;
  const node = (name: string, arch: NodeFacts['arch'], gpu: string): NodeFacts => ({
    name,
    reachable: true,
    error: null,
    arch,
    dockerVersion: '28.5.1',
    cpus: 20,
    memoryBytes: 128 * 1024 ** 3,
    nvidiaRuntime: true,
    gpus: [{ index: 0, name: gpu, memoryTotalMiB: 122_000, memoryUsedMiB: 0 }],
  });
  const x64Node = node('box', 'x64', 'NVIDIA H100 80GB HBM3');
  const gb10 = node('spark', 'arm64', 'NVIDIA GB10');
  // The machine AIMA runs on is x64 in both cases: only the node's architecture counts.
  const install = { env: {} };

  for (const id of ['vllm', 'sglang']) {
    for (const n of [x64Node, gb10]) {
      it(`${id} on an ${n.arch} node`, () => {
        const plan = planFor(input(entry(id), 'gpu', { gpus: [] }), dockerFactsForNode(n, install));
        expect(plan.images.length).toBeGreaterThan(0);
        expect({ images: plan.images, skippedImages: plan.skippedImages }).toMatchSnapshot();
      });
    }
  }

  it('an arm64 (GB10) node gets only the arm64 images; an x64 node never gets them', () => {
    expect(eligibleImages(entry('vllm'), 'gpu', dockerFactsForNode(gb10, install)).images).toEqual(['nvcr.io/nvidia/vllm:25.09-py3']);
    expect(eligibleImages(entry('sglang'), 'gpu', dockerFactsForNode(gb10, install)).images).toEqual(['lmsysorg/sglang:spark']);
    expect(eligibleImages(entry('vllm'), 'gpu', dockerFactsForNode(x64Node, install)).images).toEqual(['vllm/vllm-openai:v0.11.0']);
    expect(eligibleImages(entry('sglang'), 'gpu', dockerFactsForNode(x64Node, install)).images).not.toContain('lmsysorg/sglang:spark');
  });

  it('a node whose architecture is unknown gets no architecture-bound image, and says why', () => {
    const r = eligibleImages(entry('vllm'), 'gpu', dockerFactsForNode({ ...gb10, arch: null }, install));
    expect(r.images).toEqual([]);
    expect(r.skipped.map((s) => s.why)).toEqual(['for x64 (this machine is unknown)', 'for arm64 (this machine is unknown)']);
  });
});

describe('the model on another node (--model-path-on-node)', () => {
  const entry = (id: string) => dockerEntries.find((e) => e.id === id)!;
  const onNode = (path: string) => ({ dockerNode: 'b', modelOnNodes: { kind: 'path' as const, path } });

  it('mounts the path on the node, never the library\'s file: a file under the mount path, a folder at it, read-only', () => {
    const gguf = planFor(input(entry('llama-cpp'), 'cpu', onNode('/srv/models/qwen.gguf')), cpuOnly);
    expect(gguf.mounts).toEqual([{ source: '/srv/models/qwen.gguf', target: '/models/qwen.gguf', readOnly: true }]);
    expect(gguf.cmd.slice(0, 2)).toEqual(['--model', '/models/qwen.gguf']);
    const folder = planFor(input(entry('vllm'), 'gpu', onNode('/srv/models/llama-3-8b')), h100);
    expect(folder.mounts).toEqual([{ source: '/srv/models/llama-3-8b', target: '/models/model', readOnly: true }]);
    expect(folder.node).toBe('b');
    expect(folder).toMatchSnapshot();
  });

  it('on local, the library\'s file whatever modelOnNodes says', () => {
    const plan = planFor(input(entry('llama-cpp'), 'cpu', { modelOnNodes: { kind: 'path', path: '/srv/models/qwen.gguf' } }), cpuOnly);
    expect(plan.mounts).toEqual([{ source: '/data/models/qwen2.5-0.5b-instruct-q4_k_m.gguf', target: '/models/qwen2.5-0.5b-instruct-q4_k_m.gguf', readOnly: true }]);
  });

  it('refuses a model on another node without a path there (a service stored before it had one); a node service without a model plans as before', () => {
    expect(() => planFor(input(entry('llama-cpp'), 'cpu', { dockerNode: 'b' }), cpuOnly)).toThrow(/^Node "b" cannot read this machine's model files \(model "qwen2.5-0.5b" is in this machine's library\)/);
    expect(planFor(input(entry('kokoro'), 'cpu', { dockerNode: 'b', model: null }), cpuOnly).mounts).toEqual([]);
  });
});


describe('a Hugging Face id the engine downloads on its node', () => {
  const entry = (id: string) => dockerEntries.find((e) => e.id === id)!;
  const hub = (over: Partial<PlanInput> & { revision?: string | null } = {}): Partial<PlanInput> => {
    const { revision = null, ...rest } = over;
    return { model: null, modelOnNodes: { kind: 'hf', id: 'Qwen/Qwen2.5-0.5B-Instruct', revision }, ...rest };
  };
  const CACHE = { volume: 'aima-hf-cache', target: '/root/.cache/huggingface', readOnly: false };

  it('vLLM on another node: no model mount, the cache volume, --model ID --revision REV, served as the id, the token when one is set', () => {
    const plan = planFor(input(entry('vllm'), 'gpu', hub({ dockerNode: 'b', revision: 'refs/pr/3', hubToken: 'hf_test_token' })), h100);
    expect(plan.mounts).toEqual([CACHE]);
    expect(plan.cmd.slice(0, 6)).toEqual(['--model', 'Qwen/Qwen2.5-0.5B-Instruct', '--revision', 'refs/pr/3', '--served-model-name', 'Qwen/Qwen2.5-0.5B-Instruct']);
    expect(plan.env).toEqual({ HF_TOKEN: 'hf_test_token' });
    expect(plan).toMatchSnapshot();
  });

  it('vLLM on local: the engine downloads there too; no token, no HF_TOKEN; no revision, no --revision', () => {
    const plan = planFor(input(entry('vllm'), 'gpu', hub({ hubToken: null })), h100);
    expect(plan.node).toBe('local');
    expect(plan.mounts).toEqual([CACHE]);
    expect(plan.cmd.slice(0, 4)).toEqual(['--model', 'Qwen/Qwen2.5-0.5B-Instruct', '--served-model-name', 'Qwen/Qwen2.5-0.5B-Instruct']);
    expect(plan.cmd).not.toContain('--revision');
    expect(plan.env).not.toHaveProperty('HF_TOKEN');
    expect(plan).toMatchSnapshot();
  });

  it('SGLang: --model-path ID, an empty token counts as none', () => {
    const plan = planFor(input(entry('sglang'), 'gpu', hub({ dockerNode: 'b', revision: 'v1.0', hubToken: '' })), h100);
    expect(plan.cmd.slice(0, 4)).toEqual(['--model-path', 'Qwen/Qwen2.5-0.5B-Instruct', '--revision', 'v1.0']);
    expect(plan.env).not.toHaveProperty('HF_TOKEN');
    expect(plan).toMatchSnapshot();
  });

  it('an entry without "hub" cannot plan one (services.create refuses it first)', () => {
    expect(() => planFor(input(entry('llama-cpp'), 'cpu', hub()), cpuOnly)).toThrow(/engine llama-cpp has no "hub" declaration/);
  });
});
