/** `aima model fit NAME [--ctx N] [--gpu I] [--cache-type T] [--parallel N] [--json]`: will it fit, why, what to change. */
import type { Command } from 'commander';
import type { ModelFit } from '../../../shared/contract/index.js';
import { fitCacheTypes } from '../../../shared/contract/enums.js';
import { AimaError } from '../../../shared/errors.js';
import { action, output, withConnection } from '../../context.js';
import { size } from './format.js';

function intArg(value: string | undefined, flag: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new AimaError('bad-request', `${flag} must be a whole number ≥ ${min}, got "${value}".`, `Pass ${flag} as a number.`);
  return n;
}

const verdictLine = (f: ModelFit): string => {
  const v = f.verdict;
  switch (v.kind) {
    case 'fits':
      return `FITS (${v.device.toUpperCase()})`;
    case 'partial-offload':
      return `PARTIAL OFFLOAD (${v.gpuLayers} of ${v.totalLayers} layers on the GPU)`;
    case 'does-not-fit':
      return 'DOES NOT FIT';
    case 'no-estimate':
      return 'NO ESTIMATE';
  }
};

export function formatFit(f: ModelFit): string {
  const n = f.numbers;
  const lines = [
    `${f.model} (${f.format}${f.estimator ? `, ${f.estimator === 'gguf' ? 'llama.cpp' : 'vLLM'} estimate` : ''}) on ${f.gpu ? `GPU ${f.gpu.index} ${f.gpu.name} (${f.gpu.freeMiB} of ${f.gpu.totalMiB} MiB free)` : 'the CPU (no GPU detected)'}`,
    `Verdict: ${verdictLine(f)} [${f.verdict.reason}]`,
    `  ${f.verdict.message}`,
  ];
  const nums: Array<[string, number | string | undefined]> = [
    ['context', n.contextSize],
    ['parallel', n.parallel],
    ['KV cache type', n.cacheType],
    ['weights', n.weightsBytes !== undefined ? size(n.weightsBytes) : undefined],
    ['KV cache', n.kvCacheBytes !== undefined ? size(Math.max(0, n.kvCacheBytes)) : undefined],
    ['compute buffer', n.computeBufferBytes !== undefined ? size(n.computeBufferBytes) : undefined],
    ['activations', n.activationBytes !== undefined ? size(n.activationBytes) : undefined],
    ['overhead', n.overheadBytes !== undefined ? size(n.overheadBytes) : undefined],
    ['total', n.totalBytes !== undefined ? size(n.totalBytes) : undefined],
    ['on GPU', n.gpuBytes !== undefined ? size(n.gpuBytes) : undefined],
    ['on CPU (RAM)', n.cpuBytes !== undefined ? size(n.cpuBytes) : undefined],
    ['vLLM budget', n.budgetBytes !== undefined ? size(n.budgetBytes) : undefined],
    ['KV capacity', n.kvTokenCapacity !== undefined ? `${n.kvTokenCapacity} tokens` : undefined],
    ['RAM available', n.ramAvailableBytes !== undefined ? size(n.ramAvailableBytes) : undefined],
  ];
  const shown = nums.filter(([, v]) => v !== undefined);
  if (shown.length) lines.push('Numbers:', ...shown.map(([k, v]) => `  ${k.padEnd(15)} ${v}`));
  if (f.suggestions.length) lines.push('Suggestions:', ...f.suggestions.map((s) => `  - ${s.message}`));
  if (f.notes.length) lines.push('Notes:', ...f.notes.map((s) => `  - ${s}`));
  return lines.join('\n');
}

export function registerFit(model: Command): void {
  model
    .command('fit <name>')
    .description('Estimate whether a model fits this machine: where it runs, why, what to change')
    .option('--ctx <n>', 'context size in tokens (default: the model’s trained context)')
    .option('--gpu <index>', 'GPU to estimate for (default: the one with the most free memory)')
    .option('--cache-type <type>', `KV cache type (${fitCacheTypes.join('|')})`)
    .option('--parallel <n>', 'parallel sequences (GGUF)')
    .option('--json', 'print JSON')
    .action(
      action(async (name: string, opts: { ctx?: string; gpu?: string; cacheType?: string; parallel?: string; json?: boolean }) => {
        if (opts.cacheType !== undefined && !(fitCacheTypes as readonly string[]).includes(opts.cacheType)) {
          throw new AimaError('bad-request', `Unknown KV cache type "${opts.cacheType}".`, `Use one of ${fitCacheTypes.join(', ')}.`);
        }
        const params = {
          name,
          ctx: intArg(opts.ctx, '--ctx', 16),
          gpu: intArg(opts.gpu, '--gpu', 0),
          cacheType: opts.cacheType as (typeof fitCacheTypes)[number] | undefined,
          parallel: intArg(opts.parallel, '--parallel', 1),
        };
        await withConnection(async (conn) => {
          output(opts.json, await conn.api['models.fit'](params), formatFit);
        });
      }),
    );
}
