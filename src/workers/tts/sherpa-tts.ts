/**
 * sherpa-onnx TTS voice folders as users import them from sherpa-onnx's releases: Piper/VITS
 * (`*.onnx` + `tokens.txt` + `espeak-ng-data/`), Kokoro (`model.onnx` + `voices.bin` + `tokens.txt`)
 * and Matcha (acoustic model + vocoder + `tokens.txt`). Detection and config building are tested;
 * synthesis through this path is unverified here (no such voice can be obtained on these machines).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import sherpa, { type OfflineTtsConfig } from 'sherpa-onnx-node';
import { StartupError } from '../common/worker-server.js';
import type { TtsEngine, VoiceInfo } from './engines.js';

export type SherpaTtsKind = 'vits' | 'kokoro' | 'matcha';

export interface SherpaTtsFolder {
  kind: SherpaTtsKind;
  dir: string;
  config: OfflineTtsConfig;
}

export class VoiceFolderError extends StartupError {}

/** Detects a sherpa-onnx TTS voice folder and builds its config; errors name what is missing. */
export function detectSherpaTtsFolder(dir: string, opts: { threads: number }): SherpaTtsFolder {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new VoiceFolderError(`voice folder ${dir} does not exist or is not a folder`);
  const entries = readdirSync(dir).sort();
  const full = (f: string) => path.join(dir, f);
  const onnx = entries.filter((f) => f.endsWith('.onnx'));
  const has = (f: string) => entries.includes(f);
  const dataDir = has('espeak-ng-data') && statSync(full('espeak-ng-data')).isDirectory() ? full('espeak-ng-data') : undefined;
  const lexicon = entries.find((f) => f.startsWith('lexicon') && f.endsWith('.txt'));
  const listing = entries.join(', ') || 'none';
  const lacks = (kind: SherpaTtsKind, what: string) =>
    new VoiceFolderError(`${kind} voice folder ${dir} lacks ${what} (files present: ${listing})`);
  const common = { numThreads: opts.threads, provider: 'cpu', debug: 0 };

  const vocoder = onnx.find((f) => /vocos|hifigan|vocoder/i.test(f));
  if (has('voices.bin') || /kokoro/i.test(path.basename(dir))) {
    const model = onnx.find((f) => /^model(\.int8)?\.onnx$/.test(f)) ?? onnx.find((f) => /kokoro/i.test(f));
    if (!model) throw lacks('kokoro', 'model.onnx');
    if (!has('voices.bin')) throw lacks('kokoro', 'voices.bin');
    if (!has('tokens.txt')) throw lacks('kokoro', 'tokens.txt');
    if (!dataDir) throw lacks('kokoro', 'the espeak-ng-data folder');
    return {
      kind: 'kokoro',
      dir,
      config: { model: { kokoro: { model: full(model), voices: full('voices.bin'), tokens: full('tokens.txt'), dataDir, lexicon: lexicon ? full(lexicon) : undefined }, ...common }, maxNumSentences: 1 },
    };
  }
  if (vocoder || /matcha/i.test(path.basename(dir))) {
    const acoustic = onnx.find((f) => f !== vocoder);
    if (!acoustic) throw lacks('matcha', 'the acoustic model (e.g. model-steps-3.onnx)');
    if (!vocoder) throw lacks('matcha', 'a vocoder (vocos-*.onnx or hifigan*.onnx)');
    if (!has('tokens.txt')) throw lacks('matcha', 'tokens.txt');
    if (!dataDir && !lexicon) throw lacks('matcha', 'espeak-ng-data/ or a lexicon*.txt');
    return {
      kind: 'matcha',
      dir,
      config: { model: { matcha: { acousticModel: full(acoustic), vocoder: full(vocoder), tokens: full('tokens.txt'), dataDir, lexicon: lexicon ? full(lexicon) : undefined }, ...common }, maxNumSentences: 1 },
    };
  }
  if (onnx.length === 0) {
    throw new VoiceFolderError(
      `voice folder ${dir} holds no .onnx model (files present: ${listing}); expected a Piper/VITS, Kokoro or Matcha voice from sherpa-onnx's tts-models releases`,
    );
  }
  if (onnx.length > 1) throw new VoiceFolderError(`VITS voice folder ${dir} holds several .onnx files (${onnx.join(', ')}); keep one`);
  if (!has('tokens.txt')) throw lacks('vits', 'tokens.txt');
  if (!dataDir && !lexicon) throw lacks('vits', 'espeak-ng-data/ (Piper voices) or a lexicon*.txt');
  return {
    kind: 'vits',
    dir,
    config: { model: { vits: { model: full(onnx[0]), tokens: full('tokens.txt'), dataDir, lexicon: lexicon ? full(lexicon) : undefined }, ...common }, maxNumSentences: 1 },
  };
}

/** A loaded sherpa-onnx voice; each speaker id is a voice (`speaker-0`, ...). */
export class SherpaTtsEngine implements TtsEngine {
  readonly name = 'sherpa-onnx' as const;
  private constructor(
    private readonly tts: InstanceType<typeof sherpa.OfflineTts>,
    private readonly voiceList: VoiceInfo[],
  ) {}

  static async create(dir: string, opts: { threads: number; name?: string }): Promise<SherpaTtsEngine> {
    const folder = detectSherpaTtsFolder(dir, opts);
    let tts: InstanceType<typeof sherpa.OfflineTts>;
    try {
      tts = await sherpa.OfflineTts.createAsync(folder.config);
    } catch (err) {
      throw new VoiceFolderError(`sherpa-onnx could not load the ${folder.kind} voice in ${dir}: ${(err as Error).message}`);
    }
    const base = opts.name ?? path.basename(dir);
    const voices: VoiceInfo[] = [];
    for (let sid = 0; sid < Math.max(1, tts.numSpeakers); sid++) {
      voices.push({ id: tts.numSpeakers > 1 ? `${base}:${sid}` : base, name: `${folder.kind} ${base} speaker ${sid}`, engine: 'sherpa-onnx', sampleRate: tts.sampleRate });
    }
    return new SherpaTtsEngine(tts, voices);
  }

  voices(): VoiceInfo[] {
    return this.voiceList;
  }

  async synthesize(text: string, voiceId: string, speed: number): Promise<Float32Array> {
    const sid = Number(voiceId.split(':')[1] ?? 0);
    return (await this.tts.generateAsync({ text, sid, speed })).samples;
  }

  close(): void {}
}
