/**
 * A service whose engine downloads a Hugging Face model id itself, on the node it runs on (every
 * node of a span): no model mount; the entry's `hub` arguments name the id (and revision); a named
 * Docker volume on that node holds the engine's Hub cache, so a restart or another service of the
 * same id reuses the download; AIMA's Hub token is given only when one is set. The refusals run
 * when a service is created or updated (before anything is stored or any node is contacted);
 * the plan parts are pure (test/unit/hub-model.test.ts, docker-plans and span-plans snapshots).
 */
import { AimaError } from '../../../shared/errors.js';
import type { EngineEntry, HubModel } from '../../engines/catalog-schema.js';
import type { TemplateValues } from '../../engines/template.js';
import type { HubModelRef } from '../../cluster/span.js';
import type { DockerMount } from '../types.js';

/** The Docker volume, one per node, that holds every Hub download of AIMA's services there. */
export const HUB_CACHE_VOLUME = 'aima-hf-cache';

/** A service's stored Hub id and revision as the plans take them, or null. */
export function hubModelOf(hfModel: string | null | undefined, hfRevision: string | null | undefined): HubModelRef | null {
  return hfModel ? { kind: 'hf', id: hfModel, revision: hfRevision ?? null } : null;
}

/** The template values of a Hub id; the served model name is the id (vLLM's own default), which the gateway routes. */
export function hubValues(ref: HubModelRef): TemplateValues {
  return { hf_model: ref.id, model_name: ref.id, ...(ref.revision !== null ? { hf_revision: ref.revision } : {}) };
}

/** The Hub cache volume mounted where the engine keeps its cache. */
export function hubMount(hub: HubModel): DockerMount {
  return { volume: HUB_CACHE_VOLUME, target: hub.cachePath, readOnly: false };
}

/** The token in the engine's variable when one is set; nothing otherwise. */
export function hubEnv(hub: HubModel, token: string | null | undefined): Record<string, string> {
  return token ? { [hub.tokenEnv]: token } : {};
}

export interface HubModelCheck {
  engine: EngineEntry;
  hfModel: string | null;
  hfRevision: string | null;
  /** The library model's name, or null. */
  model: string | null;
  modelPathOnNode: string | null;
}

/**
 * Throws when a Hub id does not fit: a revision without an id, an id together with a library model
 * or a path on the node, an engine that is not a Docker engine or whose entry cannot download.
 * Returns the entry's `hub` when the service downloads an id.
 */
export function checkHubModel(c: HubModelCheck): HubModel | null {
  if (c.hfModel === null) {
    if (c.hfRevision !== null) throw new AimaError('bad-request', `--hf-revision ${c.hfRevision} names a revision of a Hugging Face model, but no --hf-model was given.`, 'Add --hf-model ORG/NAME, or leave out --hf-revision.');
    return null;
  }
  if (c.model !== null) {
    throw new AimaError('bad-request', `--hf-model ${c.hfModel} and --model ${c.model} both name the service's model: the engine downloads the Hub id, or reads the library's files.`, `Leave out --model to serve ${c.hfModel}, or leave out --hf-model to serve the library's "${c.model}".`);
  }
  if (c.modelPathOnNode !== null) {
    throw new AimaError('bad-request', `--hf-model ${c.hfModel} and --model-path-on-node ${c.modelPathOnNode} both say where the model comes from: the engine downloads the Hub id, or reads the files at that path.`, 'Give one of them.');
  }
  const e = c.engine;
  if (e.runtime !== 'docker') {
    throw new AimaError('bad-request', `Engine "${e.id}" runs as a process on this machine; --hf-model is for Docker engines that download the model themselves.`, 'Use --engine vllm or --engine sglang, or download the model into the library (`aima model pull ORG/NAME`) and give --model NAME.');
  }
  if (!e.hub) {
    throw new AimaError(
      'bad-request',
      `Engine "${e.id}" cannot download a Hugging Face model itself: its catalog entry has no "hub" declaration.`,
      'Use an engine whose entry has one (vllm, sglang; see `aima engine list`), or download the model into the library (`aima model pull ORG/NAME`) and give --model NAME.',
    );
  }
  return e.hub;
}
