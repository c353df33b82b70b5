/**
 * The `/api/voice` WebSocket protocol (docs/voice.md), both directions, as zod schemas: the core
 * validates what a client sends; the Voice page and `aima voice` parse what the core sends. One
 * live session per connection:
 *
 * ```
 *  client                                            core
 *  start ──────────────────────────────────────────►
 *        ◄────────────────────────────────────────── sync (3 rounds; each answered by a client sync)
 *        ◄────────────────────────────────────────── ready
 *  binary PCM, playback, end, cancel ──────────────►
 *        ◄────────────────────────────────────────── state, transcript, reply, sentence,
 *                                                    audio (+ one binary frame), audio.end,
 *                                                    audio.stop, barge-in, turn, idle, error
 * ```
 *
 * Text frames are JSON messages; binary frames are audio only (see `micFrameIssue` and
 * `audioFrameBytes`). A client message that does not fit its schema is answered with an `error`
 * whose `issues` name the fields, and the session goes on; only a bad `start` ends it (close
 * 1008), since without one there is no session.
 */
import { z } from 'zod';
import { voiceTurnStates } from '../voice-turn-state.js';
import { VoiceChain, VoiceTimeline } from './voice.js';
import { VOICE_INPUT_SAMPLE_RATE } from './enums.js';

export { VOICE_INPUT_SAMPLE_RATE };

/** Sample encodings of microphone frames: 16-bit integer or 32-bit float, little-endian. */
export const VoiceAudioFormat = z.enum(['s16le', 'f32le']);
export type VoiceAudioFormat = z.infer<typeof VoiceAudioFormat>;

export const voiceBytesPerSample: Record<VoiceAudioFormat, number> = { s16le: 2, f32le: 4 };

// ---- Client → core ----

/** The first message: how the audio comes, and which conversation and chain to use. */
export const VoiceStartMessage = z
  .object({
    type: z.literal('start'),
    /** Resume this conversation (its models, prompt and history); omitted: a new one. */
    conversationId: z.string().optional(),
    /** false: do not store the turns (benchmarks). Default true. */
    persist: z.boolean().optional(),
    format: VoiceAudioFormat.default('s16le'),
    sampleRate: z.literal(VOICE_INPUT_SAMPLE_RATE).default(VOICE_INPUT_SAMPLE_RATE),
    /** The client plays the audio and sends playback reports (a browser); false for files (the CLI). */
    playback: z.boolean().default(false),
    /** Overrides of the chain for this session. */
    chain: VoiceChain.partial().optional(),
    llm: z.object({ temperature: z.number().min(0).max(2).optional(), seed: z.number().int().optional() }).optional(),
    echo: z.boolean().default(true),
  })
  .strict();
/** A `start` as the core reads it, defaults filled in. */
export type VoiceStartOptions = z.output<typeof VoiceStartMessage>;

/** The answer to a core `sync`: its `coreTime` echoed, with the client's `performance.now()`. */
export const VoiceSyncReply = z.object({ type: z.literal('sync'), coreTime: z.number(), clientTime: z.number() });

/** The client started or finished playing a turn's audio, at its own `performance.now()`. */
export const VoicePlaybackMessage = z.object({
  type: z.literal('playback'),
  turnId: z.string(),
  event: z.enum(['start', 'end']),
  clientTime: z.number(),
});

/** End of input: the open speech ends the turn now; the core answers `idle` once every turn is done. */
export const VoiceEndMessage = z.object({ type: z.literal('end') });

/** Cut the turn in flight (a barge-in without speech). */
export const VoiceCancelMessage = z.object({ type: z.literal('cancel') });

/** Every JSON message a client sends. */
export const VoiceClientMessage = z.discriminatedUnion('type', [VoiceStartMessage, VoiceSyncReply, VoicePlaybackMessage, VoiceEndMessage, VoiceCancelMessage]);
/** What a client may send (defaults still optional). */
export type VoiceClientMessage = z.input<typeof VoiceClientMessage>;
/** A client message as the core reads it. */
export type VoiceClientMessageParsed = z.output<typeof VoiceClientMessage>;

// ---- Core → client ----

/** Clock probe (NTP-style); the round trip with the lowest RTT sets the offset: core = client − offset. */
export const VoiceSyncProbe = z.object({ type: z.literal('sync'), coreTime: z.number() });

/** The session is set up: stream audio now. Times are ms on the core's clock. */
export const VoiceReadyMessage = z.object({
  type: z.literal('ready'),
  /** The stored conversation, null when not persisted. */
  conversationId: z.string().nullable(),
  chain: VoiceChain,
  clockOffsetMs: z.number(),
  rttMs: z.number(),
  coreTime: z.number(),
});

export const VoiceStateMessage = z.object({
  type: z.literal('state'),
  state: z.enum(voiceTurnStates),
  turnId: z.string().nullable(),
  at: z.number(),
});

/** What the user said. */
export const VoiceTranscriptMessage = z.object({ type: z.literal('transcript'), turnId: z.string(), text: z.string() });

/** LLM text as it streams. */
export const VoiceReplyMessage = z.object({ type: z.literal('reply'), turnId: z.string(), delta: z.string() });

/** A piece of the reply sent to TTS. */
export const VoiceSentenceMessage = z.object({ type: z.literal('sentence'), turnId: z.string(), index: z.number().int(), text: z.string(), at: z.number() });

/** Header of one chunk of reply audio; exactly one binary frame with its PCM follows. Play in `seq` order. */
export const VoiceAudioMessage = z.object({
  type: z.literal('audio'),
  turnId: z.string(),
  seq: z.number().int().min(0),
  sampleRate: z.number().int().positive(),
  format: z.literal('s16le'),
  /** Samples in the binary frame that follows (2 bytes each). */
  samples: z.number().int().min(0),
});
export type VoiceAudioMessage = z.infer<typeof VoiceAudioMessage>;

/** No more audio for the turn. */
export const VoiceAudioEndMessage = z.object({ type: z.literal('audio.end'), turnId: z.string() });

/** Stop playing the turn's audio now and drop its queued chunks (barge-in, cancel, a new turn). */
export const VoiceAudioStopMessage = z.object({ type: z.literal('audio.stop'), turnId: z.string() });

/** A turn was cut by new speech: when the onset was heard and when the turn's work had stopped. */
export const VoiceBargeInMessage = z.object({
  type: z.literal('barge-in'),
  turnId: z.string(),
  detectedAt: z.number(),
  stoppedAt: z.number(),
  stopMs: z.number(),
});

/** The turn's record, sent when it has finished (or been cut). */
/** A speculative turn was discarded unseen (speech came again within the window): for the page's faint mark. */
export const VoiceSpeculationDiscardedMessage = z.object({
  type: z.literal('speculation.discarded'),
  startedAt: z.number(),
  discardedAt: z.number(),
  audioMs: z.number(),
});

export const VoiceTurnMessage = z.object({
  type: z.literal('turn'),
  turnId: z.string(),
  transcript: z.string(),
  reply: z.string(),
  interrupted: z.boolean(),
  error: z.string().nullable(),
  timeline: VoiceTimeline,
  /** Audio sent for the turn, seconds. */
  audioSeconds: z.number(),
  /** The stored turn's id; null when not stored. */
  storedTurnId: z.string().nullable(),
});

/** Every turn started before an `end` has finished. */
export const VoiceIdleMessage = z.object({ type: z.literal('idle') });

/** One problem with a message: the field (as a path into the message) and what is wrong. */
export const VoiceIssue = z.object({ path: z.array(z.union([z.string(), z.number()])), message: z.string() });
export type VoiceIssue = z.infer<typeof VoiceIssue>;

/** Something went wrong; with `issues`, a client message that did not fit the protocol. */
export const VoiceErrorMessage = z.object({ type: z.literal('error'), message: z.string(), issues: z.array(VoiceIssue).optional() });

/** Every JSON message the core sends. */
export const VoiceCoreMessage = z.discriminatedUnion('type', [
  VoiceSyncProbe,
  VoiceReadyMessage,
  VoiceStateMessage,
  VoiceTranscriptMessage,
  VoiceReplyMessage,
  VoiceSentenceMessage,
  VoiceAudioMessage,
  VoiceAudioEndMessage,
  VoiceAudioStopMessage,
  VoiceBargeInMessage,
  VoiceSpeculationDiscardedMessage,
  VoiceTurnMessage,
  VoiceIdleMessage,
  VoiceErrorMessage,
]);
export type VoiceCoreMessage = z.infer<typeof VoiceCoreMessage>;

// ---- The desktop app's port ----

/**
 * Inside Electron the page talks through a MessagePort that the main process relays to the
 * socket (src/main/voice-relay.ts). Besides the protocol's own frames the port carries this
 * object, both ways: the page ends the session with it, and main passes on the socket's close
 * (the port has no close codes of its own).
 */
export const VoiceRelayClose = z.object({ relay: z.literal('close'), code: z.number().int().optional(), reason: z.string().optional() });
export type VoiceRelayClose = z.infer<typeof VoiceRelayClose>;

/** Whether a port message is the relay's close rather than a protocol frame (a string or audio). */
export function isVoiceRelayClose(data: unknown): data is VoiceRelayClose {
  return typeof data === 'object' && data !== null && 'relay' in data && VoiceRelayClose.safeParse(data).success;
}

// ---- Parsing and framing ----

/** A parsed text frame, or its issues (and its `type`, when it had a string one, for the error). */
export type VoiceParse<T> = { ok: true; message: T } | { ok: false; issues: VoiceIssue[]; type: string | null };

/** A zod error's issues, paths made JSON-safe. */
export function voiceIssues(error: z.ZodError): VoiceIssue[] {
  return error.issues.map((i) => ({ path: i.path.map((p) => (typeof p === 'number' ? p : String(p))), message: i.message }));
}

/** `field.path: what is wrong; …`, for error messages. */
export function describeVoiceIssues(issues: VoiceIssue[]): string {
  return issues.map((i) => `${i.path.length ? i.path.join('.') : '(message)'}: ${i.message}`).join('; ');
}

/** Parses one text frame against `schema`: not JSON, or not the schema, gives the issues. */
export function parseVoiceMessage<S extends z.ZodType>(schema: S, text: string): VoiceParse<z.output<S>> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, issues: [{ path: [], message: 'Text frames are JSON objects.' }], type: null };
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return { ok: true, message: parsed.data };
  const type = typeof json === 'object' && json !== null && 'type' in json && typeof json.type === 'string' ? json.type : null;
  return { ok: false, issues: voiceIssues(parsed.error), type };
}

/** Why a microphone frame of `byteLength` bytes is not whole samples of `format`; null when it is. */
export function micFrameIssue(format: VoiceAudioFormat, byteLength: number): VoiceIssue | null {
  const size = voiceBytesPerSample[format];
  if (byteLength % size === 0) return null;
  return { path: [], message: `A binary frame of ${byteLength} bytes is not a whole number of ${format} samples (${size} bytes each).` };
}

/** Bytes of the binary frame that follows an `audio` header. */
export function audioFrameBytes(header: Pick<VoiceAudioMessage, 'samples'>): number {
  return header.samples * voiceBytesPerSample.s16le;
}
