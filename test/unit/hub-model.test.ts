/**
 * A Hugging Face id an engine downloads itself (runtimes/docker/hub-model.ts,
 * shared/contract/hub-model.ts): the id and revision checks as a table, every refusal of
 * --hf-model with its message and fix, the token only when one is set, and the gateway's routing
 * of a service by its id.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/core/engines/catalog.js';
import { checkHubModel, hubEnv, type HubModelCheck } from '../../src/core/runtimes/docker/hub-model.js';
import { huggingFaceToken } from '../../src/core/downloads/hf-token.js';
import { createModelDirectory } from '../../src/core/gateway/routes-directory.js';
import { ServiceCreateParams, ServiceSummary, ServiceUpdateParams } from '../../src/shared/contract/services.js';
import { AimaError } from '../../src/shared/errors.js';
import { repoRoot } from '../support/system.js';

const catalog = loadCatalog({ builtin: path.join(repoRoot, 'resources', 'engines'), user: '/nonexistent' });
const engine = (id: string) => catalog.items.get(id)!.entry;

const issues = (params: Record<string, unknown>) => {
  const r = ServiceCreateParams.safeParse({ name: 'q', engine: 'vllm', ...params });
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('the contract\'s hfModel: owner/name as the Hub checks it', () => {
  const table: [string, string, string | null][] = [
    ['an organisation\'s model', 'Qwen/Qwen2.5-0.5B-Instruct', null],
    ['digits, "_", "-" and "."', 'meta-llama/Llama-3.3-70B-Instruct', null],
    ['a part of 96 characters', `org/${'a'.repeat(96)}`, null],
    ['one character each', 'a/b', null],
    ['no owner', 'gpt2', 'hfModel "gpt2" is "owner/name" on the Hub (one "/"), e.g. "Qwen/Qwen2.5-0.5B-Instruct"'],
    ['two slashes', 'org/name/extra', 'hfModel "org/name/extra" is "owner/name" on the Hub (one "/"), e.g. "Qwen/Qwen2.5-0.5B-Instruct"'],
    ['an empty owner', '/name', 'hfModel "/name" has an empty owner'],
    ['an empty name', 'org/', 'hfModel "org/" has an empty name'],
    ['a name of 97 characters', `org/${'a'.repeat(97)}`, `hfModel "org/${'a'.repeat(97)}" has a name longer than 96 characters`],
    ['an owner of 97 characters', `${'a'.repeat(97)}/m`, `hfModel "${'a'.repeat(97)}/m" has an owner longer than 96 characters`],
    ['a leading "-" (an engine flag)', '-org/name', 'hfModel "-org/name" has an owner that is not letters, digits, "-", "_" and "." starting and ending with a letter, digit or "_"'],
    ['a name ending in "."', 'org/name.', 'hfModel "org/name." has a name that is not letters, digits, "-", "_" and "." starting and ending with a letter, digit or "_"'],
    ['a space', 'org/my model', 'hfModel "org/my model" has a name that is not letters, digits, "-", "_" and "." starting and ending with a letter, digit or "_"'],
    ['".."', 'org/a..b', 'hfModel "org/a..b" contains "--" or ".."'],
    ['"--"', 'org/a--b', 'hfModel "org/a--b" contains "--" or ".."'],
    ['".git" at the end', 'org/model.git', 'hfModel "org/model.git" ends in ".git"'],
  ];
  for (const [what, id, problem] of table) {
    it(`${problem ? 'refuses' : 'takes'} ${what}`, () => expect(issues({ hfModel: id })).toEqual(problem ? [`hfModel: ${problem}`] : []));
  }
});

describe('the contract\'s hfRevision: a branch, tag or commit', () => {
  const hf = { hfModel: 'org/model' };
  const chars = 'is letters, digits, ".", "_", "-" and "/" (no spaces), e.g. "main", "v1.0", "refs/pr/3" or a commit hash';
  const table: [string, string, string | null][] = [
    ['a branch', 'main', null],
    ['a tag', 'v1.0', null],
    ['a pull request ref', 'refs/pr/3', null],
    ['a commit', '0123456789abcdef0123456789abcdef01234567', null],
    ['a space', 'my branch', `hfRevision "my branch" ${chars}`],
    ['a leading "-" (an engine flag)', '--help', 'hfRevision "--help" starts with "-" or "/", or ends with "/" or ".lock"'],
    ['a trailing "/"', 'refs/', 'hfRevision "refs/" starts with "-" or "/", or ends with "/" or ".lock"'],
    ['".."', 'a..b', 'hfRevision "a..b" contains ".." or "//"'],
    ['empty', '', 'hfRevision "" is 1 to 255 characters'],
    ['256 characters', 'a'.repeat(256), `hfRevision "${'a'.repeat(256)}" is 1 to 255 characters`],
  ];
  for (const [what, rev, problem] of table) {
    it(`${problem ? 'refuses' : 'takes'} ${what}`, () => expect(issues({ ...hf, hfRevision: rev })).toEqual(problem ? [`hfRevision: ${problem}`] : []));
  }

  it('services.update takes null to clear, and checks a new id or revision the same way', () => {
    expect(ServiceUpdateParams.safeParse({ name: 'q', hfModel: null, hfRevision: null, modelPathOnNode: null }).success).toBe(true);
    expect(ServiceUpdateParams.safeParse({ name: 'q', hfModel: 'gpt2' }).success).toBe(false);
    expect(ServiceUpdateParams.safeParse({ name: 'q', hfRevision: 'a b' }).success).toBe(false);
  });
});

describe('refusals of --hf-model, each naming the problem and the fix', () => {
  const base: HubModelCheck = { engine: engine('vllm'), hfModel: 'Qwen/Qwen2.5-0.5B-Instruct', hfRevision: null, model: null, modelPathOnNode: null };
  const outcome = (over: Partial<HubModelCheck>): string => {
    try {
      const hub = checkHubModel({ ...base, ...over });
      return hub ? `hub ${hub.args.join(' ')}` : 'no hub';
    } catch (err) {
      expect(err).toBeInstanceOf(AimaError);
      const e = err as AimaError;
      return `${e.code}: ${e.message} | ${e.fix}`;
    }
  };

  it('takes vllm and sglang, whose entries declare how they take an id', () => {
    expect(outcome({})).toBe('hub --model {{hf_model}}');
    expect(outcome({ engine: engine('sglang') })).toBe('hub --model-path {{hf_model}}');
    expect(outcome({ hfModel: null })).toBe('no hub');
  });

  it('together with --model', () => {
    expect(outcome({ model: 'qwen' })).toBe(
      'bad-request: --hf-model Qwen/Qwen2.5-0.5B-Instruct and --model qwen both name the service\'s model: the engine downloads the Hub id, or reads the library\'s files. | Leave out --model to serve Qwen/Qwen2.5-0.5B-Instruct, or leave out --hf-model to serve the library\'s "qwen".',
    );
  });

  it('together with --model-path-on-node', () => {
    expect(outcome({ modelPathOnNode: '/srv/models/qwen' })).toBe(
      'bad-request: --hf-model Qwen/Qwen2.5-0.5B-Instruct and --model-path-on-node /srv/models/qwen both say where the model comes from: the engine downloads the Hub id, or reads the files at that path. | Give one of them.',
    );
  });

  it('a native engine', () => {
    expect(outcome({ engine: engine('aima-llm') })).toBe(
      'bad-request: Engine "aima-llm" runs as a process on this machine; --hf-model is for Docker engines that download the model themselves. | Use --engine vllm or --engine sglang, or download the model into the library (`aima model pull ORG/NAME`) and give --model NAME.',
    );
  });

  it('a Docker engine whose entry cannot download from the Hub', () => {
    expect(outcome({ engine: engine('llama-cpp') })).toBe(
      'bad-request: Engine "llama-cpp" cannot download a Hugging Face model itself: its catalog entry has no "hub" declaration. | Use an engine whose entry has one (vllm, sglang; see `aima engine list`), or download the model into the library (`aima model pull ORG/NAME`) and give --model NAME.',
    );
  });

  it('a revision without an id', () => {
    expect(outcome({ hfModel: null, hfRevision: 'main' })).toBe('bad-request: --hf-revision main names a revision of a Hugging Face model, but no --hf-model was given. | Add --hf-model ORG/NAME, or leave out --hf-revision.');
  });
});

describe('the token', () => {
  const store = (value: string | null) => ({ kind: 'file' as const, get: () => value, set: () => {}, delete: () => {} });
  const vllmHub = (engine('vllm') as Extract<ReturnType<typeof engine>, { runtime: 'docker' }>).hub!;

  it('HF_TOKEN first, then the secret store, else none (an empty HF_TOKEN is none)', () => {
    expect(huggingFaceToken({ HF_TOKEN: 'hf_env' }, store('hf_stored'))).toBe('hf_env');
    expect(huggingFaceToken({}, store('hf_stored'))).toBe('hf_stored');
    expect(huggingFaceToken({ HF_TOKEN: '' }, store(null))).toBeNull();
    expect(huggingFaceToken({}, undefined)).toBeNull();
  });

  it('goes into the engine\'s variable only when there is one', () => {
    expect(hubEnv(vllmHub, 'hf_x')).toEqual({ HF_TOKEN: 'hf_x' });
    expect(hubEnv(vllmHub, null)).toEqual({});
    expect(hubEnv(vllmHub, '')).toEqual({});
  });
});

describe('the gateway routes a Hub-id service by its id', () => {
  const summary = (over: Partial<ServiceSummary>): ServiceSummary =>
    ServiceSummary.parse({ id: over.name, name: 'q', model: null, engine: 'vllm', kind: 'llm', device: 'gpu', gpus: [], port: 18000, configuredPort: 0, url: 'http://127.0.0.1:18000', state: 'running', reason: null, pid: null, desiredState: 'running', restartPolicy: 'on-failure', threads: null, ctxSize: null, concurrency: 4, restarts: 0, lastLogLine: null, since: '', logFile: '', createdAt: '', ...over });
  const directory = (services: ServiceSummary[]) => createModelDirectory({ services: () => services, remotes: () => [], remoteKey: () => null, startService: async () => services[0]! });

  it('by the id (sent upstream as the served name), by the service name as an alias; its replicas are one model', () => {
    const qwen = { hfModel: 'Qwen/Qwen2.5-0.5B-Instruct', servedHfModel: 'Qwen/Qwen2.5-0.5B-Instruct' };
    const d = directory([summary({ name: 'q', ...qwen }), summary({ name: 'q-2', ...qwen, replicaOf: 'q' })]);
    const m = d.resolve('Qwen/Qwen2.5-0.5B-Instruct')!;
    expect(m).toMatchObject({ id: 'Qwen/Qwen2.5-0.5B-Instruct', upstreamModel: 'Qwen/Qwen2.5-0.5B-Instruct', aliases: ['q', 'q-2'] });
    expect(m.replicas).toHaveLength(2);
    expect(d.resolve('q')?.id).toBe('Qwen/Qwen2.5-0.5B-Instruct');
    // A service with neither a library model nor an id is still routed by its name.
    expect(directory([summary({ name: 'plain' })]).resolve('plain')).toMatchObject({ id: 'plain', upstreamModel: 'plain' });
  });

  it('by the id its engine serves: after an update stored a new id, the old one routes until the restart and the new one only after', () => {
    const updated = { name: 'q', hfModel: 'org/new' };
    // The engine runs, started with org/old: requests for org/old reach it, as org/old upstream; org/new does not route.
    const running = directory([summary({ ...updated, servedHfModel: 'org/old' })]);
    expect(running.resolve('org/old')).toMatchObject({ id: 'org/old', upstreamModel: 'org/old', aliases: ['q'] });
    expect(running.resolve('org/new')).toBeNull();
    expect(running.resolve('q')?.upstreamModel).toBe('org/old');
    // Restarted (or stopped: a request would start it with the new id): the new id routes, the old one no longer.
    for (const state of ['running', 'stopped'] as const) {
      const after = directory([summary({ ...updated, servedHfModel: 'org/new', state })]);
      expect(after.resolve('org/new')).toMatchObject({ id: 'org/new', upstreamModel: 'org/new' });
      expect(after.resolve('org/old')).toBeNull();
    }
    // A replica still on the old engine and its restarted primary are two models until it restarts too.
    const mixed = directory([summary({ ...updated, servedHfModel: 'org/new' }), summary({ name: 'q-2', hfModel: 'org/new', servedHfModel: 'org/old', replicaOf: 'q' })]);
    expect(mixed.resolve('org/new')?.replicas?.map((r) => r.owner)).toEqual([{ type: 'service', service: 'q' }]);
    expect(mixed.resolve('org/old')?.replicas?.map((r) => r.owner)).toEqual([{ type: 'service', service: 'q-2' }]);
  });
});
