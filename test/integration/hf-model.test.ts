/**
 * A service whose engine downloads a Hugging Face id, on the real Docker daemon through `aima
 * serve` and the CLI. A test engine entry with `hub` (the shipped vLLM entry's shape) runs a small
 * Node engine (test/fixtures/engines/hub-engine.mjs) that takes `--model ID --revision REV` and
 * "downloads" by writing a marker into the Hub cache. Checked: the CLI's refusals (a library model
 * with it, a path on the node with it, a native engine, a Docker entry without `hub`, an invalid id)
 * store nothing; the container has the id arguments, the `aima-hf-cache` volume at the cache path
 * and no HF_TOKEN while none is set, and HF_TOKEN once `aima model hf-token set` stored one (never
 * in the service's log); a restart finds the earlier download in the volume; the gateway routes a
 * request for the id to it; `service list` shows where the model comes from; `service update` keeps
 * create's rules, and a new id stored while the engine runs routes only once the service is
 * restarted with it (the old id until then).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import OpenAI from 'openai';
import { createHttpClient, transportToApi } from '../../src/lib/client/http-client.js';
import type { CoreApi, ServiceSummary } from '../../src/shared/contract/index.js';
import { aimaBin, runAima, startServe, tempHome, type ServeHandle } from '../support/cli.js';
import { aimaContainers, buildHubEngineImage, busyboxStaticAvailable, docker, HUB_ENGINE_IMAGE } from '../support/docker-images.js';
import { dockerAvailable, requirePart } from '../support/system.js';
import { FakeHub } from '../support/fake-hub.js';

const haveDocker = dockerAvailable();
const haveBusybox = busyboxStaticAvailable();

const hubEngineJson = {
  id: 'test-hub',
  name: 'Test engine that downloads a Hub id (stands in for vLLM)',
  kind: 'llm',
  runtime: 'docker',
  devices: ['cpu'],
  model: { required: true, formats: ['safetensors'], kinds: ['llm'] },
  images: [{ image: HUB_ENGINE_IMAGE }],
  modelMountPath: '/models/model',
  containerPort: 8000,
  args: ['--served-model-name', '{{model_name}}', '--host', '{{host}}', '--port', '{{port}}'],
  optionArgs: { model_path: ['--model', '{{model_path}}'] },
  hub: { args: ['--model', '{{hf_model}}'], revisionArgs: ['--revision', '{{hf_revision}}'], cachePath: '/root/.cache/huggingface', tokenEnv: 'HF_TOKEN' },
  health: { path: '/health', status: 200 },
  resources: { memory: '256m' },
  defaults: { stopGraceMs: 1000 },
};

interface Inspected {
  Config: { Cmd: string[]; Env: string[] };
  Mounts: { Type: string; Name?: string; Destination: string; RW: boolean }[];
}

describe('--hf-model: the engine downloads a Hugging Face id on its node', () => {
  // A new id per run: the cache volume outlives the test, and the first start must not find it.
  const id = `aima-test/tiny-${randomBytes(4).toString('hex')}`;
  const home = tempHome('aima-hf-model-');
  // HF_TOKEN empty: no token until the test stores one. HF_ENDPOINT: the local stand-in hub the
  // placement asks for the id's size (set once it listens).
  const env = { AIMA_HOME: home, HF_TOKEN: '', HF_ENDPOINT: '' };
  let hub: FakeHub | undefined;
  let serve: ServeHandle | undefined;
  let client: ReturnType<typeof createHttpClient> | undefined;
  let api: CoreApi;

  beforeAll(async () => {
    if (!haveDocker || !haveBusybox) return;
    buildHubEngineImage();
    hub = await FakeHub.start({ [id]: [{ path: 'model.safetensors', content: Buffer.alloc(4096, 1), lfs: true }, { path: 'config.json', content: Buffer.from('{}'), lfs: false }] });
    env.HF_ENDPOINT = hub.url;
    mkdirSync(path.join(home, 'engines'), { recursive: true });
    writeFileSync(path.join(home, 'engines', 'test-hub.json'), JSON.stringify(hubEngineJson));
    serve = await startServe(env, [], 60_000);
    client = createHttpClient({ url: serve.url, token: serve.token });
    api = transportToApi(client);
  }, 180_000);
  afterAll(async () => {
    if (serve) {
      await api['services.remove']({ name: 'hub' }).catch(() => {});
      await serve.stop();
    }
    client?.close();
    await hub?.close();
    rmSync(home, { recursive: true, force: true });
  }, 60_000);

  const need = (ctx: { skip: (note?: string) => void }) => {
    requirePart(ctx, 'docker', haveDocker);
    if (!haveBusybox) ctx.skip('missing system part "busybox-static": apt-get install -y busybox-static');
  };
  const refused = async (args: string[]) => {
    const r = await runAima(['service', 'create', 'hub', ...args], env);
    expect(r.code).not.toBe(0);
    return r.stderr.trim();
  };
  const inspect = (name: string): Inspected => {
    const [container] = aimaContainers(name);
    expect(container).toBeDefined();
    return (JSON.parse(docker(['inspect', container!])) as Inspected[])[0]!;
  };

  it('refuses, naming the problem and the fix, and stores nothing: with --model, with --model-path-on-node, a native engine, an entry without "hub", an invalid id', async (ctx) => {
    need(ctx);
    expect(await refused(['--engine', 'test-hub', '--hf-model', id, '--model', 'qwen'])).toContain(`--hf-model ${id} and --model qwen both name the service's model`);
    expect(await refused(['--engine', 'test-hub', '--hf-model', id, '--model-path-on-node', '/srv/models/qwen'])).toContain('Give one of them.');
    expect(await refused(['--engine', 'aima-llm', '--hf-model', id])).toContain('Engine "aima-llm" runs as a process on this machine; --hf-model is for Docker engines');
    expect(await refused(['--engine', 'llama-cpp', '--hf-model', id])).toContain('Engine "llama-cpp" cannot download a Hugging Face model itself: its catalog entry has no "hub" declaration.');
    expect(await refused(['--engine', 'test-hub', '--hf-model', 'gpt2'])).toContain('hfModel "gpt2" is "owner/name" on the Hub');
    expect(await refused(['--engine', 'test-hub', '--hf-model', id, '--hf-revision', '--help'])).toContain('hfRevision "--help"');
    expect(await api['services.list']({})).toEqual([]);
  }, 60_000);

  it('runs the id with the cache volume, no token until one is stored, then the token (never in the log); a restart finds the download; the gateway routes the id', async (ctx) => {
    need(ctx);
    const created = await runAima(['service', 'create', 'hub', '--engine', 'test-hub', '--hf-model', id, '--hf-revision', 'main', '--json'], env);
    expect(created.code, created.stderr).toBe(0);
    const service = JSON.parse(created.stdout) as ServiceSummary;
    expect(service).toMatchObject({ model: null, hfModel: id, hfRevision: 'main', modelPathOnNode: null });
    const list = await runAima(['service', 'list'], env);
    expect(list.stdout).toMatch(new RegExp(`^hub\\s+stopped\\s+-\\s+auto\\s+test-hub\\s+hf:${id}@main\\s+cpu`, 'm'));

    await api['services.start']({ name: 'hub', wait: true, timeoutMs: 30_000 });
    let info = inspect(service.id);
    expect(info.Config.Cmd).toEqual(['--model', id, '--revision', 'main', '--served-model-name', id, '--host', '0.0.0.0', '--port', '8000']);
    expect(info.Mounts).toEqual([expect.objectContaining({ Type: 'volume', Name: 'aima-hf-cache', Destination: '/root/.cache/huggingface', RW: true })]);
    expect(info.Config.Env.filter((e) => e.startsWith('HF_TOKEN'))).toEqual([]);
    // The placement knew the id's size from the hub HF_ENDPOINT names.
    expect((await api['services.get']({ name: 'hub' })).placement?.decision).toContain(`needs 4.0 KiB of RAM (the 1 safetensors weight file of ${id} on the Hub`);

    // The gateway routes the id (what clients send as the model) to the service.
    const openai = new OpenAI({ baseURL: `${serve!.url}/v1`, apiKey: serve!.token, maxRetries: 0 });
    const ask = async () => JSON.parse((await openai.chat.completions.create({ model: id, messages: [{ role: 'user', content: 'hi' }] })).choices[0]!.message.content!) as Record<string, unknown>;
    expect(await ask()).toEqual({ asked: id, model: id, revision: 'main', token: 'unset', cached: false });

    // A token stored with the CLI goes into the container's environment at the next start.
    const token = `hf_test_${randomBytes(8).toString('hex')}`;
    const set = spawnSync(process.execPath, [aimaBin, 'model', 'hf-token', 'set'], { env: { ...process.env, ...env }, input: token, encoding: 'utf8' });
    expect(set.status, set.stderr).toBe(0);
    await api['services.restart']({ name: 'hub', wait: true, timeoutMs: 30_000 });
    info = inspect(service.id);
    expect(info.Config.Env).toContain(`HF_TOKEN=${token}`);
    // The restarted engine found its download in the node's volume.
    expect(await ask()).toEqual({ asked: id, model: id, revision: 'main', token: 'set', cached: true });
    expect(readFileSync(service.logFile, 'utf8')).not.toContain(token);
    expect(readFileSync(service.logFile, 'utf8')).toContain(`hub-engine: ${id}@main found in the cache`);
    await api['services.stop']({ name: 'hub' });
  }, 90_000);

  it('an update of the id while the engine runs: the old id routes to it until the restart, the new one only after; the CLI says so', async (ctx) => {
    need(ctx);
    await api['services.start']({ name: 'hub', wait: true, timeoutMs: 30_000 });
    const other = `aima-test/other-${randomBytes(4).toString('hex')}`;
    const updated = await runAima(['service', 'update', 'hub', '--hf-model', other], env);
    expect(updated.code, updated.stderr).toBe(0);
    expect(updated.stdout).toContain(`hub: idle TTL`);
    expect(updated.stdout).toContain(`model hf:${other}\nIts engine keeps serving "${id}" (and requests for it) until it is restarted: \`aima service restart hub\`; requests for "${other}" reach it only after that.`);
    expect((await runAima(['service', 'list'], env)).stdout).toContain(`hf:${other} (serving ${id} until restarted)`);
    expect(await api['services.get']({ name: 'hub' })).toMatchObject({ state: 'running', hfModel: other, servedHfModel: id });

    const openai = new OpenAI({ baseURL: `${serve!.url}/v1`, apiKey: serve!.token, maxRetries: 0 });
    const ask = async (model: string) => JSON.parse((await openai.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] })).choices[0]!.message.content!) as Record<string, unknown>;
    expect(await ask(id)).toMatchObject({ asked: id, model: id });
    expect(await ask('hub')).toMatchObject({ asked: id, model: id });
    await expect(ask(other)).rejects.toMatchObject({ status: 404 });

    await api['services.restart']({ name: 'hub', wait: true, timeoutMs: 30_000 });
    const restarted = await api['services.get']({ name: 'hub' });
    expect(restarted).toMatchObject({ state: 'running', hfModel: other, servedHfModel: other });
    // The stand-in hub does not have the new id: its size is unknown, and the start was not refused for it.
    expect(restarted.placement?.decision).toContain(`the size of ${other} is unknown: Could not list the files of ${other}: not found on the Hub (404)`);
    expect(await ask(other)).toMatchObject({ asked: other, model: other });
    await expect(ask(id)).rejects.toMatchObject({ status: 404 });
    await api['services.stop']({ name: 'hub' });
  }, 90_000);

  it('service update keeps create\'s rules for where the model comes from', async (ctx) => {
    need(ctx);
    const update = (args: string[]) => runAima(['service', 'update', 'hub', ...args], env);
    // Without the id the engine has no model; a path on `local` is refused as at create.
    expect((await update(['--hf-model', 'none'])).stderr).toContain('Engine "test-hub" needs a model.');
    expect((await update(['--model-path-on-node', '/srv/models/x'])).stderr).toContain('both say where the model comes from');
    const changed = await update(['--hf-model', 'aima-test/other', '--json']);
    expect(changed.code, changed.stderr).toBe(0);
    // A new id drops the old id's revision.
    expect(JSON.parse(changed.stdout)).toMatchObject({ hfModel: 'aima-test/other', hfRevision: null });
    // The plain answer says where the model now comes from (only when the update changed it).
    const plain = await update(['--hf-revision', 'v1']);
    expect(plain.stdout).toMatch(/^hub: idle TTL .*, model hf:aima-test\/other@v1\n$/);
    expect((await update(['--no-pinned'])).stdout).toMatch(/^hub: idle TTL [^,]*, not pinned\n$/);
  }, 60_000);
});
