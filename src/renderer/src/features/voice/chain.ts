/**
 * Is the voice chain ready? For each of ASR, LLM and TTS: the model the config names and the local
 * service behind it. A stopped (or failed) service is a problem the page shows with a Start
 * button; a model with no local service is a remote endpoint or a Docker service the gateway
 * routes, and is left to the gateway. Pure.
 */
import type { ServiceSummary, VoiceConfig } from '../../../../shared/contract/index.js';
import { serviceFor } from '../../../../shared/service-lookup.js';

export type ChainRole = 'asr' | 'llm' | 'tts';
export const ROLE_LABEL: Record<ChainRole, string> = { asr: 'ASR', llm: 'LLM', tts: 'TTS' };

export type ChainProblem =
  | { kind: 'unset'; role: ChainRole }
  | { kind: 'not-running'; role: ChainRole; model: string; service: ServiceSummary };

export function chainProblems(config: VoiceConfig, services: readonly ServiceSummary[]): ChainProblem[] {
  const problems: ChainProblem[] = [];
  for (const role of ['asr', 'llm', 'tts'] as const) {
    const model = config[role];
    if (!model) {
      problems.push({ kind: 'unset', role });
      continue;
    }
    const service = serviceFor(services, model);
    if (service && service.state !== 'running') problems.push({ kind: 'not-running', role, model, service });
  }
  return problems;
}
