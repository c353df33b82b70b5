/**
 * The OpenAI Realtime protocol as `/v1/realtime` speaks it: the client events AIMA reads (GA names,
 * with the beta names that differ), their zod schemas, the limits, and the GA ⇄ beta names of the
 * server events. The core's adapter (src/core/voice/realtime/) validates every client event here;
 * docs/realtime.md lists what is supported and what is ignored.
 *
 * Unknown fields inside a known event are ignored (documented), so that clients written for
 * OpenAI's richer sessions still work; unknown event types and out-of-range values are refused
 * with an `error` event naming them.
 */
import { z } from 'zod';

/** The only audio format both ways: 16-bit little-endian mono PCM at 24 kHz (GA `audio/pcm`, beta `pcm16`). */
export const REALTIME_SAMPLE_RATE = 24_000;

/** Largest client event, bytes (an append of ~40 s of 24 kHz audio in base64); larger: `error`, then close 1009. */
export const REALTIME_MAX_EVENT_BYTES = 2 * 1024 * 1024;

/** Bounds of the server VAD settings a `session.update` may set. */
export const VAD_LIMITS = {
  threshold: { min: 0, max: 1 },
  prefixPaddingMs: { min: 0, max: 2000 },
  silenceDurationMs: { min: 100, max: 10_000 },
} as const;

const ms = (name: keyof typeof VAD_LIMITS) => z.number().min(VAD_LIMITS[name].min).max(VAD_LIMITS[name].max);

export const TurnDetection = z
  .object({
    type: z.literal('server_vad'),
    threshold: ms('threshold').optional(),
    prefix_padding_ms: ms('prefixPaddingMs').optional(),
    silence_duration_ms: ms('silenceDurationMs').optional(),
    create_response: z.boolean().optional(),
    interrupt_response: z.boolean().optional(),
  })
  .nullable();
export type TurnDetection = z.infer<typeof TurnDetection>;

/** GA `audio/pcm` (rate 24000 only); other formats are named in the refusal. */
export const AudioFormat = z.object({ type: z.literal('audio/pcm'), rate: z.literal(REALTIME_SAMPLE_RATE).optional() });

const Modalities = z.array(z.enum(['audio', 'text'])).min(1).max(2);
const Transcription = z.object({ model: z.string().optional(), language: z.string().optional(), prompt: z.string().optional() }).nullable();
/** A function tool (Realtime's flat shape: name, description and parameters beside `type`). */
export const RealtimeFunctionTool = z.object({
  type: z.literal('function', { error: 'only "function" tools are supported (no MCP servers)' }),
  name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'a function name of 1-64 letters, digits, underscores or dashes'),
  description: z.string().max(10_000).optional(),
  parameters: z.record(z.string(), z.unknown()).optional(),
});
export type RealtimeFunctionTool = z.infer<typeof RealtimeFunctionTool>;
const Tools = z.array(RealtimeFunctionTool).max(128);

/** `auto`, `none`, `required`, or one function by name. */
export const RealtimeToolChoice = z.union([z.enum(['auto', 'none', 'required']), z.object({ type: z.literal('function'), name: z.string().min(1) })], {
  error: 'one of "auto", "none", "required" or {"type": "function", "name": ...}',
});
export type RealtimeToolChoice = z.infer<typeof RealtimeToolChoice>;

/** A reply's token cap: a count, or "inf" (the voice chain's own `maxTokens` caps every reply either way). */
export const MaxOutputTokens = z.union([z.number().int().min(1).max(4096), z.literal('inf')], { error: 'a whole number of tokens from 1 to 4096, or "inf"' });
export type MaxOutputTokens = z.infer<typeof MaxOutputTokens>;

/** GA session fields AIMA honours. */
export const GaSession = z.object({
  type: z.literal('realtime').optional(),
  model: z.string().optional(),
  instructions: z.string().max(100_000).optional(),
  output_modalities: Modalities.optional(),
  audio: z
    .object({
      input: z
        .object({
          format: AudioFormat.optional(),
          transcription: Transcription.optional(),
          turn_detection: TurnDetection.optional(),
          noise_reduction: z.null().optional(),
        })
        .optional(),
      output: z.object({ format: AudioFormat.optional(), voice: z.string().min(1).max(200).optional(), speed: z.literal(1).optional() }).optional(),
    })
    .optional(),
  tools: Tools.optional(),
  tool_choice: RealtimeToolChoice.optional(),
  max_output_tokens: MaxOutputTokens.optional(),
});

/** Beta (`OpenAI-Beta: realtime=v1`) session fields AIMA honours. */
export const BetaSession = z.object({
  modalities: Modalities.optional(),
  instructions: z.string().max(100_000).optional(),
  voice: z.string().min(1).max(200).optional(),
  input_audio_format: z.literal('pcm16').optional(),
  output_audio_format: z.literal('pcm16').optional(),
  input_audio_transcription: Transcription.optional(),
  turn_detection: TurnDetection.optional(),
  tools: Tools.optional(),
  tool_choice: RealtimeToolChoice.optional(),
  max_response_output_tokens: MaxOutputTokens.optional(),
});

const ContentPart = z.discriminatedUnion('type', [
  z.object({ type: z.literal('input_text'), text: z.string() }),
  z.object({ type: z.literal('input_audio'), audio: z.string() }),
  z.object({ type: z.literal('output_text'), text: z.string() }),
  z.object({ type: z.literal('text'), text: z.string() }),
]);

export const ConversationItem = z.discriminatedUnion('type', [
  z.object({
    id: z.string().max(64).optional(),
    type: z.literal('message'),
    role: z.enum(['user', 'assistant', 'system']),
    content: z.array(ContentPart).min(1),
  }),
  z.object({ id: z.string().max(64).optional(), type: z.literal('function_call_output'), call_id: z.string(), output: z.string() }),
  z.object({ id: z.string().max(64).optional(), type: z.literal('function_call'), call_id: z.string(), name: z.string(), arguments: z.string() }),
]);
export type ConversationItem = z.infer<typeof ConversationItem>;

const ResponseParams = z.object({
  instructions: z.string().max(100_000).optional(),
  output_modalities: Modalities.optional(),
  /** Beta name of output_modalities. */
  modalities: Modalities.optional(),
  voice: z.string().min(1).max(200).optional(),
  tools: Tools.optional(),
  tool_choice: RealtimeToolChoice.optional(),
  max_output_tokens: MaxOutputTokens.optional(),
  /** Beta name of max_output_tokens. */
  max_response_output_tokens: MaxOutputTokens.optional(),
  conversation: z.enum(['auto']).optional(),
});

const ev = <T extends string, S extends z.ZodRawShape>(type: T, shape: S) => z.object({ type: z.literal(type), event_id: z.string().max(128).optional(), ...shape });

/** Every client event AIMA reads, by type. `session` is checked against the GA or beta shape by the adapter. */
export const realtimeClientEvents = {
  'session.update': ev('session.update', { session: z.record(z.string(), z.unknown()) }),
  'input_audio_buffer.append': ev('input_audio_buffer.append', { audio: z.string() }),
  'input_audio_buffer.commit': ev('input_audio_buffer.commit', {}),
  'input_audio_buffer.clear': ev('input_audio_buffer.clear', {}),
  'conversation.item.create': ev('conversation.item.create', { previous_item_id: z.string().nullable().optional(), item: ConversationItem }),
  'conversation.item.delete': ev('conversation.item.delete', { item_id: z.string() }),
  'conversation.item.truncate': ev('conversation.item.truncate', { item_id: z.string(), content_index: z.number().int().min(0), audio_end_ms: z.number().int().min(0) }),
  'conversation.item.retrieve': ev('conversation.item.retrieve', { item_id: z.string() }),
  'response.create': ev('response.create', { response: ResponseParams.optional() }),
  'response.cancel': ev('response.cancel', { response_id: z.string().optional() }),
} as const;
export type RealtimeClientEventType = keyof typeof realtimeClientEvents;
export type RealtimeClientEvent = { [K in RealtimeClientEventType]: z.infer<(typeof realtimeClientEvents)[K]> }[RealtimeClientEventType];

/** GA server event names that beta clients know by another name (absent: same name; null: not sent to beta clients). */
export const BETA_SERVER_NAMES: Readonly<Record<string, string | null>> = {
  'conversation.item.added': 'conversation.item.created',
  'conversation.item.done': null,
  'response.output_audio.delta': 'response.audio.delta',
  'response.output_audio.done': 'response.audio.done',
  'response.output_audio_transcript.delta': 'response.audio_transcript.delta',
  'response.output_audio_transcript.done': 'response.audio_transcript.done',
  'response.output_text.delta': 'response.text.delta',
  'response.output_text.done': 'response.text.done',
};

/** A client event as AIMA read it, or why it cannot be read (the `error` event's code, message and param). */
export type ParsedClientEvent = { ok: true; event: RealtimeClientEvent } | { ok: false; code: string; message: string; param: string | null; eventId: string | null };

/** Parses one client event's JSON text. */
export function parseRealtimeEvent(text: string): ParsedClientEvent {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { ok: false, code: 'invalid_json', message: `The event is not valid JSON (${(err as Error).message}). Send one JSON object per WebSocket text message.`, param: null, eventId: null };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { ok: false, code: 'invalid_event', message: 'An event must be a JSON object with a "type".', param: null, eventId: null };
  }
  const obj = raw as { type?: unknown; event_id?: unknown };
  const eventId = typeof obj.event_id === 'string' ? obj.event_id : null;
  if (typeof obj.type !== 'string') return { ok: false, code: 'invalid_event', message: 'The event has no "type" string.', param: 'type', eventId };
  const schema = (realtimeClientEvents as Record<string, z.ZodType>)[obj.type];
  if (!schema) {
    return {
      ok: false,
      code: 'unknown_event_type',
      message: `Unknown event type "${obj.type.slice(0, 80)}". Supported: ${Object.keys(realtimeClientEvents).join(', ')}.`,
      param: 'type',
      eventId,
    };
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const param = issue.path.join('.');
    return { ok: false, code: 'invalid_value', message: `${obj.type}: ${param || 'event'}: ${issue.message}.`, param: param || null, eventId };
  }
  return { ok: true, event: parsed.data as RealtimeClientEvent };
}
