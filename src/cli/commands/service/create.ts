/** `aima service create NAME --model M --engine E [...]`: define a service (does not start it). */
import type { Command } from 'commander';
import { devices, type Device } from '../../../shared/contract/enums.js';
import { AimaError } from '../../../shared/errors.js';
import { action, output, withConnection } from '../../context.js';
import { idleTtlOption, intOption, stateLine } from './format.js';

interface Opts {
  model?: string;
  engine: string;
  device?: string;
  gpus?: string;
  port?: string;
  threads?: string;
  ctxSize?: string;
  concurrency?: string;
  restart?: string;
  image?: string;
  idleTtl?: string;
  pinned?: boolean;
  replicas?: string;
  node?: string;
  modelPathOnNode?: string;
  hfModel?: string;
  hfRevision?: string;
  nodes?: string;
  tensorParallel?: string;
  pipelineParallel?: string;
  json?: boolean;
}

export function registerCreate(service: Command): void {
  service
    .command('create <name>')
    .description('Create a service: a model on an engine, device and port (start it with `aima service start`)')
    .option('--model <model>', 'model name (see `aima model list`)')
    .requiredOption('--engine <engine>', 'engine id (see `aima engine list`)')
    .option('--device <device>', 'cpu or gpu (default: cpu; gpu with --nodes)')
    .option('--gpus <list>', 'GPU indices for --device gpu, e.g. 0,1 (default: all)')
    .option('--port <port>', 'port to listen on (default 0: a free one at each start)')
    .option('--threads <n>', 'CPU threads (default: the engine decides)')
    .option('--ctx-size <n>', 'context size in tokens (LLM engines)')
    .option('--concurrency <n>', 'parallel request slots', '1')
    .option('--restart <policy>', 'on-failure, always or never', 'on-failure')
    .option('--replicas <n>', 'services for this model: NAME and N - 1 replicas NAME-2, ... (1 to 64; not with a fixed --port)', '1')
    .option('--nodes <list>', 'serve one model across these nodes, e.g. spark1,spark2 (the first is the head; vllm and sglang)')
    .option('--tensor-parallel <n>', 'with --nodes: tensor-parallel size (default: the nodes\' GPUs over the pipeline stages)')
    .option('--pipeline-parallel <n>', 'with --nodes: pipeline-parallel size (default 1)')
    .option('--image <ref>', 'the Docker image to run, with --engine custom-image (e.g. ghcr.io/me/server:1)')
    .option('--idle-ttl <duration>', 'stop it after this long without a request, e.g. 10m (0 = never; default: the onDemandIdleTtlSeconds setting for starts on demand)')
    .option('--pinned', 'never stop it to make room for another service or for idleness')
    .option('--node <name>', 'the Docker engine to run on (see `aima node list`; Docker engines only)', 'local')
    .option('--model-path-on-node <path>', 'with --node or --nodes: where the model\'s files already are there (an absolute path; the same on every node of --nodes); AIMA does not copy weights between machines')
    .option('--hf-model <org/name>', 'a Hugging Face model id the engine downloads itself on its node(s), instead of --model (vllm, sglang); clients send this id as the model')
    .option('--hf-revision <rev>', 'with --hf-model: the branch, tag or commit to download (default: the Hub\'s default branch)')
    .option('--json', 'print JSON')
    .action(
      action(async (name: string, opts: Opts) => {
        const device = opts.device ?? (opts.nodes ? 'gpu' : 'cpu');
        if (!(devices as readonly string[]).includes(device)) throw new AimaError('bad-request', `--device must be cpu or gpu (got "${device}").`, 'Use --device cpu or --device gpu.');
        const bad = (err: unknown) => new AimaError('bad-request', (err as Error).message, 'Fix the option and try again.');
        let params;
        try {
          params = {
            name,
            model: opts.model,
            engine: opts.engine,
            device: device as Device,
            gpus: opts.gpus ? opts.gpus.split(',').map((g) => intOption(g.trim(), '--gpus', 0)!) : [],
            port: intOption(opts.port, '--port', 0) ?? 0,
            threads: intOption(opts.threads, '--threads', 1),
            ctxSize: intOption(opts.ctxSize, '--ctx-size', 16),
            concurrency: intOption(opts.concurrency, '--concurrency', 1) ?? 1,
            restartPolicy: opts.restart as 'on-failure' | 'always' | 'never',
            replicas: intOption(opts.replicas, '--replicas', 1) ?? 1,
            ...(opts.nodes !== undefined ? { nodes: opts.nodes.split(',').map((n) => n.trim()) } : {}),
            ...(opts.tensorParallel !== undefined ? { tensorParallel: intOption(opts.tensorParallel, '--tensor-parallel', 1) } : {}),
            ...(opts.pipelineParallel !== undefined ? { pipelineParallel: intOption(opts.pipelineParallel, '--pipeline-parallel', 1) } : {}),
            ...(opts.image !== undefined ? { image: opts.image } : {}),
            ...(opts.idleTtl !== undefined ? { idleTtl: idleTtlOption(opts.idleTtl) } : {}),
            ...(opts.pinned ? { pinned: true } : {}),
            node: opts.node ?? 'local',
            ...(opts.modelPathOnNode !== undefined ? { modelPathOnNode: opts.modelPathOnNode } : {}),
            ...(opts.hfModel !== undefined ? { hfModel: opts.hfModel } : {}),
            ...(opts.hfRevision !== undefined ? { hfRevision: opts.hfRevision } : {}),
          };
        } catch (err) {
          throw bad(err);
        }
        await withConnection(async (conn) => {
          const s = await conn.api['services.create'](params);
          const replicas = (params.replicas ?? 1) - 1;
          output(opts.json, s, (x) => `Created ${stateLine(x)}${replicas > 0 ? ` and ${replicas} replica${replicas === 1 ? '' : 's'} (${x.name}-2${replicas > 1 ? ` to ${x.name}-${replicas + 1}` : ''})` : ''}. Start ${replicas > 0 ? 'them' : 'it'} with \`aima service start ${x.name}\`.`);
        });
      }),
    );
}
