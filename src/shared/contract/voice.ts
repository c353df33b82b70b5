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

/** A turn's timeline before anything is measured. */
export function emptyVoiceTimeline(silenceMs: number): VoiceTimeline {
  return {
    speechStart: null,
    speechEnd: null,
    silenceWindowMs: silenceMs,
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

export const VoiceTurn = z.object({
  id: z.string(),
  seq: z.number().int(),
  user: z.string(),
  assistant: z.string(),
  interrupted: z.boolean(),
  timeline: VoiceTimeline.partial(),
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
