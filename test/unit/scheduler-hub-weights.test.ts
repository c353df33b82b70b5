/**
 * A service whose engine downloads a Hub id is placed with the size of the id's weights, read from
 * the hub's file tree (the local stand-in hub the download tests use; no real network): which files
 * count, the size in the placement's decision and its refusal, and a hub that cannot be reached —
 * the size is then unknown, the decision says so, and nothing is refused on a guess.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HuggingFaceHub } from '../../src/core/downloads/huggingface-hub.js';
import { cachedHubWeights, hubWeights, weightsOf } from '../../src/core/downloads/hub-weights.js';
import { ServiceActivity, VoiceUsage } from '../../src/core/scheduler/activity.js';
import { Scheduler, type SchedulerDeps } from '../../src/core/scheduler/scheduler.js';
import type { ServiceSummary } from '../../src/shared/contract/index.js';
import { FakeHub, type FakeFile } from '../support/fake-hub.js';

const KiB = 1024;
const file = (p: string, bytes: number, lfs = true): FakeFile => ({ path: p, content: Buffer.alloc(bytes, 1), lfs });
const REPO = 'aima-test/sharded';
const repos: Record<string, FakeFile[]> = {
  // Two safetensors shards count; the config, the tokenizer and another format's copy in a folder do not.
  [REPO]: [file('model-00001-of-00002.safetensors', 6 * KiB), file('model-00002-of-00002.safetensors', 2 * KiB), file('config.json', 300, false), file('tokenizer.json', 900, false), file('original/consolidated.00.pth', 20 * KiB)],
  'aima-test/pytorch': [file('pytorch_model.bin', 3 * KiB), file('config.json', 300, false)],
  'aima-test/no-weights': [file('README.md', 100, false)],
};

describe('weightsOf: the files an engine loads', () => {
  const f = (p: string, size: number) => ({ path: p, size });
  it.each([
    ['safetensors shards, not the rest', [f('a.safetensors', 10), f('b.safetensors', 5), f('config.json', 1), f('original/x.pth', 100)], { bytes: 15, files: 2, format: 'safetensors' }],
    ['PyTorch files when there are no safetensors', [f('pytorch_model-00001.bin', 7), f('pytorch_model-00002.bin', 3), f('training_args.bin', 1)], { bytes: 11, files: 3, format: 'pytorch' }],
    ['safetensors over a .bin copy', [f('model.safetensors', 4), f('pytorch_model.bin', 9)], { bytes: 4, files: 1, format: 'safetensors' }],
    ['a .pt or .pth file', [f('model.pt', 2), f('consolidated.pth', 3)], { bytes: 5, files: 2, format: 'pytorch' }],
  ] as const)('%s', (_, files, expected) => expect(weightsOf(files)).toEqual({ known: true, ...expected }));
  it('none: no weight files at the top level', () => {
    expect(weightsOf([f('README.md', 1), f('original/consolidated.pth', 100)])).toBeNull();
    expect(weightsOf([])).toBeNull();
  });
});

describe('a Hub id\'s size in placement', () => {
  let hub: FakeHub;
  let closedUrl: string;
  beforeAll(async () => {
    hub = await FakeHub.start(repos);
    // An address where nothing listens: a hub that cannot be reached.
    const s = http.createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    closedUrl = `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
    await new Promise((r) => s.close(r));
  });
  afterAll(async () => hub?.close());

  it('reads the weights from the hub\'s tree (HF_ENDPOINT\'s address), the revision asked for', async () => {
    const client = new HuggingFaceHub({ endpoint: hub.url });
    expect(await hubWeights(client, REPO, null)).toEqual({ known: true, bytes: 8 * KiB, files: 2, format: 'safetensors' });
    expect(await hubWeights(client, 'aima-test/pytorch', 'main')).toEqual({ known: true, bytes: 3 * KiB, files: 1, format: 'pytorch' });
    expect(hub.log.some((r) => r.path.startsWith(`/api/models/${REPO}/tree/main`))).toBe(true);
    expect(await hubWeights(client, 'aima-test/no-weights', null)).toEqual({ known: false, reason: 'aima-test/no-weights lists no *.safetensors or *.bin weight files on Hugging Face' });
    expect(await hubWeights(client, 'aima-test/missing', null)).toMatchObject({ known: false, reason: expect.stringContaining('not found on the Hub (404)') });
    expect(await hubWeights(new HuggingFaceHub({ endpoint: closedUrl, timeoutMs: 2000 }), REPO, null)).toMatchObject({ known: false, reason: expect.stringContaining(`${closedUrl} is unreachable`) });
  });

  it('asks the hub once per id and revision while the size is known', async () => {
    const weights = cachedHubWeights(new HuggingFaceHub({ endpoint: hub.url }));
    const asked = () => hub.log.filter((r) => r.path.startsWith('/api/models/aima-test/pytorch/tree/')).length;
    const before = asked();
    await weights('aima-test/pytorch', null);
    await weights('aima-test/pytorch', null);
    expect(asked() - before).toBe(1);
    await weights('aima-test/pytorch', 'v2'); // another revision is another question
    expect(asked() - before).toBe(2);
  });

  /** A scheduler over one stopped CPU service with a Hub id, on a host with `availableBytes` of memory. */
  function scheduler(endpoint: string, availableBytes: number) {
    const notes: string[] = [];
    const s = { name: 'hub', state: 'stopped', pid: null, model: null, hfModel: REPO, hfRevision: null, engine: 'vllm', device: 'cpu', gpus: [], ctxSize: null, concurrency: 1, node: 'local', since: new Date().toISOString() } as unknown as ServiceSummary;
    const deps: SchedulerDeps = {
      supervisor: {
        list: () => [s],
        get: () => s,
        schedulerView: () => ({ startedAt: 0, startedOnDemand: false, idleTtl: null, pinned: false, peakRss: null }),
        stopBy: async () => s,
        assignPlacement: () => {},
        setMeasured: () => {},
        note: (_: string, line: string) => notes.push(line),
        notePeakRss: () => {},
      } as unknown as SchedulerDeps['supervisor'],
      activity: new ServiceActivity(),
      voice: new VoiceUsage(),
      settings: () => ({ servicesMemoryCapMiB: null, onDemandIdleTtlSeconds: 0, antiThrashSeconds: 30 }),
      listGpus: async () => [],
      memory: () => ({ totalBytes: 64 * 1024 ** 3, availableBytes }),
      hubWeights: cachedHubWeights(new HuggingFaceHub({ endpoint, timeoutMs: 2000 })),
    };
    return { scheduler: new Scheduler(deps), notes };
  }

  it('places with the weights\' size, and says where it comes from', async () => {
    const { scheduler: sch, notes } = scheduler(hub.url, 8 * 1024 ** 3);
    const plan = await sch.plan('hub');
    expect(plan).toMatchObject({ kind: 'place', device: 'cpu', needBytes: 8 * KiB });
    expect(plan.kind === 'place' && plan.text).toBe(`on the CPU: needs 8.0 KiB of RAM (the 2 safetensors weight files of ${REPO} on the Hub; the engine's cache and runtime come on top), 8.00 GiB free within the services' memory cap`);
    await sch.place('hub');
    expect(notes.at(-1)).toContain(`placement: on the CPU: needs 8.0 KiB of RAM (the 2 safetensors weight files of ${REPO} on the Hub`);
  });

  it('refuses what does not fit, with the size and where it comes from', async () => {
    const { scheduler: sch, notes } = scheduler(hub.url, 4 * KiB);
    const plan = await sch.plan('hub');
    expect(plan).toMatchObject({ kind: 'refuse', reason: 'does-not-fit' });
    expect(plan.kind === 'refuse' && plan.message).toBe(`Service "hub" does not fit: it needs 8.0 KiB (the 2 safetensors weight files of ${REPO} on the Hub; the engine's cache and runtime come on top) on the services' memory cap (57.60 GiB), 4.0 KiB is free.`);
    await expect(sch.place('hub')).rejects.toThrow('does not fit');
    expect(notes.at(-1)).toMatch(/^placement refused: /);
  });

  it('a hub that cannot be reached: the size is unknown, the plan and the log say why, and the start is not refused on a guess', async () => {
    const { scheduler: sch, notes } = scheduler(closedUrl, 4 * KiB);
    const plan = await sch.plan('hub');
    expect(plan).toMatchObject({ kind: 'place', device: 'cpu', needBytes: null });
    expect(plan.kind === 'place' && plan.text).toMatch(new RegExp(`^on the CPU \\(the size of ${REPO} is unknown: Could not list the files of ${REPO}: ${closedUrl.replace(/\./g, '\\.')} is unreachable \\(.*\\): placed without a RAM check\\)$`));
    await sch.place('hub');
    expect(notes.at(-1)).toContain(`placement: on the CPU (the size of ${REPO} is unknown: `);
  });

  it('--ignore-fit does not ask the hub', async () => {
    const { scheduler: sch } = scheduler(hub.url, 4 * KiB);
    const before = hub.log.length;
    await sch.place('hub', { ignoreFit: true });
    expect(hub.log.length).toBe(before);
  });
});
