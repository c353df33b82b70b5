/**
 * `aima service update NAME [--idle-ttl 10m] [--pinned | --no-pinned] [--model-path-on-node PATH|none]
 * [--hf-model ORG/NAME|none] [--hf-revision REV|default]`: change a service without recreating it.
 */
import type { Command } from 'commander';
import type { ServiceSummary } from '../../../shared/contract/index.js';
import { AimaError } from '../../../shared/errors.js';
import { hasProcess } from '../../../shared/service-state.js';
import { action, output, withConnection } from '../../context.js';
import { idleTtlOption, idleTtlText, modelText } from './format.js';

interface Opts {
  idleTtl?: string;
  pinned?: boolean;
  modelPathOnNode?: string;
  hfModel?: string;
  hfRevision?: string;
  json?: boolean;
}

/**
 * What happens to a service whose engine runs when where its model comes from changed: nothing
 * until it is restarted (the update never restarts it), and which id requests are routed by meanwhile.
 */
function untilRestart(s: ServiceSummary): string {
  if (!hasProcess(s.state) && s.state !== 'unreachable') return '';
  const restart = `\`aima service restart ${s.name}\``;
  if (s.servedHfModel !== s.hfModel) {
    const old = s.servedHfModel ? `"${s.servedHfModel}"` : 'its current model';
    const next = s.hfModel ? `; requests for "${s.hfModel}" reach it only after that` : '';
    return `\nIts engine keeps serving ${old} (and requests for it) until it is restarted: ${restart}${next}.`;
  }
  return `\nIts engine keeps the model it was started with until it is restarted: ${restart}.`;
}

/** An option's value, with `word` meaning "clear it" (null). */
const orNull = (value: string | undefined, word: string) => (value === undefined ? undefined : value === word ? null : value);

export function registerUpdate(service: Command): void {
  service
    .command('update <name>')
    .description("Change a service's idle TTL, pinning, or where its model comes from (only the options given change; the model from the next start)")
    .option('--idle-ttl <duration>', 'stop it after this long without a request, e.g. 10m; 0 = never; "default" = the onDemandIdleTtlSeconds setting for starts on demand')
    .option('--pinned', 'never stop it to make room for another service or for idleness')
    .option('--no-pinned', 'let the scheduler stop it again when it is idle')
    .option('--model-path-on-node <path>', 'where the model\'s files are on its node(s); "none" = not there')
    .option('--hf-model <org/name>', 'the Hugging Face id its engine downloads; "none" = no Hub id')
    .option('--hf-revision <rev>', 'the Hub revision (branch, tag or commit); "default" = the Hub\'s default branch')
    .option('--json', 'print JSON')
    .action(
      action(async (name: string, opts: Opts) => {
        let idleTtl: number | null | undefined;
        try {
          idleTtl = opts.idleTtl === 'default' ? null : idleTtlOption(opts.idleTtl);
        } catch (err) {
          throw new AimaError('bad-request', (err as Error).message, 'Fix the option and try again.');
        }
        const modelPathOnNode = orNull(opts.modelPathOnNode, 'none');
        const hfModel = orNull(opts.hfModel, 'none');
        const hfRevision = orNull(opts.hfRevision, 'default');
        if (idleTtl === undefined && opts.pinned === undefined && modelPathOnNode === undefined && hfModel === undefined && hfRevision === undefined) {
          throw new AimaError('bad-request', 'Nothing to change.', 'Give --idle-ttl DURATION, --pinned, --no-pinned, --model-path-on-node, --hf-model or --hf-revision.');
        }
        await withConnection(async (conn) => {
          const s = await conn.api['services.update']({
            name,
            ...(idleTtl !== undefined ? { idleTtl } : {}),
            ...(opts.pinned !== undefined ? { pinned: opts.pinned } : {}),
            ...(modelPathOnNode !== undefined ? { modelPathOnNode } : {}),
            ...(hfModel !== undefined ? { hfModel } : {}),
            ...(hfRevision !== undefined ? { hfRevision } : {}),
          });
          // Where the model comes from is said when the update changed it.
          const modelChanged = modelPathOnNode !== undefined || hfModel !== undefined || hfRevision !== undefined;
          output(opts.json, s, (x) => `${x.name}: idle TTL ${idleTtlText(x.idleTtl)}, ${x.pinned ? 'pinned' : 'not pinned'}${modelChanged ? `, model ${modelText({ ...x, servedHfModel: x.hfModel })}${untilRestart(x)}` : ''}`);
        });
      }),
    );
}
