/**
 * The ASR backends behind the worker's one HTTP surface. Each takes at most `windowSamples` of
 * 16 kHz mono audio per call; the worker splits longer audio at pauses.
 */
import { existsSync, statSync } from 'node:fs';
import sherpa from 'sherpa-onnx-node';
import { detectSherpaAsrFolder, ModelFolderError, type SherpaAsrKind } from './sherpa-asr.js';
import { WHISPER_WINDOW_SAMPLES, WhisperOnnx } from './whisper-onnx.js';

export interface AsrBackend {
  /** What runs the model, for /v1/models and /health. */
  readonly engine: 'whisper-onnx' | `sherpa-onnx-${SherpaAsrKind}`;
  /** Longest input per call, in 16 kHz samples. */
  readonly windowSamples: number;
  /** Languages the model can be asked for; undefined = any (the model detects). */
  readonly languages?: readonly string[];
  transcribe(samples: Float32Array): Promise<string>;
  close(): Promise<void>;
}

class WhisperOnnxBackend implements AsrBackend {
  readonly engine = 'whisper-onnx' as const;
  readonly windowSamples = WHISPER_WINDOW_SAMPLES;
  readonly languages: readonly string[] | undefined;
  constructor(private readonly model: WhisperOnnx) {
    this.languages = model.englishOnly ? ['en'] : undefined;
  }
  async transcribe(samples: Float32Array): Promise<string> {
    return (await this.model.transcribe(samples)).text;
  }
  close(): Promise<void> {
    return this.model.close();
  }
}

class SherpaBackend implements AsrBackend {
  // sherpa-onnx's offline models take whole utterances; 30 s keeps memory bounded for all three.
  readonly windowSamples = 30 * 16_000;
  constructor(
    readonly engine: `sherpa-onnx-${SherpaAsrKind}`,
    private readonly recognizer: InstanceType<typeof sherpa.OfflineRecognizer>,
  ) {}
  async transcribe(samples: Float32Array): Promise<string> {
    const stream = this.recognizer.createStream();
    stream.acceptWaveform({ samples, sampleRate: 16_000 });
    this.recognizer.decode(stream);
    return this.recognizer.getResult(stream).text.trim();
  }
  async close(): Promise<void> {}
}

/**
 * Opens the model at `modelPath`: an `.onnx` file is taken as the Whisper all-in-one export, a
 * folder as a sherpa-onnx offline model. Errors name the missing or unusable file.
 */
export async function openAsrBackend(modelPath: string, opts: { threads: number; sherpaKind?: SherpaAsrKind; beams?: number }): Promise<AsrBackend> {
  if (!existsSync(modelPath)) throw new ModelFolderError(`model path ${modelPath} does not exist`);
  if (statSync(modelPath).isDirectory()) {
    const folder = detectSherpaAsrFolder(modelPath, { threads: opts.threads, kind: opts.sherpaKind });
    let recognizer: InstanceType<typeof sherpa.OfflineRecognizer>;
    try {
      recognizer = await sherpa.OfflineRecognizer.createAsync(folder.config);
    } catch (err) {
      throw new ModelFolderError(`sherpa-onnx could not load the ${folder.kind} model in ${modelPath}: ${(err as Error).message}`);
    }
    return new SherpaBackend(`sherpa-onnx-${folder.kind}`, recognizer);
  }
  if (!modelPath.endsWith('.onnx')) {
    throw new ModelFolderError(`${modelPath} is neither an .onnx Whisper export nor a sherpa-onnx model folder`);
  }
  return new WhisperOnnxBackend(await WhisperOnnx.load(modelPath, { threads: opts.threads, numBeams: opts.beams }));
}
