/**
 * The ASR backends behind the worker's one HTTP surface. Each takes at most `windowSamples` of
 * 16 kHz mono audio per call; the worker splits longer audio at pauses.
 */
import { existsSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
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
}

/**
 * Whether `file` starts as an ONNX ModelProto does: its first field is `ir_version` (field 1, a
 * varint), which every ONNX writer puts first. Reads 16 bytes, so a text file, an HTML error page
 * saved as .onnx or a truncated download fails before the worker listens, not after.
 */
async function checkOnnxHeader(file: string): Promise<void> {
  const handle = await open(file, 'r').catch((err: NodeJS.ErrnoException) => {
    throw new ModelFolderError(`cannot read ${file}: ${err.code ?? err.message}`);
  });
  try {
    const { bytesRead, buffer } = await handle.read(Buffer.alloc(16), 0, 16, 0);
    // Key 0x08 (field 1, varint), then an IR version from 1 to 127 in one byte.
    if (bytesRead < 2 || buffer[0] !== 0x08 || buffer[1] < 1 || buffer[1] > 0x7f) {
      throw new ModelFolderError(`${file} is not an ONNX model (it does not start with an ONNX ModelProto header); re-download or re-export it`);
    }
  } finally {
    await handle.close();
  }
}

/**
 * The cheap part of opening a model, run before the worker listens: the path exists, a folder is
 * a complete sherpa-onnx model, and every ONNX file it names looks like ONNX. Throws
 * {@link ModelFolderError} naming the path and what is wrong.
 */
export async function checkAsrModel(modelPath: string, opts: { threads: number; sherpaKind?: SherpaAsrKind }): Promise<void> {
  if (!existsSync(modelPath)) throw new ModelFolderError(`model path ${modelPath} does not exist`);
  if (statSync(modelPath).isDirectory()) {
    const { config } = detectSherpaAsrFolder(modelPath, { threads: opts.threads, kind: opts.sherpaKind });
    const m = config.modelConfig;
    const files = [m.whisper?.encoder, m.whisper?.decoder, m.senseVoice?.model, m.paraformer?.model].filter((f): f is string => !!f);
    for (const f of files) await checkOnnxHeader(f);
    return;
  }
  if (!modelPath.endsWith('.onnx')) {
    throw new ModelFolderError(`${modelPath} is neither an .onnx Whisper export nor a sherpa-onnx model folder`);
  }
  await checkOnnxHeader(modelPath);
}

/**
 * Opens the model at `modelPath` (after {@link checkAsrModel}): an `.onnx` file is taken as the
 * Whisper all-in-one export, a folder as a sherpa-onnx offline model. Errors name the unusable file.
 */
export async function openAsrBackend(modelPath: string, opts: { threads: number; sherpaKind?: SherpaAsrKind; beams?: number }): Promise<AsrBackend> {
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
  return new WhisperOnnxBackend(await WhisperOnnx.load(modelPath, { threads: opts.threads, numBeams: opts.beams }));
}
