/**
 * Placement on a recorded H100 through the whole core: nvidia-smi replayed from the busy
 * recording (test/fixtures/nvidia-smi/busy) by the fake binary, a GPU service with a real GGUF
 * model placed by the scheduler (GPU chosen, decision in its log and summary), a GPU index that
 * does not exist refused, and /metrics with the GPU's memory and utilisation and the services'
 * state and memory.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createCore } from '../../src/core/core.js';
import { readEnv } from '../../src/core/config/env.js';
import type { AimaError } from '../../src/shared/errors.js';
import { tempHome } from '../support/cli.js';
import { writeFakeEngine } from '../support/services.js';
import { repoRoot, requirePart, sharedModel } from '../support/system.js';

const GGUF = sharedModel('stories260K/stories260K.gguf');
const TOKEN = 'scheduler-gpu-token';
const fake = path.join(repoRoot, 'test/fixtures/bin/fake-nvidia-smi');
const busy = path.join(repoRoot, 'test/fixtures/nvidia-smi/busy');
const cleanups: (() => Promise<void>)[] = [];
const saved = process.env.AIMA_NVIDIA_SMI_FIXTURE;
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => {});
  if (saved === undefined) delete process.env.AIMA_NVIDIA_SMI_FIXTURE;
  else process.env.AIMA_NVIDIA_SMI_FIXTURE = saved;
});

describe('scheduler on the recorded busy H100', () => {
  it('places a GPU service on GPU 0 with the recorded free memory, refuses GPU 5, and /metrics shows the GPU and the services', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    process.env.AIMA_NVIDIA_SMI_FIXTURE = busy;
    const home = tempHome('aima-sched-gpu-');
    writeFakeEngine(home, 'fake', ['--load-ms', '50']);
    const c = await createCore({ dataDir: home, host: 'serve', token: TOKEN, env: { ...readEnv(), AIMA_NVIDIA_SMI: fake }, serviceTiming: { stopGraceMs: 2000 } });
    cleanups.push(() => c.close({ stopServices: true }));
    await c.api['models.import']({ path: GGUF, name: 'stories' });
    await c.api['services.create']({ name: 'g', engine: 'fake', model: 'stories', device: 'gpu' });
    await c.api['services.create']({ name: 'bad', engine: 'fake', model: 'stories', device: 'gpu', gpus: [5] });

    const plan = await c.api['services.plan']({ name: 'g' });
    expect(plan).toMatchObject({ kind: 'place', device: 'gpu', gpus: [0], evict: [] });
    // A chain of services that do not exist yet, placed link by link (what the voice setup shows).
    const chain = await c.api['services.planChain']({
      services: [
        { name: 'link-llm', model: 'stories', engine: 'fake', device: 'gpu' },
        { name: 'link-cpu', model: 'stories', engine: 'fake', device: 'cpu' },
        { name: 'link-gpu9', model: 'stories', engine: 'fake', device: 'gpu', gpus: [9] },
      ],
    });
    expect(chain.map((x) => [x.name, x.plan.kind, x.plan.kind === 'place' ? x.plan.device : x.plan.reason])).toEqual([
      ['link-llm', 'place', 'gpu'],
      ['link-cpu', 'place', 'cpu'],
      ['link-gpu9', 'refuse', 'no-such-gpu'],
    ]);
    expect((await c.api['services.list']({})).map((x) => x.name).sort()).toEqual(['bad', 'g']);
    const s = await c.api['services.start']({ name: 'g', wait: true, timeoutMs: 30_000 });
    expect(s.state).toBe('running');
    expect(s.placement).toMatchObject({ device: 'gpu', gpus: [0], evicted: [] });
    // 50631 MiB free in the recording.
    expect(s.placement!.decision).toMatch(/^on GPU 0 \(NVIDIA H100 80GB HBM3\): needs [\d.]+ [KM]iB, 49\.44 GiB free on GPU 0$/);
    expect((await c.api['services.logs']({ name: 'g' })).lines.join('\n')).toContain(`--- aima: placement: ${s.placement!.decision}`);

    const refused = await c.api['services.start']({ name: 'bad' }).then(() => null, (e: unknown) => e as AimaError);
    expect(refused?.message).toBe('GPU 5 does not exist on this machine.');
    expect(refused?.fix).toMatch(/Available: 0 \(NVIDIA H100 80GB HBM3\)/);
    expect((await c.api['services.get']({ name: 'bad' })).state).toBe('stopped');

    const server = http.createServer((req, res) => {
      const [p, query = ''] = req.url!.split('?');
      if (!c.routes.some((route) => route(req, res, p!, query))) res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => (server.closeAllConnections(), server.close(() => r()))));
    const text = await (await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    expect(text).toContain('aima_gpu_memory_total_bytes{gpu="0",name="NVIDIA H100 80GB HBM3"} 85520809984'); // 81559 MiB
    expect(text).toContain('aima_gpu_memory_used_bytes{gpu="0",name="NVIDIA H100 80GB HBM3"} 31927042048'); // 30448 MiB
    expect(text).toContain('aima_gpu_utilization_percent{gpu="0",name="NVIDIA H100 80GB HBM3"} 87');
    expect(text).toContain('aima_service_state{service="g",state="running"} 1');
    expect(text).toContain('aima_service_state{service="bad",state="stopped"} 1');
    expect(text).toContain('aima_service_evictions_total{service="g"} 0');
    expect(text).toContain('aima_service_restarts{service="g"} 0');
    expect(text).toMatch(/aima_service_memory_rss_bytes\{service="g"\} [1-9]\d{6,}/);
  }, 60_000);

  it('spreads a GPU service and its replica (gpus auto) over two GPUs: the replica avoids the GPU holding the same model', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    // The recorded H100 twice: a second GPU with less free memory (so room alone would put both on GPU 0) and no processes.
    const home = tempHome('aima-sched-gpu2-');
    const twoGpus = path.join(home, 'nvidia-smi-two');
    cpSync(busy, twoGpus, { recursive: true });
    const row = readFileSync(path.join(twoGpus, 'query.csv'), 'utf8').trim();
    writeFileSync(path.join(twoGpus, 'query.csv'), `${row}\n${row.replace(/^0, GPU-4af987a7/, '1, GPU-5bf987a7').replace('00000000:00:06.0', '00000000:00:07.0').replace(', 81559, 30448, 50631,', ', 81559, 41559, 40000,')}\n`);
    process.env.AIMA_NVIDIA_SMI_FIXTURE = twoGpus;
    writeFakeEngine(home, 'fake', ['--load-ms', '50']);
    const c = await createCore({ dataDir: home, host: 'serve', token: TOKEN, env: { ...readEnv(), AIMA_NVIDIA_SMI: fake }, serviceTiming: { stopGraceMs: 2000 } });
    cleanups.push(() => c.close({ stopServices: true }));
    await c.api['models.import']({ path: GGUF, name: 'stories' });
    await c.api['services.create']({ name: 'r', engine: 'fake', model: 'stories', device: 'gpu', replicas: 2 });
    expect((await c.api['services.get']({ name: 'r-2' })).gpus).toEqual([]);
    await c.api['services.start']({ name: 'r', wait: true, timeoutMs: 30_000 });
    const until = Date.now() + 30_000;
    while ((await c.api['services.get']({ name: 'r-2' })).state !== 'running' && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    const placed = (await c.api['services.list']({})).map((x) => [x.name, x.state, x.placement?.gpus]);
    expect(placed).toHaveLength(2);
    expect(placed.every(([, state]) => state === 'running'), JSON.stringify(placed)).toBe(true);
    expect(placed.map(([, , gpus]) => gpus).sort(), JSON.stringify(placed)).toEqual([[0], [1]]);
  }, 60_000);
});
