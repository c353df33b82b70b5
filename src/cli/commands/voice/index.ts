/** `aima voice …`: one spoken turn from a WAV file, and `setup` of the ASR → LLM → TTS chain (one file per command). */
import type { Command } from 'commander';
import { registerSetup } from './setup.js';
import { registerTurn } from './turn.js';

export function registerVoice(program: Command): void {
  const voice = program.command('voice').description('Talk to AIMA: one spoken turn through the ASR → LLM → TTS chain (`aima voice setup` first)');
  registerTurn(voice);
  registerSetup(voice);
}
