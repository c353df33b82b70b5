/**
 * `aima voice setup [--asr M] [--llm M] [--tts M] [--voice V] [--asr-model PATH] [--llm-model PATH] …`:
 * a thin client of `voice.plan` and `voice.setup` (the logic is the core's, shared with the Voice
 * page). It prints the plan — each link's device and memory, the total against what is free,
 * what else holds the GPU — then sets the chain up: imports the files given, creates the embedded
 * services that are missing and saves the chain. With --start it also starts them, with progress;
 * Ctrl+C cancels. A plan that does not fit is refused (with what to change) unless --force.
 */
import path from 'node:path';
import type { Command } from 'commander';
import type { SettingsPatch, VoicePlanParams, VoiceSetupParams } from '../../../shared/contract/index.js';
import { AimaError } from '../../../shared/errors.js';
import { action, cliContext, connect, output } from '../../context.js';
import { withProgress } from '../../progress.js';
import { formatVoicePlan } from './plan-format.js';

interface Opts {
  asr?: string;
  llm?: string;
  tts?: string;
  voice?: string;
  asrModel?: string;
  llmModel?: string;
  llmDevice?: string;
  llmContext?: string;
  systemPrompt?: string;
  silenceMs?: string;
  maxTokens?: string;
  speculation?: string;
  earlyMarkMs?: string;
  windowMinMs?: string;
  windowMaxMs?: string;
  start?: boolean;
  force?: boolean;
  json?: boolean;
}

function intFlag(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new AimaError('bad-request', `${flag} takes a whole number; got "${value}".`, `Give ${flag} as a number, e.g. ${flag} 500.`);
  return n;
}

function planParams(opts: Opts): VoicePlanParams {
  const device = opts.llmDevice;
  if (device !== undefined && device !== 'auto' && device !== 'cpu' && device !== 'gpu') {
    throw new AimaError('bad-request', `--llm-device takes auto, cpu or gpu; got "${device}".`, 'Give --llm-device auto, cpu or gpu.');
  }
  const p: VoicePlanParams = {};
  if (opts.asr) p.asr = opts.asr;
  if (opts.llm) p.llm = opts.llm;
  if (opts.tts) p.tts = opts.tts;
  if (opts.asrModel) p.asrModelPath = path.resolve(opts.asrModel);
  if (opts.llmModel) p.llmModelPath = path.resolve(opts.llmModel);
  if (device) p.llmDevice = device;
  const ctx = intFlag(opts.llmContext, '--llm-context');
  if (ctx !== undefined) p.llmContext = ctx;
  return p;
}

/** The turn-taking flags, as a settings patch (these are settings, not part of the chain). */
function turnSettings(opts: Opts): SettingsPatch {
  const patch: SettingsPatch = {};
  if (opts.speculation !== undefined) {
    if (opts.speculation !== 'on' && opts.speculation !== 'off') throw new AimaError('bad-request', `--speculation takes on or off; got "${opts.speculation}".`, 'Give --speculation on or --speculation off.');
    patch.voiceSpeculation = opts.speculation === 'on';
  }
  const earlyMark = intFlag(opts.earlyMarkMs, '--early-mark-ms');
  if (earlyMark !== undefined) patch.voiceEarlyMarkMs = earlyMark;
  const min = intFlag(opts.windowMinMs, '--window-min-ms');
  if (min !== undefined) patch.voiceWindowMinMs = min;
  const max = intFlag(opts.windowMaxMs, '--window-max-ms');
  if (max !== undefined) patch.voiceWindowMaxMs = max;
  return patch;
}

async function setup(opts: Opts): Promise<void> {
  const choices = planParams(opts);
  const turns = turnSettings(opts);
  const params: VoiceSetupParams = { ...choices, start: Boolean(opts.start) };
  if (opts.voice) params.voice = opts.voice;
  if (opts.systemPrompt !== undefined) params.systemPrompt = opts.systemPrompt;
  const silenceMs = intFlag(opts.silenceMs, '--silence-ms');
  if (silenceMs !== undefined) params.silenceMs = silenceMs;
  const maxTokens = intFlag(opts.maxTokens, '--max-tokens');
  if (maxTokens !== undefined) params.maxTokens = maxTokens;
  if (opts.force) params.force = true;
  const conn = await connect(cliContext());
  try {
    // Settings first: a refused value changes nothing else.
    const s = Object.keys(turns).length > 0 ? await conn.api['settings.update'](turns) : await conn.api['settings.get']({});
    const plan = await conn.api['voice.plan'](choices);
    process.stderr.write(formatVoicePlan(plan) + '\n');
    const r = await withProgress(conn, (operationId) => conn.api['voice.setup']({ ...params, operationId }));
    const c = r.config;
    output(
      opts.json,
      c,
      () =>
        `Voice chain: ASR ${c.asr} → LLM ${c.llm} → TTS ${c.tts}${c.voice ? ` (voice ${c.voice})` : ''}; turn ends after ${c.silenceMs} ms of silence` +
        (s.voiceSpeculation
          ? ` (speculation from ${s.voiceEarlyMarkMs} ms; ${s.voiceWindowMinMs} ms after a complete sentence, ${s.voiceWindowMaxMs} ms after a hesitation).`
          : ' (speculation off).') +
        (r.created.length ? `\nCreated: ${r.created.join(', ')}.` : '') +
        (r.started.length ? `\nStarted: ${r.started.join(', ')}.` : '') +
        '\nTry it: aima voice --in question.wav --out answer.wav',
    );
  } finally {
    conn.close();
  }
}

export function registerSetup(voice: Command): void {
  voice
    .command('setup')
    .description('Plan and set up the ASR, LLM and TTS of the voice chain (creating embedded services when missing); prints each link\'s device and memory first')
    .option('--asr <model>', 'ASR model name (any routable model, or a library model)')
    .option('--llm <model>', 'LLM model name (any routable model, or a library model)')
    .option('--tts <model>', 'TTS model name (any routable model, or a library model)')
    .option('--voice <voice>', 'TTS voice (e.g. slt, kal16)')
    .option('--asr-model <path>', 'import this ASR model file or folder first')
    .option('--llm-model <path>', 'import this GGUF first')
    .option('--llm-device <device>', 'where a new LLM service runs: auto (the GPU when the chain fits there), cpu or gpu')
    .option('--llm-context <n>', 'context per sequence of a new LLM service, tokens')
    .option('--system-prompt <text>', 'system prompt for new conversations')
    .option('--silence-ms <ms>', 'silence that ends your turn (100-5000)')
    .option('--max-tokens <n>', 'longest reply, tokens')
    .option('--speculation <on|off>', 'start each turn speculatively at the early mark and adapt the silence window (setting voiceSpeculation)')
    .option('--early-mark-ms <ms>', 'silence after which a speculative turn starts (setting voiceEarlyMarkMs)')
    .option('--window-min-ms <ms>', 'silence window after a complete sentence or question (setting voiceWindowMinMs)')
    .option('--window-max-ms <ms>', 'silence window after a hesitation or a trailing "and" (setting voiceWindowMaxMs)')
    .option('--start', 'start the chain\'s services now (otherwise they start on first use)')
    .option('--force', 'set up even when the plan says the chain does not fit (estimates can be wrong)')
    .option('--json', 'print JSON')
    .action(
      // `--json` is also an option of the parent `voice` command, which commander gives to the parent.
      action(async (opts: Opts, cmd: Command) => setup({ ...opts, json: opts.json ?? (cmd.optsWithGlobals() as Opts).json })),
    );
}
