/**
 * The voice conversation's API: the default chain (which ASR, LLM and TTS models to use),
 * conversations with their turns, and the per-turn timeline. The live audio itself goes over the
 * `/api/voice` WebSocket (see docs/voice.md), not through calls.
 */
import { z } from 'zod';

/** The services of the chain, by the model name the gateway routes (embedded, Docker or remote). */
export const VoiceConfig = z.object({
  asr: z.string().nullable(),
  llm: z.string().nullable(),
  tts: z.string().nullable(),
  /** TTS voice (the engine's default when null). */
  voice: z.string().nullable(),
  systemPrompt: z.string(),
  /** Silence that ends the user's turn, ms. */
  silenceMs: z.number().int().min(100).max(5000),
  /** Largest reply, tokens. */
  maxTokens: z.number().int().min(1).max(8192),
});
export type VoiceConfig = z.infer<typeof VoiceConfig>;
export const VoiceConfigPatch = VoiceConfig.partial().strict();
export type VoiceConfigPatch = z.infer<typeof VoiceConfigPatch>;

/**
 * The chain a live session runs: the voice config (or a conversation's models) with every link
 * resolved. A session's `start` may override any part of it; `ready` reports the result.
 */
export const VoiceChain = z.object({
  asr: z.string().min(1),
  llm: z.string().min(1),
  tts: z.string().min(1),
  voice: z.string().nullable(),
  systemPrompt: z.string(),
  silenceMs: VoiceConfig.shape.silenceMs,
  maxTokens: VoiceConfig.shape.maxTokens,
});
export type VoiceChain = z.infer<typeof VoiceChain>;

/**
 * When each step of a turn happened, ms on the core's monotonic clock (performance.now()); client
 * timestamps are converted with the offset measured at session start. Null: did not happen.
 */
export const VoiceTimeline = z.object({
  /** Onset and last voiced frame of the user's speech (the VAD's own placement). */
  speechStart: z.number().nullable(),
  speechEnd: z.number().nullable(),
  /** The silence window that had to pass before the turn ended, ms (reported separately). */
  silenceWindowMs: z.number(),
  /**
   * Why the window was what it was, with speculation on: `complete` (a finished sentence or
   * question shortened it), `hesitation` (lengthened), `base`, `awaiting` (the longest window
   * passed while the speculative transcript was still unknown); null: the VAD's fixed window.
   */
  windowRule: z.enum(['complete', 'hesitation', 'base', 'awaiting']).nullable(),
  /**
   * Speculation during the silence window: `kept` (the turn began at the early mark and its held
   * output was released at the end of turn), `discarded` (speech came again, or the audio changed,
   * and the turn ran anew), null (none).
   */
  speculation: z.enum(['kept', 'discarded']).nullable(),
  /** When the kept speculation (or the last discarded one) started. */
  speculationStart: z.number().nullable(),
  /** Speculations discarded during this utterance. */
  speculationsDiscarded: z.number().int(),
  /** The VAD declared the end of the turn. */
  endOfTurn: z.number().nullable(),
  asrDone: z.number().nullable(),
  llmFirstToken: z.number().nullable(),
  firstSentence: z.number().nullable(),
  /** First TTS audio sent to the client. */
  firstAudio: z.number().nullable(),
  /** The client started playing (reported by it). */
  playbackStart: z.number().nullable(),
  llmDone: z.number().nullable(),
  turnEnd: z.number().nullable(),
  /** speechEnd → firstAudio, ms (includes the silence window). */
  voiceToVoiceMs: z.number().nullable(),
});
export type VoiceTimeline = z.infer<typeof VoiceTimeline>;

/** The timeline's fields that are not points in time (durations, counts, labels). */
export const voiceTimelineNonTimes = ['silenceWindowMs', 'voiceToVoiceMs', 'windowRule', 'speculation', 'speculationsDiscarded'] as const;
/** The timeline's points in time. */
export type VoiceTimelinePoint = Exclude<keyof VoiceTimeline, (typeof voiceTimelineNonTimes)[number]>;

/** A turn's timeline before anything is measured. */
export function emptyVoiceTimeline(silenceMs: number): VoiceTimeline {
  return {
    speechStart: null,
    speechEnd: null,
    silenceWindowMs: silenceMs,
    windowRule: null,
    speculation: null,
    speculationStart: null,
    speculationsDiscarded: 0,
    endOfTurn: null,
    asrDone: null,
    llmFirstToken: null,
    firstSentence: null,
    firstAudio: null,
    playbackStart: null,
    llmDone: null,
    turnEnd: null,
    voiceToVoiceMs: null,
  };
}

/**
 * A turn's recorded audio (the voiceRecording setting): FLAC files at
 * {@link voiceRecordingPath}, their lengths in seconds (null: that side was not recorded, or
 * was removed by the size cap) and the bytes both take.
 */
export const VoiceTurnRecording = z.object({
  userSeconds: z.number().nullable(),
  replySeconds: z.number().nullable(),
  bytes: z.number().int(),
});
export type VoiceTurnRecording = z.infer<typeof VoiceTurnRecording>;

export const voiceRecordingSides = ['user', 'reply'] as const;
export type VoiceRecordingSide = (typeof voiceRecordingSides)[number];

/** A recording's file name inside its conversation's folder. */
export const voiceRecordingFile = (turnId: string, side: VoiceRecordingSide) => `${turnId}-${side}.flac`;

/** Where the core serves a recording (GET, with the API's auth: the login cookie, the token or an API key). */
export const voiceRecordingPath = (conversationId: string, turnId: string, side: VoiceRecordingSide) =>
  `/api/voice/recordings/${encodeURIComponent(conversationId)}/${encodeURIComponent(voiceRecordingFile(turnId, side))}`;

/** Where the core serves a whole conversation as a zip (audio, transcript, timeline JSON). */
export const voiceExportPath = (conversationId: string) => `/api/voice/export/${encodeURIComponent(conversationId)}.zip`;

export const VoiceTurn = z.object({
  id: z.string(),
  seq: z.number().int(),
  user: z.string(),
  assistant: z.string(),
  interrupted: z.boolean(),
  timeline: VoiceTimeline.partial(),
  /** Null: nothing of this turn is recorded. */
  recording: VoiceTurnRecording.nullable(),
  createdAt: z.string(),
});
export type VoiceTurn = z.infer<typeof VoiceTurn>;

export const VoiceConversation = z.object({
  id: z.string(),
  title: z.string(),
  systemPrompt: z.string(),
  asr: z.string().nullable(),
  llm: z.string().nullable(),
  tts: z.string().nullable(),
  voice: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  turnCount: z.number().int(),
});
export type VoiceConversation = z.infer<typeof VoiceConversation>;
export const VoiceConversationDetail = VoiceConversation.extend({ turns: z.array(VoiceTurn) });
export type VoiceConversationDetail = z.infer<typeof VoiceConversationDetail>;

export const VoiceConversationCreateParams = z
  .object({
    title: z.string().max(200).optional(),
    systemPrompt: z.string().max(20_000).optional(),
    asr: z.string().min(1).optional(),
    llm: z.string().min(1).optional(),
    tts: z.string().min(1).optional(),
    voice: z.string().min(1).optional(),
  })
  .strict();
export const VoiceConversationRef = z.object({ id: z.string().min(1) }).strict();
export const VoiceConversationDeleteResult = z.object({ deleted: z.boolean() });

/** Writes a conversation into a folder on the core's machine: audio, transcript and timeline JSON. */
export const VoiceConversationExportParams = z
  .object({
    id: z.string().min(1),
    /** Absolute path of the folder to write (created when missing; files of the same names are replaced). */
    dir: z.string().min(1),
  })
  .strict();
export const VoiceConversationExportResult = z.object({
  dir: z.string(),
  /** Files written, relative to dir. */
  files: z.array(z.string()),
});
export type VoiceConversationExportResult = z.infer<typeof VoiceConversationExportResult>;

/** One recording's bytes, for clients that cannot use the /api URL (the desktop page, over IPC). */
export const VoiceRecordingReadParams = z
  .object({ conversationId: z.string().min(1), turnId: z.string().min(1), side: z.enum(voiceRecordingSides) })
  .strict();
export const VoiceRecordingData = z.object({ mime: z.literal('audio/flac'), base64: z.string() });

/** Space the recordings take, against the cap. */
export const VoiceRecordingUsage = z.object({
  enabled: z.boolean(),
  bytes: z.number().int(),
  capBytes: z.number().int(),
  /** Turns with audio. */
  turns: z.number().int(),
  /** Where the files are. */
  dir: z.string(),
});
export type VoiceRecordingUsage = z.infer<typeof VoiceRecordingUsage>;

// ------------------------------------------------------------------------- setup and budget

export const voiceRoles = ['asr', 'llm', 'tts'] as const;
export type VoiceRole = (typeof voiceRoles)[number];

/** What a client may choose when planning the chain; everything left out is found automatically. */
export const VoicePlanParams = z
  .object({
    /** A model (or service) name per link: any routable one (embedded or Docker service, remote endpoint, library model). */
    asr: z.string().min(1).optional(),
    llm: z.string().min(1).optional(),
    tts: z.string().min(1).optional(),
    /** Absolute paths of model files to import for a link (the ASR: Whisper ONNX or sherpa-onnx folder; the LLM: GGUF). */
    asrModelPath: z.string().min(1).optional(),
    llmModelPath: z.string().min(1).optional(),
    /** Where a new LLM service runs: auto (the GPU when the chain fits there, else the CPU), cpu or gpu. */
    llmDevice: z.enum(['auto', 'cpu', 'gpu']).optional(),
    /** Context per sequence of a new LLM service, tokens (default: the model's trained context, at most 4096). */
    llmContext: z.number().int().min(64).max(1_048_576).optional(),
  })
  .strict();
export type VoicePlanParams = z.infer<typeof VoicePlanParams>;

/** One link of the planned chain: what serves it, where, and the memory it takes. */
export const VoicePlanLink = z.object({
  role: z.enum(voiceRoles),
  /** The name the chain routes (saved in the voice config). */
  name: z.string(),
  /** An existing service, a service this setup creates, a remote endpoint. */
  via: z.enum(['service', 'new-service', 'remote']),
  /** The service's name (existing or to be created); null for a remote. */
  service: z.string().nullable(),
  engine: z.string().nullable(),
  /** The library model it serves (null: no model, e.g. flite; or a remote). */
  model: z.string().nullable(),
  /** The model file to import first (then `model` is null until it is imported). */
  importPath: z.string().nullable(),
  /** The existing service's state; null for a new service or a remote. */
  state: z.string().nullable(),
  device: z.enum(['cpu', 'gpu', 'remote']),
  /** Context per sequence of an LLM service, when known. */
  contextSize: z.number().int().nullable(),
  gpuBytes: z.number(),
  ramBytes: z.number(),
  /** measured: what the running process holds now; estimated: from the model; none: nothing local. */
  memory: z.enum(['measured', 'estimated', 'none']),
  /** Whether its memory is still to be taken (false: it runs already, its memory is counted in what is used). */
  counted: z.boolean(),
  /** Why this choice, in words. */
  note: z.string(),
});
export type VoicePlanLink = z.infer<typeof VoicePlanLink>;

export const VoicePlanVerdict = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('fits'), message: z.string() }),
  z.object({
    kind: z.literal('does-not-fit'),
    /** Which memory runs out. */
    resource: z.enum(['gpu', 'ram']),
    overByBytes: z.number(),
    /** The largest part on that resource. */
    largest: z.enum(voiceRoles),
    message: z.string(),
  }),
]);
export type VoicePlanVerdict = z.infer<typeof VoicePlanVerdict>;

/** A change that makes the chain fit (or fit better); `choices` applied to the plan's params gives it. */
export const VoicePlanAlternative = z.object({
  kind: z.enum(['llm-on-cpu', 'smaller-context', 'link-on-cpu', 'stop-service']),
  message: z.string(),
  choices: VoicePlanParams.partial().nullable(),
  /** stop-service: the service to stop. */
  service: z.string().nullable(),
});
export type VoicePlanAlternative = z.infer<typeof VoicePlanAlternative>;

/** A process holding GPU memory: one of AIMA's services (`service` named) or a foreign one. */
export const VoiceGpuHolder = z.object({
  gpu: z.number().int(),
  pid: z.number().int(),
  name: z.string(),
  service: z.string().nullable(),
  usedBytes: z.number(),
});
export type VoiceGpuHolder = z.infer<typeof VoiceGpuHolder>;

export const VoicePlan = z.object({
  links: z.array(VoicePlanLink),
  /** What the links still to start take (links that run already are counted in `used`). */
  total: z.object({ gpuBytes: z.number(), ramBytes: z.number() }),
  /** The GPU the chain is budgeted on (the one with the most free memory); null: none detected. */
  gpu: z.object({ index: z.number().int(), name: z.string(), totalBytes: z.number(), freeBytes: z.number(), budgetBytes: z.number() }).nullable(),
  /** Host memory; null when it could not be read. */
  ram: z.object({ totalBytes: z.number(), availableBytes: z.number() }).nullable(),
  verdict: VoicePlanVerdict,
  alternatives: z.array(VoicePlanAlternative),
  holders: z.array(VoiceGpuHolder),
  /** The services this setup would create. */
  creates: z.array(z.string()),
});
export type VoicePlan = z.infer<typeof VoicePlan>;

export const VoiceSetupParams = VoicePlanParams.extend({
  voice: VoiceConfig.shape.voice.optional(),
  systemPrompt: z.string().max(20_000).optional(),
  silenceMs: VoiceConfig.shape.silenceMs.optional(),
  maxTokens: VoiceConfig.shape.maxTokens.optional(),
  /** Start the chain's services once set up (default true), with progress on `operationId`. */
  start: z.boolean().optional(),
  /** Set up (and start) even when the plan says the chain does not fit (estimates can be wrong). */
  force: z.boolean().optional(),
  operationId: z.string().max(100).optional(),
  /** Longest wait for one service to start, ms. */
  timeoutMs: z.number().int().min(1).max(24 * 3600_000).optional(),
}).strict();
export type VoiceSetupParams = z.infer<typeof VoiceSetupParams>;

export const VoiceSetupResult = z.object({
  plan: VoicePlan,
  config: VoiceConfig,
  /** Services created, and services started, by this setup. */
  created: z.array(z.string()),
  started: z.array(z.string()),
});
export type VoiceSetupResult = z.infer<typeof VoiceSetupResult>;
