/**
 * sherpa-onnx offline ASR model folders (SenseVoice, Whisper, Paraformer) as users import them
 * from sherpa-onnx's releases: detect which kind a folder holds, build the recognizer config, and
 * say exactly which file is missing when a folder is incomplete. No such model ships with AIMA or
 * exists on the test machines, so recognition through this path is unverified here.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { OfflineRecognizerConfig } from 'sherpa-onnx-node';
import { StartupError } from '../common/worker-server.js';

export type SherpaAsrKind = 'sense-voice' | 'whisper' | 'paraformer';

export interface SherpaAsrFolder {
  kind: SherpaAsrKind;
  dir: string;
  config: OfflineRecognizerConfig;
}

/** A model folder that cannot be used, with the reason in words. */
export class ModelFolderError extends StartupError {}

/** Picks `name` or its int8 variant (preferring int8, the smaller and faster on CPU). */
function pick(files: readonly string[], suffixes: readonly string[]): string | undefined {
  for (const s of suffixes) {
    const hit = files.find((f) => f.endsWith(s));
    if (hit) return hit;
  }
  return undefined;
}

/**
 * Detects a sherpa-onnx offline ASR folder and builds its config. `kind` overrides detection;
 * without it the folder's file names (whisper: `*-encoder.onnx` + `*-decoder.onnx`) and its name
 * (`sense-voice`, `paraformer`) decide.
 */
export function detectSherpaAsrFolder(dir: string, opts: { threads: number; kind?: SherpaAsrKind; language?: string }): SherpaAsrFolder {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ModelFolderError(`model folder ${dir} does not exist or is not a folder`);
  const files = readdirSync(dir).sort();
  const full = (f: string) => path.join(dir, f);
  const tokens = pick(files, ['tokens.txt']);
  const lower = path.basename(dir).toLowerCase();
  const encoder = pick(files, ['encoder.int8.onnx', 'encoder.onnx']);
  const decoder = pick(files, ['decoder.int8.onnx', 'decoder.onnx']);
  let kind = opts.kind;
  if (!kind) {
    if (encoder || decoder || lower.includes('whisper')) kind = 'whisper';
    else if (lower.includes('sense') && lower.includes('voice')) kind = 'sense-voice';
    else if (lower.includes('paraformer')) kind = 'paraformer';
    else {
      throw new ModelFolderError(
        `cannot tell which sherpa-onnx model ${dir} holds (files: ${files.join(', ') || 'none'}): expected a Whisper ` +
          `export (*-encoder.onnx, *-decoder.onnx, *-tokens.txt) or a folder named like sherpa-onnx-sense-voice-* / *paraformer*; ` +
          `pass the kind explicitly (sense-voice | whisper | paraformer)`,
      );
    }
  }
  const missing = (what: string) => new ModelFolderError(`${kind} model folder ${dir} lacks ${what} (files present: ${files.join(', ') || 'none'})`);
  if (!tokens) throw missing('a tokens file (tokens.txt or *-tokens.txt)');
  const common = { tokens: full(tokens), numThreads: opts.threads, provider: 'cpu', debug: 0 };
  switch (kind) {
    case 'whisper':
      if (!encoder) throw missing('the encoder (*-encoder.onnx or *-encoder.int8.onnx)');
      if (!decoder) throw missing('the decoder (*-decoder.onnx or *-decoder.int8.onnx)');
      return {
        kind,
        dir,
        config: {
          featConfig: { sampleRate: 16_000, featureDim: 80 },
          modelConfig: { whisper: { encoder: full(encoder), decoder: full(decoder), language: opts.language ?? '', task: 'transcribe' }, ...common },
        },
      };
    case 'sense-voice':
    case 'paraformer': {
      const model = pick(files, ['model.int8.onnx', 'model.onnx']);
      if (!model) throw missing('model.onnx (or model.int8.onnx)');
      const modelConfig =
        kind === 'sense-voice'
          ? { senseVoice: { model: full(model), language: opts.language ?? '', useInverseTextNormalization: 1 }, ...common }
          : { paraformer: { model: full(model) }, ...common };
      return { kind, dir, config: { featConfig: { sampleRate: 16_000, featureDim: 80 }, modelConfig } };
    }
  }
}
