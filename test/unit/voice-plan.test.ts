/**
 * The voice chain's plan, pure: which model or service serves each link (choices, the current
 * config, services, remotes, the library) and its budget (device, memory, the total against what
 * is free, the verdict, alternatives, who holds the GPU). Bad choices are errors naming the fix.
 */
import { describe, expect, it } from 'vitest';
import type { ModelSummary, ServiceSummary, VoicePlanParams } from '../../src/shared/contract/index.js';
import { resolveVoiceLinks, type ChainFacts } from '../../src/core/voice/setup/resolve-links.js';
import { planVoiceBudget, type BudgetFacts, type LinkMemory } from '../../src/core/voice/setup/budget.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

function model(name: string, kind: ModelSummary['kind'], format: ModelSummary['format'], sizeBytes = 100 * MiB): ModelSummary {
  return { id: name, name, kind, kindReason: '', format, path: `/m/${name}`, rootPath: `/m/${name}`, sourcePath: `/src/${name}`, storage: 'link', sizeBytes, createdAt: '', missing: [], warnings: [], metadata: {} };
}

function service(name: string, kind: ServiceSummary['kind'], modelName: string | null, state: ServiceSummary['state'] = 'stopped', device: ServiceSummary['device'] = 'cpu'): ServiceSummary {
  return {
    id: name,
    name,
    model: modelName,
    engine: `aima-${kind}`,
    kind,
    device,
    gpus: [],
    port: null,
    configuredPort: 0,
    url: null,
    state,
    reason: null,
    pid: state === 'running' ? 1234 : null,
    desiredState: state === 'running' ? 'running' : 'stopped',
    restartPolicy: 'on-failure',
    threads: null,
    ctxSize: null,
    concurrency: 1,
    restarts: 0,
    lastLogLine: null,
    since: '',
    logFile: '',
    createdAt: '',
    idleTtl: null,
    pinned: false,
    placement: null,
    evictions: 0,
    replicaOf: null,
    node: 'local',
    span: null,
    modelPathOnNode: null,
    hfModel: null,
    hfRevision: null,
    servedHfModel: null,
  };
}

const whisper = model('whisper', 'asr', 'onnx', 40 * MiB);
const stories = model('stories', 'llm', 'gguf', 1 * MiB);
const qwen = model('qwen-7b', 'llm', 'gguf', 5 * GiB);
const hfLlm = model('hf-llm', 'llm', 'safetensors');
const vad = model('silero', 'vad', 'onnx');

function facts(over: Partial<ChainFacts> = {}): ChainFacts {
  return {
    current: { asr: null, llm: null, tts: null },
    models: [whisper, stories],
    services: [],
    remoteModels: [],
    engines: {
      asr: { id: 'aima-asr', formats: ['onnx', 'sherpa-onnx'], devices: ['cpu'], modelRequired: true },
      llm: { id: 'aima-llm', formats: ['gguf'], devices: ['cpu', 'gpu'], modelRequired: true },
      tts: { id: 'aima-tts', formats: ['sherpa-onnx'], devices: ['cpu'], modelRequired: false },
    },
    ...over,
  };
}

const brief = (f: ChainFacts, p: VoicePlanParams = {}) => resolveVoiceLinks(p, f).map((l) => [l.role, l.via, l.name, l.service]);

describe('resolveVoiceLinks', () => {
  it.each<[string, VoicePlanParams, Partial<ChainFacts>, (string | null)[][]]>([
    [
      'an empty machine with library models: a new embedded service per link, flite needs no model',
      {},
      {},
      [
        ['asr', 'new-service', 'whisper', 'voice-asr'],
        ['llm', 'new-service', 'stories', 'voice-llm'],
        ['tts', 'new-service', 'voice-tts', 'voice-tts'],
      ],
    ],
    [
      'the current choice that still routes is kept; nothing is created',
      {},
      { current: { asr: 'whisper', llm: 'stories', tts: 'voice-tts' }, services: [service('voice-asr', 'asr', 'whisper'), service('voice-llm', 'llm', 'stories'), service('voice-tts', 'tts', null)] },
      [
        ['asr', 'service', 'whisper', 'voice-asr'],
        ['llm', 'service', 'stories', 'voice-llm'],
        ['tts', 'service', 'voice-tts', 'voice-tts'],
      ],
    ],
    [
      'a running service of the kind comes before a stopped one; a remote model by name; a taken service name gets a suffix',
      { llm: 'gpt-remote' },
      { services: [service('voice-tts', 'asr', 'old-asr'), service('asr-b', 'asr', 'whisper', 'running')], remoteModels: ['gpt-remote'] },
      [
        ['asr', 'service', 'whisper', 'asr-b'],
        ['llm', 'remote', 'gpt-remote', null],
        ['tts', 'new-service', 'voice-tts-2', 'voice-tts-2'],
      ],
    ],
    [
      'a library model chosen by name gets its own service even when another LLM service exists',
      { llm: 'stories' },
      { models: [whisper, stories, qwen], services: [service('chat', 'llm', 'qwen-7b', 'running')] },
      [
        ['asr', 'new-service', 'whisper', 'voice-asr'],
        ['llm', 'new-service', 'stories', 'voice-llm'],
        ['tts', 'new-service', 'voice-tts', 'voice-tts'],
      ],
    ],
  ])('%s', (_name, params, over, expected) => {
    expect(brief(facts(over), params)).toEqual(expected);
  });

  it('a file to import that is already in the library is that model; one that is not is imported', () => {
    const links = resolveVoiceLinks({ llmModelPath: '/src/stories', asrModelPath: '/new/whisper.onnx' }, facts());
    expect(links[1]).toMatchObject({ via: 'new-service', name: 'stories', importPath: null });
    expect(links[0]).toMatchObject({ via: 'new-service', model: null, importPath: '/new/whisper.onnx', service: 'voice-asr' });
  });

  it.each<[string, VoicePlanParams, Partial<ChainFacts>, RegExp, RegExp]>([
    ['a missing model name', { llm: 'nope' }, {}, /No model or service named "nope" for the LLM/, /LLM models in the library: stories/],
    ['a model of the wrong kind', { llm: 'whisper' }, {}, /"whisper" is a model of kind asr; the LLM link needs one of kind llm/, /Choose an LLM model/],
    ['a VAD model for the ASR', { asr: 'silero' }, { models: [whisper, stories, vad] }, /"silero" is a model of kind vad/, /ASR model/],
    ['a format the embedded engine does not take', { llm: 'hf-llm' }, { models: [whisper, hfLlm] }, /safetensors format; the embedded LLM engine \(aima-llm\) takes gguf/, /name a service/],
    ['a service of another kind', { asr: 'chat' }, { services: [service('chat', 'llm', 'qwen-7b')] }, /served by the llm service "chat", not by an ASR service/, /ASR model or service/],
    ['a name and a file for one link', { llm: 'stories', llmModelPath: '/x.gguf' }, {}, /Both a model name \("stories"\) and a file to import were given for the LLM/, /Give one/],
    ['no ASR anywhere', {}, { models: [stories] }, /No ASR model or service found/, /Whisper ONNX/],
    ['a device for an LLM that is an existing service', { llmDevice: 'gpu' }, { services: [service('chat', 'llm', 'stories')] }, /llmDevice "gpu" applies to a new LLM service, but the LLM link is the existing service "chat"/, /library model/],
    ['a context for a remote LLM', { llm: 'gpt-remote', llmContext: 2048 }, { remoteModels: ['gpt-remote'] }, /llmContext 2048 applies to a new LLM service, but the LLM link is the remote model/, /Leave out the context/],
  ])('refuses %s, naming the fix', (_name, params, over, message, fix) => {
    let err: { message: string; fix?: string } | undefined;
    try {
      resolveVoiceLinks(params, facts(over));
    } catch (e) {
      err = e as { message: string; fix?: string };
    }
    expect(err?.message).toMatch(message);
    expect(err?.fix).toMatch(fix);
  });
});

const onCpu = (ramBytes: number): LinkMemory => ({ cpu: { ramBytes }, gpu: null, contextSize: null, smallerContext: null, estimated: true });
const llmMem = (bytes: number, smallerContext: number | null = null): LinkMemory => ({
  cpu: { ramBytes: bytes + 96 * MiB },
  gpu: { gpuBytes: bytes, ramBytes: 96 * MiB },
  contextSize: 4096,
  smallerContext,
  estimated: true,
});
const H100 = { index: 0, name: 'NVIDIA H100 80GB HBM3', memoryTotalMiB: 81559, memoryFreeMiB: 81079 };
const H100_FULL = { ...H100, memoryFreeMiB: 2048 };

function budgetFacts(over: Partial<BudgetFacts> = {}): BudgetFacts {
  return {
    gpus: [H100],
    ram: { totalBytes: 64 * GiB, availableBytes: 32 * GiB },
    holders: [],
    memory: { asr: onCpu(156 * MiB), llm: llmMem(5 * GiB, 1024), tts: onCpu(96 * MiB) },
    llmDevice: 'auto',
    ...over,
  };
}

describe('planVoiceBudget', () => {
  const fresh = resolveVoiceLinks({ llm: 'qwen-7b' }, facts({ models: [whisper, qwen] }));

  it.each<[string, Partial<BudgetFacts>, { devices: string[]; verdict: string; resource?: string; largest?: string; alternatives: string[] }]>([
    ['auto puts the LLM on a GPU where the chain fits', {}, { devices: ['cpu', 'gpu', 'cpu'], verdict: 'fits', alternatives: [] }],
    ['auto keeps the LLM on the CPU when the GPU is short', { gpus: [H100_FULL] }, { devices: ['cpu', 'cpu', 'cpu'], verdict: 'fits', alternatives: [] }],
    ['no GPU: everything on the CPU', { gpus: [] }, { devices: ['cpu', 'cpu', 'cpu'], verdict: 'fits', alternatives: [] }],
    [
      'the GPU chosen but short: refused, with the CPU, a smaller context and the AIMA service holding it as ways out',
      { gpus: [H100_FULL], llmDevice: 'gpu', holders: [{ gpu: 0, pid: 41235, name: 'chat-7b', service: 'chat-7b', usedBytes: 11 * GiB }, { gpu: 0, pid: 39001, name: '/usr/bin/python3', service: null, usedBytes: 9 * GiB }] },
      { devices: ['cpu', 'gpu', 'cpu'], verdict: 'does-not-fit', resource: 'gpu', largest: 'llm', alternatives: ['llm-on-cpu', 'smaller-context', 'stop-service'] },
    ],
    ['the GPU chosen on a machine without one', { gpus: [], llmDevice: 'gpu' }, { devices: ['cpu', 'gpu', 'cpu'], verdict: 'does-not-fit', resource: 'gpu', largest: 'llm', alternatives: ['llm-on-cpu', 'smaller-context'] }],
    ['too little RAM for the chain on the CPU', { gpus: [], ram: { totalBytes: 8 * GiB, availableBytes: 3 * GiB } }, { devices: ['cpu', 'cpu', 'cpu'], verdict: 'does-not-fit', resource: 'ram', largest: 'llm', alternatives: ['smaller-context'] }],
  ])('%s', (_name, over, want) => {
    const plan = planVoiceBudget(fresh, budgetFacts(over));
    expect(plan.links.map((l) => l.device)).toEqual(want.devices);
    expect(plan.verdict.kind).toBe(want.verdict);
    if (plan.verdict.kind === 'does-not-fit') expect(plan.verdict).toMatchObject({ resource: want.resource, largest: want.largest });
    expect(plan.alternatives.map((a) => a.kind)).toEqual(want.alternatives);
    expect(plan.creates).toEqual(['voice-asr', 'voice-llm', 'voice-tts']);
    // The total is the sum of the links still to start.
    expect(plan.total.gpuBytes).toBe(plan.links.reduce((s, l) => s + l.gpuBytes, 0));
    expect(plan.total.ramBytes).toBe(plan.links.reduce((s, l) => s + l.ramBytes, 0));
  });

  it('names the numbers: the GPU part against the usable memory, and the alternative choices', () => {
    const plan = planVoiceBudget(fresh, budgetFacts({ gpus: [H100_FULL], llmDevice: 'gpu' }));
    expect(plan.gpu).toEqual({ index: 0, name: H100.name, totalBytes: 81559 * MiB, freeBytes: 2048 * MiB, budgetBytes: (2048 - 512) * MiB });
    expect(plan.verdict.message).toMatch(/needs 5\.00 GiB but NVIDIA H100 80GB HBM3 has 1\.50 GiB usable: 3\.50 GiB over; the llm \(qwen-7b\) is the largest part/);
    expect(plan.alternatives[0]).toMatchObject({ choices: { llmDevice: 'cpu' } });
    expect(plan.alternatives[1]).toMatchObject({ choices: { llmContext: 1024 } });
  });

  it('a running link is measured and not counted again; a remote takes nothing', () => {
    const links = resolveVoiceLinks({ llm: 'gpt-remote' }, facts({ services: [service('voice-asr', 'asr', 'whisper', 'running')], remoteModels: ['gpt-remote'] }));
    const asr: LinkMemory = { ...onCpu(156 * MiB), measured: { gpuBytes: 0, ramBytes: 210 * MiB } };
    const plan = planVoiceBudget(links, budgetFacts({ memory: { asr, llm: llmMem(0), tts: onCpu(96 * MiB) } }));
    expect(plan.links.map((l) => [l.role, l.device, l.memory, l.counted, l.ramBytes])).toEqual([
      ['asr', 'cpu', 'measured', false, 210 * MiB],
      ['llm', 'remote', 'none', false, 0],
      ['tts', 'cpu', 'estimated', true, 96 * MiB],
    ]);
    expect(plan.total).toEqual({ gpuBytes: 0, ramBytes: 96 * MiB });
    expect(plan.creates).toEqual(['voice-tts']);
  });
});
