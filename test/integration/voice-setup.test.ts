/**
 * The voice chain set up through `voice.plan` / `voice.setup` on a real `aima serve`, by the CLI
 * and by the API, on a machine whose GPU someone else has filled (fake-nvidia-smi replaying the
 * synthesized test/fixtures/nvidia-smi/full recording): the plan names each link's device and
 * memory, the total against what is free and the process holding the GPU; the LLM asked on the
 * GPU is refused with the CPU as the way out and nothing is created; bad choices are clear errors
 * that change nothing; the chain set up on the CPU is started by voice.setup with real workers.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceSummary, VoiceConfig, VoicePlan, VoiceSetupResult } from '../../src/shared/contract/index.js';
import { runAima, startServe, tempHome, type ServeHandle } from '../support/cli.js';
import { repoRoot, requirePart, sharedModel } from '../support/system.js';
import { haveFlite, haveWhisper, whisperModel } from '../support/speech.js';

const GGUF = sharedModel('stories260K/stories260K.gguf');
const have = () => existsSync(GGUF) && haveWhisper && haveFlite;
const env = (home: string) => ({
  AIMA_HOME: home,
  AIMA_NVIDIA_SMI: path.join(repoRoot, 'test/fixtures/bin/fake-nvidia-smi'),
  AIMA_NVIDIA_SMI_FIXTURE: path.join(repoRoot, 'test/fixtures/nvidia-smi/full'),
});
let serve: ServeHandle | undefined;
let home = '';
const aima = (args: string[], timeoutMs = 180_000) => runAima(args, env(home), timeoutMs);

async function call<T>(name: string, params: unknown): Promise<{ status: number; result: T; error?: { code: string; message: string; fix?: string } }> {
  const res = await fetch(`${serve!.url}/api/call/${name}`, { method: 'POST', headers: { authorization: `Bearer ${serve!.token}`, 'content-type': 'application/json' }, body: JSON.stringify(params) });
  const body = (await res.json()) as { result: T; error?: { code: string; message: string; fix?: string } };
  return { status: res.status, ...body };
}
const services = async () => (await call<ServiceSummary[]>('services.list', {})).result;
const config = async () => (await call<VoiceConfig>('voice.config.get', {})).result;

beforeAll(async () => {
  if (!have()) return;
  home = tempHome('aima-voice-setup-');
  serve = await startServe(env(home));
}, 60_000);
afterAll(async () => {
  await serve?.stop();
});

describe('voice setup with the budget (GPU filled by another process)', () => {
  it('refuses the LLM on the full GPU: the plan is printed first, the CPU is proposed, the holder named, nothing created', async (ctx) => {
    requirePart(ctx, 'shared-models', have());
    const r = await aima(['voice', 'setup', '--asr-model', whisperModel, '--llm-model', GGUF, '--llm-device', 'gpu']);
    expect(r.code).not.toBe(0);
    // The plan: three links with device and memory, the total against what is free, the verdict.
    expect(r.stderr).toMatch(/ASR {2}.*— new service voice-asr on aima-asr, cpu: [\d.]+ MiB RAM \(estimated\)/);
    expect(r.stderr).toMatch(/LLM {2}.*— new service voice-llm on aima-llm, gpu: [\d.]+ (KiB|MiB) GPU \+ 96\.0 MiB RAM \(estimated\)/);
    expect(r.stderr).toMatch(/TTS {2}voice-tts — new service voice-tts on aima-tts, cpu: 96\.0 MiB RAM/);
    expect(r.stderr).toMatch(/Total to start: .* GPU \+ .* RAM; free: GPU 0 \(NVIDIA H100 80GB HBM3\) 0\.0 KiB usable of 300\.0 MiB free/);
    expect(r.stderr).toMatch(/Does not fit: The voice stack needs .* but NVIDIA H100 80GB HBM3 has 0\.0 KiB usable/);
    expect(r.stderr).toMatch(/Holding the GPU: \/usr\/bin\/python3 \(pid 39001, 78\.42 GiB on GPU 0\)/);
    // The refusal names what to do.
    expect(r.stderr).toMatch(/The voice chain does not fit/);
    expect(r.stderr).toMatch(/Run the LLM \(.*\) on the CPU/);
    expect(r.stderr).toMatch(/--force/);
    expect(await services()).toEqual([]);
    expect((await call<unknown[]>('models.list', {})).result).toEqual([]);
    expect(await config()).toMatchObject({ asr: null, llm: null, tts: null });
  }, 120_000);

  it('bad choices are clear errors and change nothing', async (ctx) => {
    requirePart(ctx, 'shared-models', have());
    expect((await aima(['model', 'import', whisperModel, '--kind', 'asr'])).code).toBe(0);
    const wrongKind = await aima(['voice', 'setup', '--llm', (await call<{ name: string }[]>('models.list', {})).result[0]!.name]);
    expect(wrongKind.code).not.toBe(0);
    expect(wrongKind.stderr).toMatch(/is a model of kind asr; the LLM link needs one of kind llm/);
    const missing = await aima(['voice', 'setup', '--llm', 'no-such-model']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/No model or service named "no-such-model" for the LLM/);
    const badDevice = await aima(['voice', 'setup', '--llm-device', 'tpu']);
    expect(badDevice.code).not.toBe(0);
    expect(badDevice.stderr).toMatch(/--llm-device takes auto, cpu or gpu; got "tpu"/);
    // Through the API: the same refusal, with its code.
    const api = await call('voice.setup', { llm: 'no-such-model' });
    expect(api.status).toBe(404);
    expect(api.error).toMatchObject({ code: 'not-found', message: expect.stringContaining('no-such-model') });
    const unknownField = await call('voice.plan', { llmDevices: 'cpu' });
    expect(unknownField.status).toBe(400);
    expect(await services()).toEqual([]);
    expect(await config()).toMatchObject({ asr: null, llm: null, tts: null });
  }, 120_000);

  it('auto places the LLM on the CPU; voice.setup creates and starts the chain', async (ctx) => {
    requirePart(ctx, 'shared-models', have());
    const planned = await call<VoicePlan>('voice.plan', { llmModelPath: GGUF });
    expect(planned.status).toBe(200);
    const plan = planned.result;
    expect(plan.links.map((l) => [l.role, l.via, l.device])).toEqual([
      ['asr', 'new-service', 'cpu'],
      ['llm', 'new-service', 'cpu'],
      ['tts', 'new-service', 'cpu'],
    ]);
    expect(plan.links[1]!.note).toMatch(/on the CPU: NVIDIA H100 80GB HBM3 has 0\.0 KiB usable/);
    expect(plan.verdict.kind).toBe('fits');
    expect(plan.total.ramBytes).toBe(plan.links.reduce((s, l) => s + l.ramBytes, 0));
    expect(plan.holders).toEqual([{ gpu: 0, pid: 39001, name: '/usr/bin/python3', service: null, usedBytes: 80299 * 1024 * 1024 }]);
    // The CLI sets it up (without starting), printing the same plan.
    const r = await aima(['voice', 'setup', '--llm-model', GGUF, '--max-tokens', '40', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/Fits: The voice chain fits/);
    expect((await services()).map((s) => [s.name, s.device, s.state]).sort()).toEqual([
      ['voice-asr', 'cpu', 'stopped'],
      ['voice-llm', 'cpu', 'stopped'],
      ['voice-tts', 'cpu', 'stopped'],
    ]);
    // The API starts them: real workers, each running at the end.
    const started = await call<VoiceSetupResult>('voice.setup', { start: true, operationId: 'voice-setup-test' });
    expect(started.status, JSON.stringify(started.error)).toBe(200);
    expect(started.result.created).toEqual([]);
    expect(started.result.started.sort()).toEqual(['voice-asr', 'voice-llm', 'voice-tts']);
    expect((await services()).map((s) => s.state)).toEqual(['running', 'running', 'running']);
    // Running links are measured now, and not counted again.
    const again = (await call<VoicePlan>('voice.plan', {})).result;
    expect(again.links.map((l) => [l.via, l.counted])).toEqual([
      ['service', false],
      ['service', false],
      ['service', false],
    ]);
    expect(again.links.every((l) => l.memory === 'measured' && l.ramBytes > 0)).toBe(true);
    expect(again.total).toEqual({ gpuBytes: 0, ramBytes: 0 });
  }, 240_000);

  it('a cancelled setup stops the start in flight and answers cancelled', async (ctx) => {
    requirePart(ctx, 'shared-models', have());
    for (const name of ['voice-asr', 'voice-llm', 'voice-tts']) expect((await call('services.stop', { name })).status).toBe(200);
    const operationId = 'voice-setup-cancel';
    const setup = call<VoiceSetupResult>('voice.setup', { start: true, operationId });
    // The operation exists once the plan is made: ask until the cancel lands.
    let cancelled = false;
    for (let i = 0; i < 200 && !cancelled; i++) {
      cancelled = (await call<{ cancelled: boolean }>('operations.cancel', { id: operationId })).result.cancelled;
      if (!cancelled) await new Promise((r) => setTimeout(r, 25));
    }
    expect(cancelled).toBe(true);
    const r = await setup;
    expect(r.status).toBe(499);
    expect(r.error).toMatchObject({ code: 'cancelled' });
    // Nothing is left starting: the one in flight was stopped (the chain itself stays set).
    await expect.poll(async () => (await services()).filter((s) => s.state !== 'stopped' && s.state !== 'running').map((s) => s.name), { timeout: 30_000 }).toEqual([]);
    expect(await config()).toMatchObject({ asr: expect.any(String), llm: expect.any(String), tts: 'voice-tts' });
  }, 120_000);
});

describe('voice setup --force', () => {
  it('sets up a plan that does not fit when forced: the LLM service on the GPU the budget judged, nothing started', async (ctx) => {
    requirePart(ctx, 'shared-models', have());
    const forcedHome = tempHome('aima-voice-force-');
    const forced = await startServe(env(forcedHome));
    try {
      const r = await runAima(['voice', 'setup', '--asr-model', whisperModel, '--llm-model', GGUF, '--llm-device', 'gpu', '--force', '--json'], env(forcedHome), 180_000);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/Does not fit/);
      const list = JSON.parse((await runAima(['service', 'list', '--json'], env(forcedHome))).stdout) as ServiceSummary[];
      expect(list.map((s) => [s.name, s.device, s.gpus, s.state]).sort()).toEqual([
        ['voice-asr', 'cpu', [], 'stopped'],
        ['voice-llm', 'gpu', [0], 'stopped'],
        ['voice-tts', 'cpu', [], 'stopped'],
      ]);
    } finally {
      await forced.stop();
    }
  }, 120_000);
});
