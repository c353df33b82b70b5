/**
 * `aima voice setup [--asr M] [--llm M] [--tts M] [--voice V] [--asr-model PATH] [--llm-model PATH]`:
 * picks the ASR, LLM and TTS models of the voice chain. A model given by name may be any routable
 * one (embedded or Docker service, remote endpoint). Left out, each is found automatically: the
 * current choice when it still exists, else a service of that kind, else a model of that kind in
 * the library (a service is created for it on the embedded engine), else — for TTS — a new
 * embedded aima-tts service, which needs no model. --asr-model/--llm-model import a file first.
 */
import path from 'node:path';
import type { Command } from 'commander';
import type { ModelSummary, ServiceSummary, VoiceConfigPatch } from '../../../shared/contract/index.js';
import { AimaError } from '../../../shared/errors.js';
import { action, cliContext, connect, output, type Connection } from '../../context.js';
import { serviceFor } from './services.js';

interface Opts {
  asr?: string;
  llm?: string;
  tts?: string;
  voice?: string;
  asrModel?: string;
  llmModel?: string;
  systemPrompt?: string;
  silenceMs?: string;
  maxTokens?: string;
  json?: boolean;
}

type Kind = 'asr' | 'llm' | 'tts';
const ENGINE: Record<Kind, string> = { asr: 'aima-asr', llm: 'aima-llm', tts: 'aima-tts' };

async function pick(conn: Connection, kind: Kind, current: string | null, models: ModelSummary[], services: ServiceSummary[]): Promise<string> {
  const remotes = await conn.api['remotes.list']({});
  const routable = (m: string) => serviceFor(services, m) !== null || remotes.some((r) => r.models.includes(m));
  if (current && routable(current)) return current;
  const svc = services.find((s) => s.kind === kind && s.state === 'running') ?? services.find((s) => s.kind === kind);
  if (svc) return svc.model ?? svc.name;
  const model = models.find((m) => m.kind === kind);
  if (kind === 'tts' || model) {
    const name = uniqueName(`voice-${kind}`, services);
    process.stderr.write(`Creating service ${name} (${ENGINE[kind]}${model ? `, model ${model.name}` : ''})…\n`);
    const created = await conn.api['services.create']({ name, engine: ENGINE[kind], ...(kind !== 'tts' && model ? { model: model.name } : {}) });
    services.push(created);
    return created.model ?? created.name;
  }
  const how = kind === 'asr' ? '--asr-model PATH (a Whisper ONNX export or sherpa-onnx folder)' : '--llm-model PATH (a GGUF file)';
  throw new AimaError('not-found', `No ${kind.toUpperCase()} model or service found for voice.`, `Give one with ${how}, or --${kind} NAME for a model another service or remote serves.`);
}

function uniqueName(base: string, services: ServiceSummary[]): string {
  let name = base;
  for (let i = 2; services.some((s) => s.name === name); i++) name = `${base}-${i}`;
  return name;
}

async function setup(opts: Opts): Promise<void> {
  const conn = await connect(cliContext());
  try {
    for (const [file, kind] of [
      [opts.asrModel, 'asr'],
      [opts.llmModel, 'llm'],
    ] as const) {
      if (!file) continue;
      const list = await conn.api['models.list']({});
      const real = path.resolve(file);
      const existing = list.find((m) => m.sourcePath === real || m.path === real);
      if (existing) continue;
      process.stderr.write(`Importing ${real}…\n`);
      await conn.api['models.import']({ path: real, kind });
    }
    const cfg = await conn.api['voice.config.get']({});
    const models = await conn.api['models.list']({});
    const services = await conn.api['services.list']({});
    const patch: VoiceConfigPatch = {
      asr: opts.asr ?? (await pick(conn, 'asr', cfg.asr, models, services)),
      llm: opts.llm ?? (await pick(conn, 'llm', cfg.llm, models, services)),
      tts: opts.tts ?? (await pick(conn, 'tts', cfg.tts, models, services)),
    };
    if (opts.voice) patch.voice = opts.voice;
    if (opts.systemPrompt !== undefined) patch.systemPrompt = opts.systemPrompt;
    if (opts.silenceMs) patch.silenceMs = Number(opts.silenceMs);
    if (opts.maxTokens) patch.maxTokens = Number(opts.maxTokens);
    const next = await conn.api['voice.config.set'](patch);
    output(opts.json, next, (c) => `Voice chain: ASR ${c.asr} → LLM ${c.llm} → TTS ${c.tts}${c.voice ? ` (voice ${c.voice})` : ''}; turn ends after ${c.silenceMs} ms of silence.\nTry it: aima voice --in question.wav --out answer.wav`);
  } finally {
    conn.close();
  }
}

export function registerSetup(voice: Command): void {
  voice
    .command('setup')
    .description('Pick the ASR, LLM and TTS models of the voice chain (creating embedded services when missing)')
    .option('--asr <model>', 'ASR model name (any routable model)')
    .option('--llm <model>', 'LLM model name (any routable model)')
    .option('--tts <model>', 'TTS model name (any routable model)')
    .option('--voice <voice>', 'TTS voice (e.g. slt, kal16)')
    .option('--asr-model <path>', 'import this ASR model file or folder first')
    .option('--llm-model <path>', 'import this GGUF first')
    .option('--system-prompt <text>', 'system prompt for new conversations')
    .option('--silence-ms <ms>', 'silence that ends your turn (100-5000)')
    .option('--max-tokens <n>', 'longest reply, tokens')
    .option('--json', 'print JSON')
    .action(
      // `--json` is also an option of the parent `voice` command, which commander gives to the parent.
      action(async (opts: Opts, cmd: Command) => setup({ ...opts, json: opts.json ?? (cmd.optsWithGlobals() as Opts).json })),
    );
}
