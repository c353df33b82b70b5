/**
 * Plans of one model across nodes, as snapshots like the single-node Docker plans: the Ray head
 * and workers of vLLM (same image per node architecture, host network, the node's NCCL/Gloo
 * interface, `ray status -v` as the readiness check, the engine run in the head with
 * `--distributed-executor-backend ray`), SGLang's own launcher (`--nnodes`, `--node-rank`,
 * `--dist-init-addr`), on x64 nodes and on arm64 (GB10) nodes. Then every refusal, each before
 * anything exists on any node, and the readiness parser on `ray status` output the Ray project
 * published (test/fixtures/ray). Ray itself cannot be obtained here.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/core/engines/catalog.js';
import type { EngineEntry } from '../../src/core/engines/catalog-schema.js';
import type { NodeFacts } from '../../src/core/nodes/node-facts.js';
import { planSpan, type SpanPlanInput } from '../../src/core/cluster/span-plan.js';
import { parseRayStatus, rayReadiness } from '../../src/core/cluster/ray-status.js';
import type { NodeClusterLink } from '../../src/core/cluster/span.js';
import type { NodeTransport } from '../../src/core/nodes/reach/remote-reach.js';
import type { PlanInput } from '../../src/core/runtimes/types.js';
import { AimaError } from '../../src/shared/errors.js';
import { repoRoot } from '../support/system.js';

const catalog = loadCatalog({ builtin: path.join(repoRoot, 'resources', 'engines'), user: '/nonexistent' });
const engine = (id: string) => catalog.items.get(id)!.entry;
const INSTALL = '0a1b2c3d-0000-4000-8000-00000000aaaa';

function node(name: string, arch: NodeFacts['arch'], gpus: number, over: Partial<NodeFacts> = {}): NodeFacts {
  return {
    name,
    reachable: true,
    error: null,
    arch,
    dockerVersion: '28.5.1',
    cpus: 20,
    memoryBytes: 128 * 1024 ** 3,
    nvidiaRuntime: true,
    gpus: Array.from({ length: gpus }, (_, index) => ({ index, name: arch === 'arm64' ? 'NVIDIA GB10' : 'NVIDIA H100 80GB HBM3', memoryTotalMiB: arch === 'arm64' ? 122_000 : 81_559, memoryUsedMiB: 0 })),
    ...over,
  };
}

const sparks = new Map([
  ['spark1', node('spark1', 'arm64', 1)],
  ['spark2', node('spark2', 'arm64', 1)],
]);
const boxes = new Map([
  ['box1', node('box1', 'x64', 2)],
  ['box2', node('box2', 'x64', 2)],
]);
const links: Record<string, NodeClusterLink> = {
  spark1: { address: '192.168.100.10', interface: 'enP2p1s0f1np1' },
  spark2: { address: '192.168.100.11', interface: 'enP2p1s0f1np1' },
  box1: { address: '10.0.0.1', interface: null },
  box2: { address: '10.0.0.2', interface: null },
  local: { address: '10.0.0.9', interface: 'eth1' },
};

function service(e: EngineEntry): PlanInput {
  return {
    serviceId: '6f1c2d3e-0000-4000-8000-000000000001',
    serviceName: 'big',
    dockerNode: 'local',
    engine: e,
    binary: 'docker',
    model: { name: 'llama-70b', path: '/data/models/llama-70b' },
    device: 'gpu',
    gpus: [],
    host: '127.0.0.1',
    port: 18000,
    threads: null,
    ctxSize: 8192,
    concurrency: 4,
    node: '/usr/bin/node',
    workersDir: '/app/out/workers',
    logFile: '/data/logs/services/big.log',
    pidFile: '/data/run/6f1c2d3e.pid',
    electron: false,
  };
}

function input(engineId: string, nodes: Map<string, NodeFacts>, over: Partial<SpanPlanInput> = {}): SpanPlanInput {
  const names = [...nodes.keys()];
  return {
    service: service(engine(engineId)),
    span: { nodes: names, tensorParallel: names.length, pipelineParallel: 1 },
    nodeFacts: (n) => nodes.get(n) ?? null,
    clusterLink: (n) => links[n] ?? null,
    modelOnNodes: { kind: 'path', path: '/srv/models/llama-70b' },
    install: { env: {} },
    installId: INSTALL,
    ...over,
  };
}

describe('plans of one model across nodes', () => {
  for (const [label, nodes] of [['two arm64 (GB10) nodes', sparks], ['two x64 nodes', boxes]] as const) {
    for (const id of ['vllm', 'sglang']) {
      it(`${id} on ${label}`, () => {
        const plan = planSpan(input(id, nodes));
        expect(plan.members.map((m) => m.role)).toEqual(['head', 'worker']);
        for (const m of plan.members) for (const mount of m.mounts) expect(mount.readOnly).toBe(true);
        expect(plan).toMatchSnapshot();
      });
    }
  }

  it('vLLM: Ray head on the first node, a worker joining it on the others, then the engine in the head with the Ray backend', () => {
    const plan = planSpan(input('vllm', sparks, { span: { nodes: ['spark1', 'spark2'], tensorParallel: 1, pipelineParallel: 2 } }));
    const [head, worker] = plan.members;
    expect(head!.entrypoint).toEqual(['ray', 'start', '--block', '--head', '--port=6379', '--node-ip-address=192.168.100.10', '--disable-usage-stats']);
    expect(worker!.entrypoint).toEqual(['ray', 'start', '--block', '--address=192.168.100.10:6379', '--node-ip-address=192.168.100.11', '--disable-usage-stats']);
    expect(head!.images).toEqual(worker!.images);
    expect(head!.images).toEqual(['nvcr.io/nvidia/vllm:25.09-py3']);
    expect(worker!.env).toMatchObject({ NCCL_SOCKET_IFNAME: 'enP2p1s0f1np1', GLOO_SOCKET_IFNAME: 'enP2p1s0f1np1', VLLM_HOST_IP: '192.168.100.11' });
    expect(plan.readiness).toEqual({ command: ['ray', 'status', '-v'], expectGpus: [1, 1] });
    const exec = plan.engineExec!.join(' ');
    expect(exec).toContain('--distributed-executor-backend ray --tensor-parallel-size 1 --pipeline-parallel-size 2');
    // The engine listens on the head's loopback, not on every interface of the host network.
    expect(exec).toContain('--host 127.0.0.1 --port 18000');
    expect(exec).toContain('--model /models/model');
  });

  it('SGLang: its own launcher on every node, rank 0 first, no Ray', () => {
    const plan = planSpan(input('sglang', boxes, { span: { nodes: ['box1', 'box2'], tensorParallel: 4, pipelineParallel: 1 } }));
    expect(plan.readiness).toBeNull();
    expect(plan.engineExec).toBeNull();
    expect(plan.members.map((m) => m.cmd.slice(-10).join(' '))).toEqual([
      '--tp 4 --pp-size 1 --nnodes 2 --node-rank 0 --dist-init-addr 10.0.0.1:20000',
      '--tp 4 --pp-size 1 --nnodes 2 --node-rank 1 --dist-init-addr 10.0.0.1:20000',
    ]);
    expect(plan.members[0]!.env).not.toHaveProperty('NCCL_SOCKET_IFNAME'); // no interface set for these nodes
  });

  describe('cluster addresses joined with a port', () => {
    const v6: Record<string, NodeClusterLink> = { box1: { address: 'fd00::1', interface: null }, box2: { address: 'fd00::2', interface: null } };
    const v4: Record<string, NodeClusterLink> = { box1: { address: '10.0.0.1', interface: null }, box2: { address: '10.0.0.2', interface: null } };
    const named: Record<string, NodeClusterLink> = { box1: { address: 'spark-1.lan', interface: null }, box2: { address: 'spark-2.lan', interface: null } };
    const cases = [
      // [links, Ray worker's --address, SGLang's --dist-init-addr, the head's own --node-ip-address]
      ['IPv4', v4, '--address=10.0.0.1:6379', '10.0.0.1:20000', '--node-ip-address=10.0.0.1'],
      ['IPv6 (in brackets before a port, bare where alone)', v6, '--address=[fd00::1]:6379', '[fd00::1]:20000', '--node-ip-address=fd00::1'],
      ['host name', named, '--address=spark-1.lan:6379', 'spark-1.lan:20000', '--node-ip-address=spark-1.lan'],
    ] as const;
    for (const [label, table, rayAddress, distAddress, headIp] of cases) {
      it(label, () => {
        const over = { clusterLink: (n: string) => table[n] ?? null };
        const ray = planSpan(input('vllm', boxes, over));
        expect(ray.members[1]!.entrypoint).toContain(rayAddress);
        expect(ray.members[0]!.entrypoint).toContain(headIp);
        // VLLM_HOST_IP is an address alone: never bracketed.
        expect(ray.members[1]!.env.VLLM_HOST_IP).toBe(table.box2!.address);
        const sglang = planSpan(input('sglang', boxes, over));
        for (const m of sglang.members) expect(m.cmd.slice(m.cmd.indexOf('--dist-init-addr'), m.cmd.indexOf('--dist-init-addr') + 2)).toEqual(['--dist-init-addr', distAddress]);
      });
    }
  });

  describe('a Hugging Face id the engine downloads on each node', () => {
    const hub = (id: string, over: { revision?: string | null; token?: string | null } = {}): Partial<SpanPlanInput> => ({
      modelOnNodes: { kind: 'hf', id: 'meta-llama/Llama-3.3-70B-Instruct', revision: over.revision ?? null },
      service: { ...service(engine(id)), model: null, hubToken: over.token ?? null },
    });

    it('vLLM with Ray on two nodes: no model mount, the cache volume on every member, the id (and revision) in the engine, the token in every member', () => {
      const plan = planSpan(input('vllm', boxes, hub('vllm', { revision: 'main', token: 'hf_test_token' })));
      for (const m of plan.members) {
        expect(m.mounts).toEqual([{ volume: 'aima-hf-cache', target: '/root/.cache/huggingface', readOnly: false }]);
        expect(m.env.HF_TOKEN).toBe('hf_test_token');
      }
      const exec = plan.engineExec!.join(' ');
      expect(exec).toContain('--model meta-llama/Llama-3.3-70B-Instruct --revision main --served-model-name meta-llama/Llama-3.3-70B-Instruct');
      expect(exec).not.toContain('/models/model');
      expect(plan).toMatchSnapshot();
    });

    it('SGLang on two nodes: --model-path ID in every rank, no revision args without a revision, no token without one', () => {
      const plan = planSpan(input('sglang', boxes, hub('sglang')));
      for (const m of plan.members) {
        expect(m.cmd.slice(0, 4)).toEqual(['--model-path', 'meta-llama/Llama-3.3-70B-Instruct', '--served-model-name', 'meta-llama/Llama-3.3-70B-Instruct']);
        expect(m.cmd).not.toContain('--revision');
        expect(m.env).not.toHaveProperty('HF_TOKEN');
        expect(m.mounts).toEqual([{ volume: 'aima-hf-cache', target: '/root/.cache/huggingface', readOnly: false }]);
      }
      expect(plan).toMatchSnapshot();
    });
  });
});

describe('how the engine on the head is reached (the head node\'s transport decides)', () => {
  const transports: Record<string, NodeTransport> = { box1: 'ssh', box2: 'tcp-tls' };
  const over = (head: string): Partial<SpanPlanInput> => ({ span: { nodes: [head, head === 'box1' ? 'box2' : 'box1'], tensorParallel: 2, pipelineParallel: 1 }, transport: (n) => transports[n] ?? 'local' });

  it('a head on `local` (or without a transport given): direct, plain HTTP on the loopback', () => {
    const withLocal = new Map([['local', node('local', 'x64', 2)], ['box2', boxes.get('box2')!]]);
    const plan = planSpan(input('vllm', withLocal, { transport: (n) => transports[n] ?? 'local' }));
    expect(plan.reach).toEqual({ kind: 'direct' });
    expect(plan.healthUrl).toBe('http://127.0.0.1:18000/health');
    expect(planSpan(input('vllm', boxes)).reach).toEqual({ kind: 'direct' });
  });

  it('a head on an SSH node: an SSH tunnel to the engine on that node\'s 127.0.0.1 (plain HTTP inside the tunnel), whatever the workers\' transports', () => {
    const plan = planSpan(input('vllm', boxes, over('box1')));
    expect(plan.reach).toEqual({ kind: 'ssh-tunnel' });
    expect(plan.healthUrl).toBe('http://127.0.0.1:18000/health');
    expect(plan.engineExec!.join(' ')).toContain('--host 127.0.0.1 --port 18000');
  });

  it('a head on a TCP node: TLS with the engine\'s flags (vLLM, SGLang); the key and certificate are issued at start, so the plan holds neither', () => {
    for (const id of ['vllm', 'sglang']) {
      const tcp = { ...over('box2'), service: { ...service(engine(id)), host: '10.0.0.2' } };
      const plan = planSpan(input(id, boxes, tcp));
      expect(plan.reach).toEqual({ kind: 'tls', access: (engine(id) as Extract<EngineEntry, { runtime: 'docker' }>).remoteAccess });
      expect(plan.healthUrl).toBe('https://10.0.0.2:18000/health');
      const argv = [...(plan.engineExec ?? []), ...plan.members.flatMap((m) => m.cmd)];
      expect(argv).not.toContain('--api-key');
      expect(argv).not.toContain('--ssl-keyfile');
    }
  });

  it('a head on a TCP node with an engine that cannot serve TLS with a key is refused, naming the head and the ways out', () => {
    const vllm = engine('vllm') as Extract<EngineEntry, { runtime: 'docker' }>;
    const { remoteAccess: _, ...clear } = vllm;
    let refusal = '';
    try {
      planSpan(input('vllm', boxes, { ...over('box2'), service: { ...service(clear as EngineEntry) } }));
    } catch (err) {
      expect(err).toBeInstanceOf(AimaError);
      refusal = `${(err as AimaError).message} | ${(err as AimaError).fix}`;
    }
    expect(refusal).toBe(
      'vLLM (Docker) cannot serve TLS with a key, so on node "box2", the head of the span (reached over TCP), its HTTP port would be open to the network in clear. | Put `local` or a node added over SSH first in --nodes (only the head serves HTTP; AIMA reaches an SSH node\'s engine through an SSH tunnel), add "box2" over SSH (`aima node add NAME --docker ssh://user@host`), or pick an engine with TLS and key flags (vLLM, SGLang).',
    );
    // The same engine as a worker on a TCP node is fine: workers serve no HTTP.
    expect(planSpan(input('vllm', boxes, { ...over('box1'), service: { ...service(clear as EngineEntry) } })).reach).toEqual({ kind: 'ssh-tunnel' });
  });
});

describe('refusals of a span, before anything exists on any node', () => {
  const refusal = (over: Partial<SpanPlanInput>, id = 'vllm', nodes: Map<string, NodeFacts> = boxes) => {
    try {
      planSpan(input(id, nodes, over));
    } catch (err) {
      expect(err).toBeInstanceOf(AimaError);
      const e = err as AimaError;
      expect(e.fix).toBeTruthy();
      return `${e.message} | ${e.fix}`;
    }
    throw new Error('expected a refusal');
  };

  it('tensor × pipeline parallel larger than the nodes\' GPUs', () => {
    expect(refusal({ span: { nodes: ['box1', 'box2'], tensorParallel: 4, pipelineParallel: 2 } })).toBe(
      '--tensor-parallel 4 × --pipeline-parallel 2 = 8 GPUs, but the nodes have 4 (box1: 2, box2: 2). | Ask for at most 4 GPUs in all (e.g. --tensor-parallel 2 --pipeline-parallel 2), or add nodes.',
    );
  });

  it('an unknown node, an unreachable node, a node without GPUs, a node without a cluster address', () => {
    expect(refusal({ span: { nodes: ['box1', 'nope'], tensorParallel: 1, pipelineParallel: 1 } })).toMatch(/^Node "nope" is not known\. \| See `aima node list`/);
    const down = new Map([...boxes, ['box2', node('box2', 'x64', 2, { reachable: false, error: 'connect ECONNREFUSED 10.0.0.2:2376' })]]);
    expect(refusal({}, 'vllm', down)).toMatch(/^Node "box2" is not reachable: connect ECONNREFUSED 10\.0\.0\.2:2376 \|/);
    const noGpu = new Map([...boxes, ['box2', node('box2', 'x64', 0, { nvidiaRuntime: false })]]);
    expect(refusal({}, 'vllm', noGpu)).toMatch(/^Node "box2" has no GPU that AIMA can see \(its Docker engine has no NVIDIA runtime\)\./);
    expect(refusal({ clusterLink: (n) => (n === 'box1' ? links.box1! : null) })).toMatch(/^Node "box2" has no cluster address/);
  });

  it('an engine without multi-node support', () => {
    expect(refusal({ service: { ...service(engine('llama-cpp')) } })).toMatch(/^Engine "llama-cpp" cannot serve one model across nodes\. \| Use an engine whose catalog entry has "multiNode" \(vllm or sglang\)/);
  });

  it('a node other than local without a model path or a Hugging Face id', () => {
    expect(refusal({ modelOnNodes: null })).toMatch(/^Node "box1" cannot read this machine's model files.* \| Give --model-path-on-node PATH/);
    // The local node reads the library's folder; the other node still needs one.
    const withLocal = new Map([['local', node('local', 'x64', 2)], ['box2', boxes.get('box2')!]]);
    expect(refusal({ modelOnNodes: null, span: { nodes: ['local', 'box2'], tensorParallel: 2, pipelineParallel: 1 } }, 'vllm', withLocal)).toMatch(/^Node "box2" cannot read/);
  });

  it('a service without a model (an engine whose model is optional) needs no model path on other nodes', () => {
    const vllm = engine('vllm') as Extract<EngineEntry, { runtime: 'docker' }>;
    // vLLM's model argument is among its option args already (optionArgs.model_path).
    const optional: EngineEntry = { ...vllm, model: { ...vllm.model, required: false } };
    const plan = planSpan(input('vllm', boxes, { modelOnNodes: null, service: { ...service(optional), model: null } }));
    expect(plan.members.every((m) => m.mounts.length === 0)).toBe(true);
  });

  it('one node, a node named twice, nodes of two architectures', () => {
    expect(refusal({ span: { nodes: ['box1'], tensorParallel: 1, pipelineParallel: 1 } })).toMatch(/^--nodes names one node \(box1\); a model across nodes needs two or more\./);
    expect(refusal({ span: { nodes: ['box1', 'box1'], tensorParallel: 1, pipelineParallel: 1 } })).toMatch(/^--nodes names box1 more than once\./);
    const mixed = new Map([['box1', boxes.get('box1')!], ['spark1', sparks.get('spark1')!]]);
    expect(refusal({}, 'vllm', mixed)).toMatch(/^The nodes are of different architectures \(box1: x64, spark1: arm64\)/);
  });
});

describe('readiness from `ray status -v`', () => {
  const fixture = (f: string) => readFileSync(path.join(repoRoot, 'test', 'fixtures', 'ray', f), 'utf8');

  it('reads the Ray source\'s verbose sample: three idle nodes, 4 GPUs, per node 2, 2 and 0', () => {
    const s = parseRayStatus(fixture('status-verbose-source.txt'));
    expect(s).toEqual({ nodes: 3, totalGpus: 4, perNodeGpus: [2, 2, 0] });
    expect(rayReadiness(s, [2, 2])).toEqual({ ready: true });
    expect(rayReadiness(s, [2, 2, 2, 2])).toEqual({ ready: false, why: '3 of 4 nodes joined the Ray cluster' });
    expect(rayReadiness(s, [4])).toEqual({ ready: false, why: 'a node with 4 GPUs has not shown them in the Ray cluster (per node: 2, 2, 0)' });
  });

  it('reads the documentation\'s sample (older format): three healthy nodes without GPUs', () => {
    const s = parseRayStatus(fixture('status-docs.txt'));
    expect(s).toEqual({ nodes: 3, totalGpus: 0, perNodeGpus: null });
    expect(rayReadiness(s, [1, 1])).toEqual({ ready: false, why: 'the Ray cluster shows 0 of 2 GPUs' });
  });

  it('anything else (an error, no ray in the image) is not ready, and says so', () => {
    expect(parseRayStatus('ConnectionError: Could not find any running Ray instance.')).toBeNull();
    expect(rayReadiness(null, [1, 1])).toEqual({ ready: false, why: 'the Ray head does not answer `ray status` yet' });
  });
});
