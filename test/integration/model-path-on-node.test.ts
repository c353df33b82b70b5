/**
 * Where a service's model is on the node(s) it runs on, through the core: a service on another
 * node with a library model and no --model-path-on-node is refused before that node is contacted
 * (node "b" is a registry entry whose engine never answers), nothing is stored and no engine entry
 * is written; a service across two nodes (both the local daemon, as in span-runtime.test.ts) with a
 * path mounts that path in every member, and the path is shown and kept across a core restart.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { NodeFacts } from '../../src/core/nodes/node-facts.js';
import { createCore, type Core } from '../../src/core/core.js';
import { createDockerClient } from '../../src/core/runtimes/docker/platform.js';
import { openDatabase } from '../../src/core/store/database.js';
import { NodesRepo } from '../../src/core/store/repositories/nodes-repo.js';
import type { AimaError } from '../../src/shared/errors.js';
import { tempHome } from '../support/cli.js';
import { busyboxStaticAvailable, buildRayStandInImage, docker, spanTestEngineJson } from '../support/docker-images.js';
import { dockerAvailable, repoRoot, requireAll, requirePart, sharedModel } from '../support/system.js';

const GGUF = sharedModel('stories260K/stories260K.gguf');
const haveDocker = dockerAvailable();
const haveBusybox = busyboxStaticAvailable();

const spanEngineJson = spanTestEngineJson('test-span-gguf', { required: true, formats: ['gguf'] });

const nodeFacts = (name: string): NodeFacts => ({
  name,
  reachable: true,
  error: null,
  arch: 'x64',
  dockerVersion: null,
  cpus: 2,
  memoryBytes: null,
  nvidiaRuntime: true,
  gpus: [{ index: 0, name: 'stand-in', memoryTotalMiB: 1024, memoryUsedMiB: 0 }],
});

const members = (serviceId: string) => docker(['ps', '-aq', '--filter', `label=aima.span=${serviceId}`]).split('\n').filter(Boolean);

describe('--model-path-on-node through the core', () => {
  const cores: Core[] = [];
  afterEach(async () => {
    for (const c of cores.splice(0)) await c.close({ stopServices: true }).catch(() => {});
  });
  beforeAll(() => {
    if (haveDocker && haveBusybox) buildRayStandInImage(readFileSync(path.join(repoRoot, 'test', 'fixtures', 'ray', 'status-verbose-source.txt'), 'utf8'));
  }, 120_000);

  it('a service on another node with a model and no path there is refused before the node is contacted; nothing is stored or written', async () => {
    const home = tempHome('aima-mpath-');
    // Node "b" as the registry keeps it; its engine (SSH to port 1) never answers, so any contact would fail differently.
    const db = openDatabase(path.join(home, 'aima.db'));
    new NodesRepo(db).insert({ name: 'b', dockerUrl: 'ssh://me@127.0.0.1:1', transport: 'ssh', tlsCa: null, tlsCert: null, sshKnownHosts: null });
    db.close();
    const c = await createCore({ dataDir: home, host: 'serve', nodes: { heartbeatMs: 3_600_000 } });
    cores.push(c);
    await c.api['models.import']({ path: GGUF, name: 'stories' });
    const refused = (p: Parameters<Core['api']['services.create']>[0]) => c.api['services.create'](p).then(() => null, (e: AimaError) => `${e.message} | ${e.fix}`);

    expect(await refused({ name: 'far', engine: 'llama-cpp', model: 'stories', node: 'b' })).toBe(
      'Node "b" cannot read this machine\'s model files (model "stories" is in this machine\'s library), and AIMA does not copy weights between machines. | Give --model-path-on-node PATH: where the model\'s files already are on node "b" (a file or a folder, as the engine loads the model; for a service across nodes, the same path on every node).',
    );
    // A custom image's engine entry is written only after this check.
    expect(await refused({ name: 'far', engine: 'custom-image', image: 'ghcr.io/me/server:1', model: 'stories', node: 'b' })).toMatch(/^Node "b" cannot read this machine's model files/);
    expect(await refused({ name: 'near', engine: 'llama-cpp', model: 'stories', modelPathOnNode: '/srv/models/stories.gguf' })).toMatch(
      /^--model-path-on-node is for a service on another node: on "local" the service reads the library's files of model "stories"\. \| Leave out --model-path-on-node/,
    );
    expect(await c.api['services.list']({})).toEqual([]);
    const engines = path.join(home, 'engines');
    expect(existsSync(engines) ? readdirSync(engines) : []).toEqual([]);
  });

  it('a service across nodes with a path: every member mounts it, the summary shows it, and it is kept across a core restart', async (ctx) => {
    requirePart(ctx, 'docker', haveDocker);
    if (!haveBusybox) {
      if (requireAll) throw new Error('busybox-static is missing: apt-get install -y busybox-static');
      return ctx.skip('missing system part "busybox-static": apt-get install -y busybox-static');
    }
    const home = tempHome('aima-mpath-span-');
    mkdirSync(path.join(home, 'engines'), { recursive: true });
    writeFileSync(path.join(home, 'engines', 'test-span-gguf.json'), JSON.stringify(spanEngineJson));
    const client = createDockerClient();
    const spanNodes = { facts: (n: string) => (['a', 'b'].includes(n) ? nodeFacts(n) : null), clusterLink: () => ({ address: '127.0.0.1', interface: 'lo' }), docker: () => client };
    const open = () => createCore({ dataDir: home, host: 'serve', serviceTiming: { stopGraceMs: 1000 }, spanNodes });
    const c = await open();
    cores.push(c);
    await c.api['models.import']({ path: GGUF, name: 'stories' });
    const refused = await c.api['services.create']({ name: 'big', engine: 'test-span-gguf', model: 'stories', device: 'cpu', nodes: ['a', 'b'] }).then(
      () => null,
      (e: AimaError) => e.message,
    );
    expect(refused).toMatch(/^Node "a" cannot read this machine's model files/);
    expect(await c.api['services.list']({})).toEqual([]);

    // The folder stands for where the model already is on every node (both nodes are this machine's daemon here).
    const onNode = mkdtempSync(path.join(os.tmpdir(), 'aima-mpath-model-'));
    const created = await c.api['services.create']({ name: 'big', engine: 'test-span-gguf', model: 'stories', device: 'cpu', nodes: ['a', 'b'], modelPathOnNode: onNode });
    expect(created).toMatchObject({ model: 'stories', modelPathOnNode: onNode, span: { nodes: ['a', 'b'] } });
    await c.api['services.start']({ name: 'big', wait: true, timeoutMs: 30_000 });
    const infos = members(created.id).map((id) => JSON.parse(docker(['inspect', id]))[0] as { Mounts: { Source: string; Destination: string; RW: boolean }[] });
    expect(infos).toHaveLength(2);
    for (const info of infos) expect(info.Mounts).toEqual([expect.objectContaining({ Source: onNode, Destination: '/models/model', RW: false })]);
    await c.api['services.stop']({ name: 'big' });
    expect(members(created.id)).toEqual([]);
    await c.close({ stopServices: true });
    cores.splice(0);

    const again = await open();
    cores.push(again);
    expect((await again.api['services.get']({ name: 'big' })).modelPathOnNode).toBe(onNode);
  }, 90_000);
});
