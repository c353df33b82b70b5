/**
 * Refusals of Docker engines before anything is created: Docker not usable, a GPU service without
 * the NVIDIA runtime, no image and no registry. The daemon here is a client on a socket that does
 * not exist (the real "not running" path) or a recorded platform answer.
 */
import { describe, expect, it } from 'vitest';
import path from 'node:path';
import os from 'node:os';
import { AimaError } from '../../src/shared/errors.js';
import { loadCatalog } from '../../src/core/engines/catalog.js';
import type { DockerEngineEntry } from '../../src/core/engines/catalog-schema.js';
import { createDockerClient, gpuSupportFromInfo, type ContainerPlatform } from '../../src/core/runtimes/docker/platform.js';
import { dockerPreflight, registryOf } from '../../src/core/runtimes/docker/preflight.js';
import { repoRoot } from '../support/system.js';

const catalog = loadCatalog({ builtin: path.join(repoRoot, 'resources', 'engines'), user: '/nonexistent' });
const entry = (id: string) => catalog.items.get(id)!.entry as DockerEngineEntry;
const facts = { arch: 'x64', gpuVendor: 'nvidia' as const, computeCapability: '9.0', env: {} };
const running = (info: Record<string, unknown>): ContainerPlatform => ({
  status: 'running',
  endpoint: 'unix:///var/run/docker.sock',
  version: '20.10.24',
  apiVersion: '1.41',
  runtimes: Object.keys((info.Runtimes as object) ?? {}),
  cdiSpecDirs: [],
  cdiDevices: [],
  gpu: gpuSupportFromInfo(info),
});

async function refusal(p: Promise<unknown>): Promise<AimaError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AimaError);
  return err as AimaError;
}

describe('Docker preflight refusals', () => {
  it('Docker not running: names the endpoint and how to start it', async () => {
    const sock = path.join(os.tmpdir(), `aima-no-docker-${process.pid}.sock`);
    const docker = createDockerClient(`unix://${sock}`);
    const e = await refusal(dockerPreflight({ docker, engine: entry('llama-cpp'), device: 'cpu', facts }));
    expect(e.message).toContain(`runs in Docker, but Docker is not usable at unix://${sock} (not-running`);
    expect(e.fix).toMatch(/start it with `sudo systemctl start docker`/);
  });

  it('GPU service without the NVIDIA runtime: the toolkit fix, before any image is looked at', async () => {
    const docker = createDockerClient('unix:///nonexistent.sock');
    const e = await refusal(dockerPreflight({ docker, engine: entry('vllm'), device: 'gpu', facts, platform: async () => running({ Runtimes: { runc: {} } }) }));
    expect(e.message).toMatch(/vLLM \(Docker\) \(vllm\) on the GPU needs the NVIDIA container runtime: GPU containers need the NVIDIA Container Toolkit/);
    expect(e.fix).toMatch(/nvidia-ctk runtime configure --runtime=docker/);
  });

  it('no image suits the machine: every candidate with why', async () => {
    const docker = createDockerClient('unix:///nonexistent.sock');
    const e = await refusal(
      dockerPreflight({ docker, engine: entry('vllm'), device: 'gpu', facts: { ...facts, computeCapability: '6.1' }, platform: async () => running({ Runtimes: { nvidia: {} } }) }),
    );
    expect(e.message).toBe('No image of vLLM (Docker) (vllm) suits this machine: vllm/vllm-openai:v0.11.0 (needs compute capability 7.0 (this GPU has 6.1)); nvcr.io/nvidia/vllm:25.09-py3 (for arm64 (this machine is x64)).');
  });

  it('knows which registry an image comes from', () => {
    expect(registryOf('vllm/vllm-openai:v0.11.0')).toEqual({ host: 'registry-1.docker.io', port: 443 });
    expect(registryOf('ghcr.io/ggml-org/llama.cpp:server')).toEqual({ host: 'ghcr.io', port: 443 });
    expect(registryOf('127.0.0.1:5000/aima-test/httpd:1')).toEqual({ host: '127.0.0.1', port: 5000 });
    expect(registryOf('localhost/x:1')).toEqual({ host: 'localhost', port: 443 });
  });
});
