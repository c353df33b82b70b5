/** `aima voice …`: one spoken turn from a WAV file, `setup` of the ASR → LLM → TTS chain, `export` of a conversation (one file per command). */
import type { Command } from 'commander';
import { registerSetup } from './setup.js';
import { registerTurn } from './turn.js';
import { registerExport } from './export.js';

export function registerVoice(program: Command): void {
  const voice = program.command('voice').description('Talk to AIMA: one spoken turn through the ASR → LLM → TTS chain (`aima voice setup` first)');
  registerTurn(voice);
  registerSetup(voice);
  registerExport(voice);
}
