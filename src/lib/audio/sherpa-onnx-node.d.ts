/**
 * Types for the parts of sherpa-onnx-node (1.13.x, which ships JSDoc but no .d.ts) that AIMA uses:
 * the VAD, the resampler, offline ASR and offline TTS. Shapes follow the package's types.js.
 */
declare module 'sherpa-onnx-node' {
  export interface SileroVadModelConfig {
    model: string;
    threshold?: number;
    minSilenceDuration?: number;
    minSpeechDuration?: number;
    windowSize?: number;
    maxSpeechDuration?: number;
  }
  export interface VadConfig {
    sileroVad: SileroVadModelConfig;
    sampleRate?: number;
    numThreads?: number;
    provider?: string;
    debug?: boolean | number;
  }
  export interface SpeechSegment {
    start: number;
    samples: Float32Array;
  }
  export class Vad {
    constructor(config: VadConfig, bufferSizeInSeconds: number);
    acceptWaveform(samples: Float32Array): void;
    isEmpty(): boolean;
    isDetected(): boolean;
    pop(): void;
    clear(): void;
    front(enableExternalBuffer?: boolean): SpeechSegment;
    reset(): void;
    flush(): void;
  }
  export class LinearResampler {
    constructor(inputSampleRate: number, outputSampleRate: number);
    resample(samples: Float32Array): Float32Array;
    flush(samples: Float32Array): Float32Array;
    reset(): void;
  }
  export interface OfflineModelConfig {
    whisper?: { encoder: string; decoder: string; language?: string; task?: string; tailPaddings?: number };
    senseVoice?: { model: string; language?: string; useInverseTextNormalization?: number };
    paraformer?: { model: string };
    tokens: string;
    numThreads?: number;
    provider?: string;
    debug?: boolean | number;
  }
  export interface OfflineRecognizerConfig {
    featConfig?: { sampleRate?: number; featureDim?: number };
    modelConfig: OfflineModelConfig;
  }
  export interface OfflineStream {
    acceptWaveform(obj: { samples: Float32Array; sampleRate: number }): void;
  }
  export interface OfflineRecognizerResult {
    text: string;
    timestamps?: number[];
    tokens?: string[];
    lang?: string;
  }
  export class OfflineRecognizer {
    constructor(config: OfflineRecognizerConfig);
    static createAsync(config: OfflineRecognizerConfig): Promise<OfflineRecognizer>;
    createStream(): OfflineStream;
    decode(stream: OfflineStream): void;
    getResult(stream: OfflineStream): OfflineRecognizerResult;
  }
  export interface OfflineTtsModelConfig {
    vits?: { model: string; lexicon?: string; tokens: string; dataDir?: string; lengthScale?: number };
    matcha?: { acousticModel: string; vocoder: string; lexicon?: string; tokens: string; dataDir?: string };
    kokoro?: { model: string; voices: string; tokens: string; dataDir?: string; lexicon?: string; lang?: string };
    numThreads?: number;
    provider?: string;
    debug?: boolean | number;
  }
  export interface OfflineTtsConfig {
    model: OfflineTtsModelConfig;
    maxNumSentences?: number;
    numThreads?: number;
  }
  export interface GeneratedAudio {
    samples: Float32Array;
    sampleRate: number;
  }
  export class OfflineTts {
    constructor(config: OfflineTtsConfig);
    static createAsync(config: OfflineTtsConfig): Promise<OfflineTts>;
    readonly numSpeakers: number;
    readonly sampleRate: number;
    generate(req: { text: string; sid: number; speed: number }): GeneratedAudio;
    generateAsync(req: { text: string; sid: number; speed: number }): Promise<GeneratedAudio>;
  }
  const sherpa: {
    Vad: typeof Vad;
    LinearResampler: typeof LinearResampler;
    OfflineRecognizer: typeof OfflineRecognizer;
    OfflineTts: typeof OfflineTts;
    version: string;
  };
  export default sherpa;
}
