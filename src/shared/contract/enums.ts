/**
 * The contract's closed lists as plain arrays, free of zod: the schemas are built from them
 * (`z.enum(modelKinds)`), and the CLI declares its options and checks its arguments with them
 * without loading a schema (a command that only prints its help never loads zod).
 */

export const modelKinds = ['llm', 'asr', 'tts', 'vad', 'embedding'] as const;
export type ModelKind = (typeof modelKinds)[number];

export const devices = ['cpu', 'gpu'] as const;
export type Device = (typeof devices)[number];

export const remoteKinds = ['llm', 'embedding', 'asr', 'tts'] as const;

export const fitCacheTypes = ['f16', 'q8_0', 'q4_0', 'fp8'] as const;

/** The settings' names in the order the Settings schema declares them (settings.ts checks they agree). */
export const settingKeys = ['startAtLogin', 'onQuit', 'startOnDemand', 'theme', 'gatewayQueueSize', 'gatewayQueueTimeoutSeconds', 'corsOrigins', 'realtimeMaxSessions', 'realtimeIdleSeconds', 'engineResources', 'servicesMemoryCapMiB', 'onDemandIdleTtlSeconds', 'antiThrashSeconds', 'voiceRecording', 'voiceRecordingCapMiB', 'voiceSpeculation', 'voiceEarlyMarkMs', 'voiceWindowMinMs', 'voiceWindowMaxMs', 'listenHost', 'serverNames', 'tlsCertFile', 'tlsKeyFile', 'downloadSource'] as const;

/** Where models are searched and downloaded: the Hugging Face Hub (HF_ENDPOINT) or ModelScope (MODELSCOPE_ENDPOINT). */
export const hubSources = ['huggingface', 'modelscope'] as const;

/** Each source's name in messages and on the page. */
export const hubSourceLabels: Record<(typeof hubSources)[number], string> = { huggingface: 'Hugging Face', modelscope: 'ModelScope' };

/** Microphone audio on the voice socket is 16 kHz mono, the rate of the VAD and ASR. */
export const VOICE_INPUT_SAMPLE_RATE = 16_000;

/** Longest idle TTL of a service: 30 days, in seconds. */
export const MAX_IDLE_TTL_SECONDS = 30 * 24 * 3600;
