/**
 * Hardware through the core's API (createCore in a temp directory, nvidia-smi replayed by
 * test/fixtures/bin/fake-nvidia-smi): the report, telemetry behind watch leases (1 Hz while a
 * lease lives, stopped at once by unwatch and by expiry, no nvidia-smi left behind), VRAM
 * attribution to AIMA's services (including a service's child process) vs foreign processes, and
 * models.fit on real imported models. Then the same through real `aima` processes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createCore, type Core } from '../../src/core/core.js';
import { dispatchCall } from '../../src/core/api/dispatch.js';
import type { HardwareReport, HardwareSample, ModelFit } from '../../src/shared/contract/index.js';
import { AimaError } from '../../src/shared/errors.js';
import { aimaBin, runAima, startServe, tempHome, type ServeHandle } from '../support/cli.js';
import { safetensorsBytes, tempRoot } from '../support/model-fixtures.js';
import { repoRoot, requirePart, sharedFixture, sharedModel } from '../support/system.js';

const fake = path.join(repoRoot, 'test/fixtures/bin/fake-nvidia-smi');
const busy = path.join(repoRoot, 'test/fixtures/nvidia-smi/busy');
const h100 = sharedFixture('nvidia-smi/h100-80gb');
const haveH100 = existsSync(path.join(h100, 'query.csv'));
const GGUF = sharedModel('stories260K/stories260K.gguf');
const VAD = sharedModel('silero-vad/silero_vad.onnx');

type Sample = Extract<HardwareSample, { type: 'sample' }>;

/** Live fake-nvidia-smi processes whose parent is `ppid` (default: this test process, where the core runs in-process). */
function nvidiaChildren(ppid = process.pid): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) !== ppid || fields[0] === 'Z') continue;
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('fake-nvidia-smi')) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, pred: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** A service-like process tree: `sh` (the "service") with a `sleep` child that holds GPU memory. */
function spawnTree(): { parent: ChildProcess; childPid: () => number } {
  const parent = spawn('sh', ['-c', 'sleep 120 & wait'], { stdio: 'ignore' });
  return {
    parent,
    childPid: () => Number(readFileSync(`/proc/${parent.pid}/task/${parent.pid}/children`, 'utf8').trim().split(/\s+/)[0] || 0),
  };
}

const cores: Core[] = [];
const fixtureEnv = (dir: string) => {
  process.env.AIMA_NVIDIA_SMI_FIXTURE = dir;
};
async function newCore(opts: { nvidiaSmi?: string; ownPids?: Map<number, string> } = {}): Promise<Core> {
  const core = await createCore({
    dataDir: tempHome('aima-hw-'),
    host: 'serve',
    env: { AIMA_NVIDIA_SMI: opts.nvidiaSmi ?? fake },
    hardware: { ownPids: () => opts.ownPids ?? new Map() },
  });
  cores.push(core);
  return core;
}
const call = <T>(core: Core, name: string, params: unknown) => dispatchCall(core.api, name, params) as Promise<T>;

function collect(core: Core): { samples: HardwareSample[]; off: () => void } {
  const samples: HardwareSample[] = [];
  const off = core.events.on('hardware.sample', (s) => samples.push(s));
  return { samples, off };
}

afterEach(async () => {
  while (cores.length) await cores.pop()!.close({ stopServices: true });
  delete process.env.AIMA_NVIDIA_SMI_FIXTURE;
});

describe('hardware.report', () => {
  it('reports the H100 from the recording, every probe, CPU/RAM/OS/disk and Docker with a reason or fix', async (ctx) => {
    requirePart(ctx, 'shared-fixtures', haveH100);
    fixtureEnv(h100);
    const core = await newCore();
    const r = await call<HardwareReport>(core, 'hardware.report', {});
    expect(r.gpus).toHaveLength(1);
    expect(r.gpus[0]).toMatchObject({ name: 'NVIDIA H100 80GB HBM3', vendor: 'nvidia', memoryTotalMiB: 81559, memoryUsedMiB: 0, temperatureC: 34, computeCapability: '9.0' });
    expect(r.gpuProbes.map((p) => [p.tool, p.status])).toContainEqual(['nvidia-smi', 'ok']);
    expect(r.gpuProbes.find((p) => p.tool === 'rocm-smi')?.status).toBe('not-present');
    expect(r.cpu?.threads).toBeGreaterThan(0);
    expect(r.memory?.totalBytes).toBeGreaterThan(0);
    expect(r.disk?.path).toBe(core.paths.dataDir);
    expect(r.attribution[0]).toMatchObject({ usedMiB: 0, totalMiB: 81559, own: [], foreign: [] });
    if (r.containerPlatform.status === 'running') {
      expect(r.containerPlatform.version).toBeTruthy();
      // No NVIDIA toolkit on these machines: the report says why GPU containers fail and how to fix it.
      if (r.containerPlatform.gpu.kind === 'none') expect(r.containerPlatform.gpu.fix).toMatch(/nvidia-ctk/);
    } else {
      expect(r.containerPlatform.fix).toBeTruthy();
    }
  });

  it('without nvidia-smi: no GPU, and the probe says "not-present"', async () => {
    const core = await newCore({ nvidiaSmi: '/nonexistent/nvidia-smi' });
    const r = await call<HardwareReport>(core, 'hardware.report', {});
    expect(r.gpus.filter((g) => g.vendor === 'nvidia')).toEqual([]);
    expect(r.gpuProbes.find((p) => p.tool === 'nvidia-smi')).toMatchObject({ status: 'not-present' });
  });

  it('a driver that fails is "failed" with its own message', async () => {
    process.env.AIMA_FAKE_NVIDIA_SMI_MODE = 'fail';
    try {
      const core = await newCore();
      const r = await call<HardwareReport>(core, 'hardware.report', {});
      expect(r.gpuProbes.find((p) => p.tool === 'nvidia-smi')).toMatchObject({ status: 'failed', error: expect.stringMatching(/couldn't communicate with the NVIDIA driver/) });
    } finally {
      delete process.env.AIMA_FAKE_NVIDIA_SMI_MODE;
    }
  });
});

describe('telemetry leases', () => {
  it('samples at ~1 Hz while a lease lives, attributes VRAM, and unwatch stops it with no nvidia-smi left', async () => {
    fixtureEnv(busy);
    // 41235 is "llm" itself; 41388 (the ASR worker) is matched through the injected map too.
    const core = await newCore({ ownPids: new Map([[41235, 'llm'], [41388, 'asr']]) });
    const { samples, off } = collect(core);
    const lease = await call<{ leaseId: string; ttlMs: number; renewEveryMs: number; intervalMs: number }>(core, 'hardware.watch', {});
    expect(lease).toMatchObject({ ttlMs: 10_000, renewEveryMs: 5_000, intervalMs: 1000 });
    await until('4 samples', () => samples.length >= 4, 15_000);
    const ok = samples.filter((s): s is Sample => s.type === 'sample');
    expect(ok.length).toBe(samples.length);
    const gaps = ok.slice(1).map((s, i) => s.at - ok[i]!.at);
    const median = [...gaps].sort((a, b) => a - b)[Math.floor(gaps.length / 2)]!;
    expect(median).toBeGreaterThanOrEqual(900);
    expect(median).toBeLessThan(1600);

    const s = ok.at(-1)!;
    expect(s.gpus[0]).toMatchObject({ memoryUsedMiB: 30448, utilizationGpu: 87, temperatureC: 61, powerDrawW: 402.55 });
    expect(s.memory.totalBytes).toBeGreaterThan(0);
    const a = s.attribution[0]!;
    expect(a.byService).toEqual({ llm: 18620, asr: 1210 });
    expect(a.ownMiB).toBe(19830);
    expect(a.foreign).toEqual([
      { pid: 39001, name: '/usr/bin/python3', usedMemoryMiB: 9614 },
      { pid: 40777, name: '/usr/local/bin/ollama', usedMemoryMiB: 524 },
    ]);
    expect(a.unattributedMiB).toBe(480);
    expect(nvidiaChildren().length).toBeGreaterThan(0); // the stream child

    const r = await call<{ closed: boolean; watchers: number }>(core, 'hardware.unwatch', { leaseId: lease.leaseId });
    expect(r).toEqual({ closed: true, watchers: 0 });
    const t = samples.length;
    await until('nvidia-smi children gone', () => nvidiaChildren().length === 0, 5_000);
    await sleep(2_500);
    expect(samples.length - t).toBeLessThanOrEqual(1); // at most a sample already in flight
    off();
  });

  it('an expired lease stops sampling; a renewed one keeps it going; the last of two leases stops it', async () => {
    fixtureEnv(busy);
    const core = await newCore();
    const { samples, off } = collect(core);
    const lease = await call<{ leaseId: string }>(core, 'hardware.watch', { ttlMs: 2000 });
    // Renew for 4 s (twice the lease), then let it lapse. On a loaded machine the first sample
    // can take a while (the looping nvidia-smi has to start), so count samples over the renewals
    // and keep renewing until three arrived or 12 s passed: a lease that lapsed would stop them.
    for (let i = 0; i < 4 || (samples.length < 3 && i < 12); i++) {
      await sleep(1000);
      await call(core, 'hardware.watch', { leaseId: lease.leaseId, ttlMs: 2000 });
    }
    expect(samples.length).toBeGreaterThanOrEqual(3);
    await until('lease expiry stops sampling', () => nvidiaChildren().length === 0, 6_000);
    const after = samples.length;
    await sleep(2_500);
    expect(samples.length - after).toBeLessThanOrEqual(1);

    // Two watchers: closing one keeps sampling, closing both stops it.
    const a = await call<{ leaseId: string }>(core, 'hardware.watch', {});
    const b = await call<{ leaseId: string; watchers: number }>(core, 'hardware.watch', {});
    expect(b.watchers).toBe(2);
    await call(core, 'hardware.unwatch', { leaseId: a.leaseId });
    const n = samples.length;
    await until('sampling continues for the other lease', () => samples.length >= n + 2, 6_000);
    expect(await call(core, 'hardware.unwatch', { leaseId: b.leaseId })).toEqual({ closed: true, watchers: 0 });
    expect(await call(core, 'hardware.unwatch', { leaseId: b.leaseId })).toEqual({ closed: false, watchers: 0 });
    await until('nvidia-smi children gone', () => nvidiaChildren().length === 0, 5_000);
    off();
  });

  it("attributes a service's child process to the service (by /proc ancestry), and names foreign processes", async () => {
    const tree = spawnTree();
    let child = 0;
    try {
      await until('child spawned', () => {
        try {
          return tree.childPid() > 0;
        } catch {
          return false;
        }
      });
      child = tree.childPid();
      // A recording where the GPU process is the service's child, plus one foreign process.
      const dir = tempRoot('hw-fixture').dir;
      cpSync(busy, dir, { recursive: true });
      const uuid = 'GPU-4af987a7-9ef5-855d-6102-fb59c1abab1a';
      writeFileSync(path.join(dir, 'apps.csv'), `${child}, /usr/bin/sleep, 5000, ${uuid}\n39001, /usr/bin/python3, 9614, ${uuid}\n`);
      fixtureEnv(dir);
      const core = await newCore({ ownPids: new Map([[tree.parent.pid!, 'tts']]) });
      const r = await call<HardwareReport>(core, 'hardware.report', {});
      expect(r.attribution[0]).toMatchObject({
        own: [{ pid: child, service: 'tts', usedMemoryMiB: 5000 }],
        byService: { tts: 5000 },
        foreign: [{ pid: 39001, name: '/usr/bin/python3', usedMemoryMiB: 9614 }],
      });
      const { samples, off } = collect(core);
      const lease = await call<{ leaseId: string }>(core, 'hardware.watch', {});
      await until('a sample', () => samples.some((s) => s.type === 'sample'));
      expect((samples.find((s) => s.type === 'sample') as Sample).attribution[0]!.byService).toEqual({ tts: 5000 });
      await call(core, 'hardware.unwatch', { leaseId: lease.leaseId });
      off();
    } finally {
      // Only a known pid: process.kill(0) would signal this whole process group.
      if (child > 1) {
        try {
          process.kill(child, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      tree.parent.kill('SIGKILL');
    }
  });

  it('a failing driver turns into error samples that carry its message', async () => {
    process.env.AIMA_FAKE_NVIDIA_SMI_MODE = 'fail';
    try {
      const core = await newCore();
      const { samples, off } = collect(core);
      const lease = await call<{ leaseId: string }>(core, 'hardware.watch', {});
      await until('2 error samples', () => samples.length >= 2);
      expect(samples[0]).toMatchObject({ type: 'error', error: expect.stringMatching(/couldn't communicate with the NVIDIA driver/) });
      await call(core, 'hardware.unwatch', { leaseId: lease.leaseId });
      off();
    } finally {
      delete process.env.AIMA_FAKE_NVIDIA_SMI_MODE;
    }
  });

  it('without nvidia-smi the lease still yields samples (no GPUs, RAM and CPU) and spawns nothing', async () => {
    const core = await newCore({ nvidiaSmi: '/nonexistent/nvidia-smi' });
    const { samples, off } = collect(core);
    const lease = await call<{ leaseId: string }>(core, 'hardware.watch', {});
    await until('2 samples', () => samples.length >= 2);
    expect(samples.every((s) => s.type === 'sample' && s.gpus.length === 0 && s.memory.totalBytes > 0)).toBe(true);
    await call(core, 'hardware.unwatch', { leaseId: lease.leaseId });
    off();
  });
});

describe('models.fit', () => {
  it('stories260K (GGUF) fits the busy H100; asks for another GPU are refused with the list; no GPU falls back to the CPU', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    fixtureEnv(busy);
    const core = await newCore();
    await call(core, 'models.import', { path: GGUF, name: 'stories' });
    const f = await call<ModelFit>(core, 'models.fit', { name: 'stories' });
    expect(f).toMatchObject({
      model: 'stories',
      format: 'gguf',
      estimator: 'gguf',
      gpu: { index: 0, name: 'NVIDIA H100 80GB HBM3', freeMiB: 50631, totalMiB: 81559 },
      verdict: { kind: 'fits', device: 'gpu', reason: 'fits-in-vram' },
      suggestions: [],
    });
    // The same numbers test/unit/fit.test.ts checks against llama.cpp: 1,171,200 bytes of weights, 320 KiB of f16 KV at ctx 512.
    expect(f.numbers).toMatchObject({ contextSize: 512, weightsBytes: 1_171_200, kvCacheBytes: 327_680, totalLayers: 6, gpuLayers: 6 });

    const q = await call<ModelFit>(core, 'models.fit', { name: 'stories', ctx: 256, parallel: 2, cacheType: 'q8_0', gpu: 0 });
    expect(q.numbers).toMatchObject({ contextSize: 256, parallel: 2, cacheType: 'q8_0', kvCacheBytes: (327_680 / 2) * (34 / 32) });

    const err = await call(core, 'models.fit', { name: 'stories', gpu: 3 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AimaError);
    expect((err as AimaError).message).toMatch(/GPU 3 does not exist/);
    expect((err as AimaError).fix).toMatch(/0 \(NVIDIA H100 80GB HBM3\)/);
    const fp8 = await call(core, 'models.fit', { name: 'stories', cacheType: 'fp8' }).catch((e: unknown) => e);
    expect((fp8 as AimaError).code).toBe('bad-request');
    const missing = await call(core, 'models.fit', { name: 'nope' }).catch((e: unknown) => e);
    expect((missing as AimaError).code).toBe('not-found');

    const cpuCore = await newCore({ nvidiaSmi: '/nonexistent/nvidia-smi' });
    await call(cpuCore, 'models.import', { path: GGUF, name: 'stories' });
    const c = await call<ModelFit>(cpuCore, 'models.fit', { name: 'stories' });
    expect(c).toMatchObject({ gpu: null, verdict: { kind: 'fits', device: 'cpu', reason: 'no-gpu' } });
    expect(c.numbers.ramAvailableBytes).toBeGreaterThan(0);
  });

  it('safetensors goes through the vLLM estimate: the busy GPU has too little free for 0.9 utilization, the idle one fits', async (ctx) => {
    requirePart(ctx, 'shared-fixtures', haveH100);
    const root = tempRoot('hw-hf');
    root.file(
      'tiny-llama/config.json',
      JSON.stringify({
        architectures: ['LlamaForCausalLM'],
        model_type: 'llama',
        torch_dtype: 'bfloat16',
        hidden_size: 64,
        intermediate_size: 256,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        num_key_value_heads: 2,
        vocab_size: 512,
        max_position_embeddings: 2048,
      }),
    );
    root.file('tiny-llama/model.safetensors', safetensorsBytes({ 'model.embed_tokens.weight': { dtype: 'BF16', shape: [512, 64] }, 'model.norm.weight': { dtype: 'BF16', shape: [64] } }));
    fixtureEnv(busy);
    const core = await newCore();
    await call(core, 'models.import', { path: path.join(root.dir, 'tiny-llama'), name: 'tiny' });
    const f = await call<ModelFit>(core, 'models.fit', { name: 'tiny' });
    expect(f).toMatchObject({ estimator: 'vllm', verdict: { kind: 'does-not-fit', reason: 'free-memory-below-utilization' } });
    expect(f.suggestions.map((s) => s.kind)).toContain('lower-gpu-memory-utilization');
    expect(f.numbers.weightsBytes).toBe((512 * 64 + 64) * 2);

    fixtureEnv(h100);
    const idle = await newCore();
    await call(idle, 'models.import', { path: path.join(root.dir, 'tiny-llama'), name: 'tiny' });
    const g = await call<ModelFit>(idle, 'models.fit', { name: 'tiny', ctx: 1024, cacheType: 'fp8' });
    expect(g).toMatchObject({ estimator: 'vllm', verdict: { kind: 'fits', device: 'gpu' }, numbers: { contextSize: 1024, cacheType: 'fp8' } });
    root.cleanup();
  });

  it('other formats get a clear "no estimate" answer', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(VAD));
    const core = await newCore({ nvidiaSmi: '/nonexistent/nvidia-smi' });
    await call(core, 'models.import', { path: VAD, name: 'vad' });
    const f = await call<ModelFit>(core, 'models.fit', { name: 'vad' });
    expect(f).toMatchObject({ estimator: null, verdict: { kind: 'no-estimate', reason: 'unsupported-format' } });
    expect(f.verdict.message).toMatch(/No estimate for the onnx format/);
  });
});

describe('aima gpu / aima model fit (real processes)', () => {
  let serve: ServeHandle | undefined;
  let env: Record<string, string>;
  beforeAll(async () => {
    if (!existsSync(path.join(repoRoot, 'out/cli/aima.mjs'))) return;
    env = { AIMA_HOME: tempHome('aima-hw-cli-'), AIMA_NVIDIA_SMI: fake, AIMA_NVIDIA_SMI_FIXTURE: busy };
    serve = await startServe(env);
  });
  afterAll(async () => {
    await serve?.stop();
  });

  it('aima gpu --json and the table', async () => {
    expect(serve, 'run `npm run build` first').toBeTruthy();
    const j = await runAima(['gpu', '--json'], env);
    expect(j.code, j.stderr).toBe(0);
    const r = JSON.parse(j.stdout) as HardwareReport;
    expect(r.gpus[0]).toMatchObject({ name: 'NVIDIA H100 80GB HBM3', memoryUsedMiB: 30448, memoryTotalMiB: 81559 });
    expect(r.attribution[0]!.foreign.map((p) => p.pid)).toEqual([41235, 41388, 39001, 40777]);

    const t = await runAima(['gpu'], env);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toMatch(/0\s+NVIDIA H100 80GB HBM3\s+30448 \/ 81559 MiB \(37%\)\s+87%\s+61 °C\s+403 \/ 700 W/);
    expect(t.stdout).toMatch(/foreign\s+39001\s+9614 MiB\s+\/usr\/bin\/python3/);
    expect(t.stdout).toMatch(/^RAM\s+/m);
    expect(t.stdout).toMatch(/^Docker\s+/m);
  });

  it('aima gpu --watch --json streams samples at ~1 Hz and stops on Ctrl+C', async () => {
    expect(serve, 'run `npm run build` first').toBeTruthy();
    const child = spawn(process.execPath, [aimaBin, 'gpu', '--watch', '--json'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const lines = () => out.split('\n').filter((l) => l.startsWith('{'));
    await until('3 samples', () => lines().length >= 3, 20_000);
    const samples = lines().map((l) => JSON.parse(l) as Sample);
    expect(samples[0]!.type).toBe('sample');
    expect(samples[0]!.gpus[0]!.memoryUsedMiB).toBe(30448);
    expect(nvidiaChildren(serve!.child.pid)).not.toEqual([]); // the core's stream child
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    // Ctrl+C closed the lease: the core stops sampling at once, not after the lease would lapse.
    await until('the core stops nvidia-smi', () => nvidiaChildren(serve!.child.pid).length === 0, 4_000);
  });

  it('aima model fit NAME [--ctx] [--gpu] [--json]', async (ctx) => {
    expect(serve, 'run `npm run build` first').toBeTruthy();
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    expect((await runAima(['model', 'import', GGUF, '--name', 'stories'], env)).code).toBe(0);
    const j = await runAima(['model', 'fit', 'stories', '--json', '--ctx', '256'], env);
    expect(j.code, j.stderr).toBe(0);
    expect(JSON.parse(j.stdout)).toMatchObject({ verdict: { kind: 'fits', device: 'gpu' }, numbers: { contextSize: 256 } });
    const t = await runAima(['model', 'fit', 'stories', '--gpu', '0'], env);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toMatch(/Verdict: FITS \(GPU\) \[fits-in-vram\]/);
    expect(t.stdout).toMatch(/weights\s+1\.1 MiB/);
    const bad = await runAima(['model', 'fit', 'stories', '--gpu', '5'], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/GPU 5 does not exist/);
    const badCtx = await runAima(['model', 'fit', 'stories', '--ctx', 'lots'], env);
    expect(badCtx.code).toBe(1);
    expect(badCtx.stderr).toMatch(/--ctx must be a whole number/);
  });
});
