import { describe, expect, it } from 'vitest';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { canRun, loadCatalog, type HostFacts } from '../../src/core/engines/catalog.js';
import { EngineEntry } from '../../src/core/engines/catalog-schema.js';
import { planNative } from '../../src/core/runtimes/native/plan.js';
import type { PlanInput } from '../../src/core/runtimes/types.js';
import { repoRoot } from '../support/system.js';

const builtin = path.join(repoRoot, 'resources', 'engines');
const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'aima-cat-'));

function host(over: Partial<HostFacts> = {}): HostFacts {
  const workers = tmp();
  for (const w of ['llm', 'asr', 'tts']) writeFileSync(path.join(workers, `${w}.mjs`), '');
  return { node: '/usr/bin/node', workersDir: workers, searchPath: '', env: {}, platform: 'linux', gpuCount: 0, ...over };
}

describe('engine catalog', () => {
  it('the built-in entries validate', () => {
    const cat = loadCatalog({ builtin, user: path.join(tmp(), 'none') });
    expect(cat.problems).toEqual([]);
    expect([...cat.items.keys()].sort()).toEqual(['aima-asr', 'aima-llm', 'aima-tts', 'custom-image', 'kokoro', 'llama-cpp', 'llama-server', 'sglang', 'speaches', 'vllm']);
  });

  it('a user entry replaces a built-in by id; a bad file is a problem, not a crash', () => {
    const user = tmp();
    const llm = JSON.parse(JSON.stringify(loadCatalog({ builtin, user: '/nonexistent' }).items.get('aima-llm')!.entry));
    writeFileSync(path.join(user, 'aima-llm.json'), JSON.stringify({ ...llm, name: 'Mine' }));
    writeFileSync(path.join(user, 'typo.json'), JSON.stringify({ ...llm, id: 'typo', command: ['{{node}}', '--port', '{{prot}}'] }));
    writeFileSync(path.join(user, 'broken.json'), '{ nope');
    const cat = loadCatalog({ builtin, user });
    expect(cat.items.get('aima-llm')).toMatchObject({ source: 'user', entry: { name: 'Mine' } });
    expect(cat.items.has('typo')).toBe(false);
    expect(cat.problems.map((p) => path.basename(p.file)).sort()).toEqual(['broken.json', 'typo.json']);
    expect(cat.problems.find((p) => p.file.endsWith('typo.json'))!.message).toMatch(/unknown placeholder \{\{prot\}\}/);
  });

  it('canRun answers with a closed reason', () => {
    const cat = loadCatalog({ builtin, user: '/nonexistent' });
    const entry = (id: string) => cat.items.get(id)!.entry;
    expect(canRun(entry('aima-llm'), host())).toMatchObject({ ok: true, binary: '/usr/bin/node' });
    expect(canRun(entry('aima-llm'), host({ workersDir: '/nonexistent' }))).toMatchObject({ ok: false, reason: 'worker-not-built' });
    expect(canRun(entry('llama-server'), host())).toMatchObject({ ok: false, reason: 'binary-missing', detail: expect.stringMatching(/llama-server not found on PATH.*AIMA_LLAMA_SERVER/) });
    const bin = tmp();
    writeFileSync(path.join(bin, 'llama-server'), '#!/bin/sh\n');
    chmodSync(path.join(bin, 'llama-server'), 0o755);
    expect(canRun(entry('llama-server'), host({ searchPath: bin }))).toEqual({ ok: true, binary: path.join(bin, 'llama-server') });
    expect(canRun(entry('llama-server'), host({ env: { AIMA_LLAMA_SERVER: '/nope/llama-server' } }))).toMatchObject({ ok: false, reason: 'binary-missing' });
    expect(canRun(entry('vllm'), host())).toMatchObject({ ok: false, reason: 'no-gpu' });
    expect(canRun(entry('vllm'), host({ gpuCount: 1 }))).toMatchObject({ ok: true });
    expect(canRun(entry('vllm'), host({ gpuCount: 1, docker: { usable: false, detail: 'Docker is not running' } }))).toEqual({ ok: false, reason: 'docker-unavailable', detail: 'Docker is not running' });
  });

  it('plans the exact argv and environment (no shell, options only when set)', () => {
    const cat = loadCatalog({ builtin, user: '/nonexistent' });
    const input = (over: Partial<PlanInput>): PlanInput => ({
      serviceId: 'id1', serviceName: 'chat', engine: cat.items.get('aima-llm')!.entry, binary: '/usr/bin/node',
      model: { name: 'tiny story', path: '/models/tiny story.gguf' }, device: 'cpu', gpus: [], host: '127.0.0.1', port: 8081,
      threads: null, ctxSize: 2048, concurrency: 2, node: '/usr/bin/node', dockerNode: 'local', workersDir: '/app/out/workers',
      logFile: '/d/logs/services/chat.log', pidFile: '/d/run/id1.pid', electron: false, ...over,
    });
    const cpu = planNative(input({}));
    expect(cpu.argv).toEqual([
      '/usr/bin/node', '/app/out/workers/llm.mjs', '--host', '127.0.0.1', '--port', '8081', '--model-name', 'tiny story', '--parallel', '2',
      '--model', '/models/tiny story.gguf', '--ctx-size', '2048', '--gpu', 'cpu',
    ]);
    expect(cpu.env).toEqual({});
    expect(cpu.healthUrl).toBe('http://127.0.0.1:8081/health');
    const gpu = planNative(input({ device: 'gpu', gpus: [0, 2], threads: 8, electron: true }));
    expect(gpu.argv.slice(10)).toEqual(['--model', '/models/tiny story.gguf', '--threads', '8', '--ctx-size', '2048', '--gpu', 'auto', '--gpu-layers', 'max']);
    expect(gpu.env).toEqual({ CUDA_VISIBLE_DEVICES: '0,2', ELECTRON_RUN_AS_NODE: '1' });
    // A partial offload the scheduler chose replaces the entry's default layer count.
    expect(planNative(input({ device: 'gpu', gpus: [1], gpuLayers: 17 })).argv.slice(-2)).toEqual(['--gpu-layers', '17']);
    const tts = planNative(input({ engine: cat.items.get('aima-tts')!.entry, model: null, ctxSize: null }));
    expect(tts.argv).toEqual(['/usr/bin/node', '/app/out/workers/tts.mjs', '--host', '127.0.0.1', '--port', '8081', '--model-name', 'chat', '--threads', '2']);
  });

  it('rejects unknown fields (typos) in an entry', () => {
    const r = EngineEntry.safeParse({ id: 'x', name: 'x', kind: 'llm', runtime: 'native', devices: ['cpu'], model: { formats: ['gguf'], kinds: ['llm'] }, command: ['a'], helth: {} });
    expect(r.success).toBe(false);
    mkdirSync(tmp(), { recursive: true });
  });
});
