/** The voice chain's plan as terminal lines: each link's device and memory, the total against what is free, the verdict. */
import type { VoicePlan } from '../../../shared/contract/index.js';
import { formatBytes } from '../../../shared/format-bytes.js';

const LABEL = { asr: 'ASR', llm: 'LLM', tts: 'TTS' } as const;

function memory(l: VoicePlan['links'][number]): string {
  if (l.device === 'remote') return 'remote, no local memory';
  const parts = [l.gpuBytes > 0 ? `${formatBytes(l.gpuBytes)} GPU` : '', l.ramBytes > 0 ? `${formatBytes(l.ramBytes)} RAM` : ''].filter(Boolean);
  const what = l.memory === 'measured' ? 'measured' : l.memory === 'estimated' ? 'estimated' : 'unknown';
  return `${parts.join(' + ') || '—'} (${what}${l.counted ? '' : ', already in use'})`;
}

export function formatVoicePlan(plan: VoicePlan): string {
  const lines = ['Voice chain plan:'];
  for (const l of plan.links) {
    const via = l.via === 'new-service' ? `new service ${l.service} on ${l.engine}` : l.via === 'service' ? `service ${l.service} (${l.state})` : 'remote';
    lines.push(`  ${LABEL[l.role]}  ${l.name}${l.importPath ? ` (import ${l.importPath})` : ''} — ${via}, ${l.device}${l.contextSize ? `, ctx ${l.contextSize}` : ''}: ${memory(l)}`);
  }
  const free = [plan.gpu ? `GPU ${plan.gpu.index} (${plan.gpu.name}) ${formatBytes(plan.gpu.budgetBytes)} usable of ${formatBytes(plan.gpu.freeBytes)} free` : 'no GPU', plan.ram ? `RAM ${formatBytes(plan.ram.availableBytes)} available` : null].filter(Boolean);
  lines.push(`  Total to start: ${formatBytes(plan.total.gpuBytes)} GPU + ${formatBytes(plan.total.ramBytes)} RAM; free: ${free.join(', ')}`);
  lines.push(`  ${plan.verdict.kind === 'fits' ? 'Fits' : 'Does not fit'}: ${plan.verdict.message}`);
  for (const a of plan.alternatives) lines.push(`  Instead: ${a.message}`);
  if (plan.holders.length > 0) {
    lines.push('  Holding the GPU: ' + plan.holders.map((h) => `${h.service ? `service ${h.service}` : h.name} (pid ${h.pid}, ${formatBytes(h.usedBytes)} on GPU ${h.gpu})`).join(', '));
  }
  return lines.join('\n');
}
