/**
 * Which model or service serves each link of the voice chain (ASR → LLM → TTS). Pure: the choices
 * and the facts (library, services, remotes, the embedded engines' catalog entries) in, the links
 * out — or an error naming the bad choice and the fix, before anything is created.
 *
 * A link given by name may be any routable model (an embedded or Docker service, a remote
 * endpoint) or a library model (a service is created for it on the embedded engine). Left out,
 * each link is found automatically: the current choice when it still routes, else a service of
 * that kind (running first), else a compatible library model, else — for TTS — a new embedded
 * aima-tts service, which needs no model.
 */
import type { ModelSummary, ServiceSummary, VoiceConfig, VoicePlanParams, VoiceRole } from '../../../shared/contract/index.js';
import { serviceFor } from '../../../shared/service-lookup.js';
import { AimaError } from '../../../shared/errors.js';

export const ROLE_LABEL: Record<VoiceRole, string> = { asr: 'ASR', llm: 'LLM', tts: 'TTS' };

/** The embedded engine of a link, as its catalog entry describes it. */
export interface VoiceEngineFacts {
  id: string;
  formats: readonly string[];
  devices: readonly string[];
  modelRequired: boolean;
}

export interface ChainFacts {
  current: Pick<VoiceConfig, 'asr' | 'llm' | 'tts'>;
  models: readonly ModelSummary[];
  services: readonly ServiceSummary[];
  /** Model names remote endpoints serve. */
  remoteModels: readonly string[];
  engines: Record<VoiceRole, VoiceEngineFacts>;
}

export interface ResolvedLink {
  role: VoiceRole;
  /** The name the chain routes. */
  name: string;
  via: 'service' | 'new-service' | 'remote';
  /** Existing or new service name; null for a remote. */
  service: string | null;
  engine: string | null;
  /** The library model served (null: flite, a remote, a file still to import, or a service whose model is not in the library). */
  model: ModelSummary | null;
  /** A model file to import first (a new service for it). */
  importPath: string | null;
  /** The existing service (via 'service'). */
  existing: ServiceSummary | null;
  note: string;
}

/** Files that the import of `path` would have produced: the library model imported from it, if any. */
export function importedFrom(models: readonly ModelSummary[], path: string): ModelSummary | undefined {
  return models.find((m) => m.sourcePath === path || m.path === path || m.rootPath === path);
}

/** Whether the embedded engine of `role` can serve library model `m` (kind and format). */
export function compatible(role: VoiceRole, m: ModelSummary, engine: VoiceEngineFacts): boolean {
  return m.kind === role && engine.formats.includes(m.format) && m.missing.length === 0;
}

function uniqueName(base: string, taken: ReadonlySet<string>): string {
  let name = base;
  for (let i = 2; taken.has(name); i++) name = `${base}-${i}`;
  return name;
}

const IMPORT_FLAG: Partial<Record<VoiceRole, string>> = { asr: 'asrModelPath (--asr-model)', llm: 'llmModelPath (--llm-model)' };

/** Resolves the three links; throws an AimaError naming the first bad choice. */
export function resolveVoiceLinks(choices: VoicePlanParams, facts: ChainFacts): ResolvedLink[] {
  const taken = new Set(facts.services.map((s) => s.name));
  const links = (['asr', 'llm', 'tts'] as const).map((role) => {
    const link = resolveLink(role, choices, facts, taken);
    if (link.via === 'new-service' && link.service) taken.add(link.service);
    return link;
  });
  checkLlmOptions(choices, links[1]!);
  return links;
}

function checkLlmOptions(choices: VoicePlanParams, llm: ResolvedLink): void {
  if (llm.via === 'new-service') return;
  const what = llm.via === 'remote' ? `the remote model "${llm.name}"` : `the existing service "${llm.service}" (${llm.existing?.device ?? 'cpu'})`;
  if (choices.llmDevice !== undefined && choices.llmDevice !== 'auto' && choices.llmDevice !== llm.existing?.device) {
    throw new AimaError(
      'bad-request',
      `llmDevice "${choices.llmDevice}" applies to a new LLM service, but the LLM link is ${what}.`,
      'Leave out the device, or choose a library model for the LLM (--llm NAME) so a new service is created on that device.',
    );
  }
  if (choices.llmContext !== undefined && choices.llmContext !== llm.existing?.ctxSize) {
    throw new AimaError(
      'bad-request',
      `llmContext ${choices.llmContext} applies to a new LLM service, but the LLM link is ${what}.`,
      'Leave out the context, or choose a library model for the LLM (--llm NAME) so a new service is created with it.',
    );
  }
}

function resolveLink(role: VoiceRole, choices: VoicePlanParams, facts: ChainFacts, taken: ReadonlySet<string>): ResolvedLink {
  const label = ROLE_LABEL[role];
  const engine = facts.engines[role];
  const name = choices[role];
  const importPath = role === 'asr' ? choices.asrModelPath : role === 'llm' ? choices.llmModelPath : undefined;
  const newService = (model: ModelSummary | null, note: string, path: string | null = null): ResolvedLink => {
    const service = uniqueName(`voice-${role}`, taken);
    return { role, name: model?.name ?? service, via: 'new-service', service, engine: engine.id, model, importPath: path, existing: null, note };
  };
  const viaService = (s: ServiceSummary, note: string): ResolvedLink => {
    if (s.kind !== role) {
      throw new AimaError('bad-request', `"${name ?? s.name}" is served by the ${s.kind} service "${s.name}", not by an ${label} service.`, `Choose an ${label} model or service for the ${label} link.`);
    }
    return { role, name: s.model ?? s.name, via: 'service', service: s.name, engine: s.engine, model: facts.models.find((m) => m.name === s.model) ?? null, importPath: null, existing: s, note };
  };
  const candidates = facts.models.filter((m) => compatible(role, m, engine));

  if (name !== undefined && importPath !== undefined) {
    throw new AimaError('bad-request', `Both a model name ("${name}") and a file to import were given for the ${label}.`, `Give one: the name of a model AIMA has, or the file to import.`);
  }
  if (importPath !== undefined) {
    const known = importedFrom(facts.models, importPath);
    if (!known) return newService(null, `imports ${importPath} and serves it on ${engine.id}`, importPath);
    const served = serviceFor(facts.services, known.name);
    if (served) return viaService(served, `the service that already serves ${known.name} (imported from ${importPath})`);
    checkModel(role, known, engine);
    return newService(known, `a new ${engine.id} service for ${known.name} (imported from ${importPath})`);
  }
  if (name !== undefined) {
    const served = serviceFor(facts.services, name);
    if (served) return viaService(served, 'as chosen');
    if (facts.remoteModels.includes(name)) return { role, name, via: 'remote', service: null, engine: null, model: null, importPath: null, existing: null, note: 'a remote endpoint serves it' };
    const model = facts.models.find((m) => m.name === name);
    if (!model) {
      const list = candidates.map((m) => m.name).join(', ');
      throw new AimaError(
        'not-found',
        `No model or service named "${name}" for the ${label}.`,
        list ? `${label} models in the library: ${list}.` : `Import an ${label} model first${IMPORT_FLAG[role] ? ` (or give its file with ${IMPORT_FLAG[role]})` : ''}.`,
      );
    }
    checkModel(role, model, engine);
    return newService(model, `a new ${engine.id} service for ${model.name}`);
  }

  const current = facts.current[role];
  if (current) {
    const served = serviceFor(facts.services, current);
    if (served && served.kind === role) return viaService(served, 'the current choice');
    if (facts.remoteModels.includes(current)) return { role, name: current, via: 'remote', service: null, engine: null, model: null, importPath: null, existing: null, note: 'the current choice (a remote endpoint)' };
  }
  const byKind = facts.services.filter((s) => s.kind === role);
  const svc = byKind.find((s) => s.state === 'running') ?? byKind[0];
  if (svc) return viaService(svc, `the ${svc.state} ${label} service`);
  const model = candidates[0];
  if (model) return newService(model, `a new ${engine.id} service for the library's ${label} model ${model.name}`);
  if (!engine.modelRequired) return newService(null, `a new ${engine.id} service (its built-in voices need no model)`);
  throw new AimaError(
    'not-found',
    `No ${label} model or service found for voice.`,
    `Import one (${role === 'asr' ? 'a Whisper ONNX export or a sherpa-onnx folder' : 'a GGUF file'})${IMPORT_FLAG[role] ? ` or give its file with ${IMPORT_FLAG[role]}` : ''}, or name a model another service or remote serves.`,
  );
}

function checkModel(role: VoiceRole, m: ModelSummary, engine: VoiceEngineFacts): void {
  const label = ROLE_LABEL[role];
  if (m.kind !== role) {
    throw new AimaError('bad-request', `"${m.name}" is a model of kind ${m.kind}; the ${label} link needs one of kind ${role}.`, `Choose an ${label} model for the ${label} link (aima model list shows each model's kind).`);
  }
  if (!engine.formats.includes(m.format)) {
    throw new AimaError('bad-request', `"${m.name}" is in the ${m.format} format; the embedded ${label} engine (${engine.id}) takes ${engine.formats.join(' or ')}.`, `Choose a model in one of those formats, or name a service that serves "${m.name}".`);
  }
  if (m.missing.length > 0) {
    throw new AimaError('bad-request', `"${m.name}" is missing files: ${m.missing.join(', ')}.`, 'Import it again, or choose another model.');
  }
}
