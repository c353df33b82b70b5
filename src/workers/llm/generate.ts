/**
 * /v1/completions and /v1/chat/completions: validate, take a slot (or 429), generate with
 * node-llama-cpp on the slot's sequence, stream as SSE or answer once, and report OpenAI `usage`
 * plus a llama-server style `timings` object. A client that goes away aborts the generation through
 * an AbortSignal and the slot is free again as soon as the current token is done.
 *
 * Token events are written as they come (node-llama-cpp's callbacks cannot pause generation), so a
 * slow reader buffers at most the request's own output (max_tokens events) in the socket. Events
 * closer together than 4 ms share one socket write (SseCoalescer): a model slower than 250
 * tokens/s streams token by token, a faster one does not pay a syscall per token.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LLamaContextualRepeatPenalty, Token } from 'node-llama-cpp';
import type { z } from 'zod';
import { HttpError, SseCoalescer, readJson, sendJson, startSse, writeSse } from '../../lib/http.js';
import type { Engine } from './engine.js';
import type { LlmWorkerConfig } from './config.js';
import type { Slot } from './slots.js';
import { StopMatcher } from './stop.js';
import { completionRequestSchema, validate } from './schemas.js';
import type { CompletionRequest } from './schemas.js';

/** What a handler tells the server to log about the request. */
export interface RequestSummary {
  status: number;
  note: string;
}

/** Timings in llama-server's shape, plus time to first token measured from request arrival. */
export interface Timings {
  /** Prompt tokens evaluated for this request (the rest came from the slot's cache). */
  prompt_n: number;
  /** Prompt evaluation time, from generation start to the first generated token (so it includes sampling that token). */
  prompt_ms: number;
  prompt_per_token_ms: number;
  prompt_per_second: number;
  /** Generated tokens. */
  predicted_n: number;
  /** Time from the first generated token to the last. */
  predicted_ms: number;
  predicted_per_token_ms: number;
  /** Generation speed: tokens after the first, per second of predicted_ms. */
  predicted_per_second: number;
  /** Prompt tokens reused from the slot's KV cache. */
  cache_n: number;
  /** From the request's arrival at the worker to the first generated token. */
  ttft_ms: number;
}

interface SamplingRequest {
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  top_k?: number | null;
  min_p?: number | null;
  repeat_penalty?: number | null;
  frequency_penalty?: number | null;
  presence_penalty?: number | null;
  seed?: number | null;
  stop?: string | string[] | null;
}

/** Request fields -> node-llama-cpp generation options. Defaults follow llama-server. */
function samplingOptions(p: SamplingRequest, ctxSize: number) {
  const penalties = p.repeat_penalty != null || p.frequency_penalty || p.presence_penalty;
  const repeatPenalty: false | LLamaContextualRepeatPenalty = penalties
    ? {
        lastTokens: 64,
        penalty: p.repeat_penalty ?? 1,
        frequencyPenalty: p.frequency_penalty ?? undefined,
        presencePenalty: p.presence_penalty ?? undefined,
      }
    : false;
  return {
    // Never more than one slot's context: a base model that never emits end-of-text would
    // otherwise generate (and context-shift) forever in chat.
    maxTokens: Math.min(p.max_completion_tokens ?? p.max_tokens ?? ctxSize, ctxSize),
    temperature: p.temperature ?? 0.8,
    topP: p.top_p ?? 0.95,
    topK: p.top_k ?? 40,
    minP: p.min_p ?? 0.05,
    seed: p.seed ?? undefined,
    repeatPenalty,
  };
}

/** The request's stop sequences (matched by {@link StopMatcher}, not by node-llama-cpp). */
const stopList = (stop: string | string[] | null | undefined): string[] =>
  (stop == null ? [] : Array.isArray(stop) ? stop : [stop]).filter((s) => s.length > 0);

/** A `model` other than the served one is a 404 (as OpenAI answers an unknown model). */
export function checkModelName(requested: string | null | undefined, config: LlmWorkerConfig): void {
  if (requested == null || requested === '' || requested === config.modelName) return;
  throw new HttpError(
    404,
    `The model '${requested}' does not exist: this worker serves '${config.modelName}'.`,
    'invalid_request_error',
    'model_not_found',
    'model',
  );
}

function requireGenerationContext(engine: Engine, config: LlmWorkerConfig): void {
  if (!engine.context) {
    throw new HttpError(
      400,
      `Model '${config.modelName}' (architecture ${engine.architecture}) is an embedding model: use /v1/embeddings.`,
      'invalid_request_error',
      'model_not_generative',
    );
  }
}

function checkPromptFits(promptTokens: number, engine: Engine): void {
  if (promptTokens >= engine.ctxSize) {
    throw new HttpError(
      400,
      `The prompt is ${promptTokens} tokens, but the context of each slot holds ${engine.ctxSize} tokens. Shorten the prompt, or restart the worker with a larger --ctx-size.`,
      'invalid_request_error',
      'context_length_exceeded',
      'messages',
    );
  }
}

async function acquireSlot(engine: Engine): Promise<Slot> {
  const slot = await engine.slots.acquire();
  if (!slot) {
    throw new HttpError(
      429,
      `All ${engine.slots.size} generation slot(s) are busy. Retry shortly, or start the worker with a larger --parallel.`,
      'rate_limit_error',
      'slots_busy',
      null,
      { 'retry-after': '1' },
    );
  }
  return slot;
}

/** Measures one generation: call start(), token(n) per generated token batch, then finish(). */
class Meter {
  private startAt = 0;
  private firstAt: number | null = null;
  private endAt = 0;
  private cached = 0;
  tokens = 0;

  constructor(
    private readonly receivedAt: number,
    private readonly slot: Slot,
  ) {}

  /**
   * Call right before generating. `prompt` is the full prompt as tokens: the part the slot's
   * sequence already holds is reused from the KV cache (all but the last token, whose logits are
   * needed again), so it counts as cache_n, not prompt_n.
   */
  start(prompt: readonly Token[]): void {
    const held = this.slot.sequence.contextTokens;
    let same = 0;
    while (same < held.length && same < prompt.length - 1 && held[same] === prompt[same]) same++;
    this.cached = same;
    this.startAt = performance.now();
  }

  token(count: number): void {
    this.firstAt ??= performance.now();
    this.tokens += count;
  }

  finish(promptTokens: number): Timings {
    this.endAt = performance.now();
    const first = this.firstAt ?? this.endAt;
    const promptN = Math.max(0, promptTokens - this.cached);
    const promptMs = first - this.startAt;
    const predictedMs = this.endAt - first;
    const after = Math.max(0, this.tokens - 1);
    const round = (n: number) => Math.round(n * 1000) / 1000;
    return {
      prompt_n: promptN,
      prompt_ms: round(promptMs),
      prompt_per_token_ms: promptN ? round(promptMs / promptN) : 0,
      prompt_per_second: promptMs > 0 ? round((promptN * 1000) / promptMs) : 0,
      predicted_n: this.tokens,
      predicted_ms: round(predictedMs),
      predicted_per_token_ms: after ? round(predictedMs / after) : 0,
      predicted_per_second: predictedMs > 0 ? round((after * 1000) / predictedMs) : 0,
      cache_n: this.cached,
      ttft_ms: round(first - this.receivedAt),
    };
  }
}

/** Aborts the generation (and marks the slot draining) when the client goes away early. */
function abortOnClose(res: ServerResponse, engine: Engine, slot: Slot): AbortController {
  const controller = new AbortController();
  const onClose = () => {
    if (res.writableFinished) return;
    engine.slots.drain(slot);
    controller.abort(new Error('client closed the connection'));
  };
  if (res.destroyed || res.socket?.destroyed) onClose();
  else res.on('close', onClose);
  return controller;
}

const usageOf = (promptTokens: number, completionTokens: number) => ({
  prompt_tokens: promptTokens,
  completion_tokens: completionTokens,
  total_tokens: promptTokens + completionTokens,
});

function summary(status: number, meter: Meter, timings: Timings, cancelled: boolean, stream: boolean): RequestSummary {
  const what = `${stream ? 'stream ' : ''}${meter.tokens} tokens, ttft ${Math.round(timings.ttft_ms)} ms, ${Math.round(timings.predicted_per_second)} tokens/s`;
  return { status, note: cancelled ? `${what}, cancelled by client after ${meter.tokens} tokens` : what };
}

/** Writes an error event into an open SSE stream and ends it. */
async function failStream(res: ServerResponse, err: unknown): Promise<void> {
  if (!res.writableEnded && !res.destroyed) {
    const e = err instanceof HttpError ? err : null;
    await writeSse(res, { error: { message: err instanceof Error ? err.message : String(err), type: e?.type ?? 'server_error', param: e?.param ?? null, code: e?.code ?? 'generation_failed' } });
    res.end();
  }
}

/** What a streamed event or an answer carries in its one choice, besides index, logprobs and finish_reason. */
export type ChoiceBody = Record<string, unknown>;

export type FinishReason = 'stop' | 'length' | 'tool_calls';

export type GenerateOptions = ReturnType<typeof samplingOptions> & { signal: AbortSignal; stopOnAbortSignal: true; onToken(tokens: Token[]): void };

/** Where a generation sends what it produces. */
export interface Emit {
  /** Answer text (matched against the request's stop sequences, then streamed). */
  text(piece: string): void;
  /** Reasoning (thought segments). */
  reasoning(piece: string): void;
  /** Any other streamed choice (tool-call deltas); nothing when the answer is not streamed. */
  choice(body: ChoiceBody): void;
}

/** What a generation ended with, for {@link Endpoint.settle}. */
export interface Outcome {
  text: string;
  reasoning: string;
  /** Cut by max_tokens (or the context) rather than ended by the model or a stop sequence. */
  cut: boolean;
}

/**
 * What differs between /v1/completions and /v1/chat/completions, as data: the prompt, how the slot
 * generates from it, and the shape of each choice. {@link generate} does the rest for both.
 */
export interface Endpoint<R extends { metadata: { stopReason: string } } = { metadata: { stopReason: string } }> {
  /** `cmpl` or `chatcmpl`: the response id's prefix. */
  idPrefix: string;
  body: SamplingRequest & { stream?: boolean | null; stream_options?: { include_usage?: boolean | null } | null };
  promptTokens: Token[];
  /** The `object` of a streamed event. */
  streamObject: string;
  /** A streamed piece of the answer's text. */
  textChoice(piece: string): ChoiceBody;
  /** The empty choice of the stream's final events (the one with finish_reason, the usage one). */
  endChoice: ChoiceBody;
  /** A streamed piece of reasoning (thought segments), for endpoints that report it. */
  reasoningChoice?(piece: string): ChoiceBody;
  /** The first event of a stream, before any text (chat: the assistant's role). */
  opening?: ChoiceBody;
  /** Runs the generation on the slot. */
  run(slot: Slot, options: GenerateOptions, emit: Emit): Promise<R>;
  /**
   * After the generation: the finish reason and the whole answer of a request that is not
   * streamed. May emit last stream events, or throw (an output that breaks the requested format).
   */
  settle(outcome: Outcome, result: R, emit: Emit): { finish: FinishReason; object: string; choice: ChoiceBody };
}

/** Takes a slot, generates, and answers (streamed as SSE or at once) with `usage` and `timings`. */
export async function generate<R extends { metadata: { stopReason: string } }>(res: ServerResponse, engine: Engine, config: LlmWorkerConfig, receivedAt: number, e: Endpoint<R>): Promise<RequestSummary> {
  const promptTokens = e.promptTokens.length;
  checkPromptFits(promptTokens, engine);

  const slot = await acquireSlot(engine);
  const controller = abortOnClose(res, engine, slot);
  const meter = new Meter(receivedAt, slot);
  const id = `${e.idPrefix}-${randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  const body = e.body;
  const stream = body.stream === true;
  const options = samplingOptions(body, engine.ctxSize);
  const event = (choice: ChoiceBody, finish: FinishReason | null) => ({
    id,
    object: e.streamObject,
    created,
    model: config.modelName,
    choices: [{ index: 0, ...choice, logprobs: null, finish_reason: finish }],
  });

  let text = '';
  let reasoning = '';
  const sse = new SseCoalescer(res);
  const stopper = new AbortController();
  const matcher = new StopMatcher(
    stopList(body.stop),
    (piece) => {
      text += piece;
      if (stream) sse.push(event(e.textChoice(piece), null));
    },
    () => stopper.abort(),
  );
  const onReasoning = (piece: string) => {
    reasoning += piece;
    if (stream && e.reasoningChoice) sse.push(event(e.reasoningChoice(piece), null));
  };

  const emit: Emit = {
    text: (piece) => matcher.push(piece),
    reasoning: onReasoning,
    choice: (choice) => {
      if (stream) sse.push(event(choice, null));
    },
  };

  try {
    if (stream) {
      startSse(res);
      if (e.opening) sse.push(event(e.opening, null));
    }
    meter.start(e.promptTokens);
    const result = await e.run(
      slot,
      {
        ...options,
        signal: AbortSignal.any([controller.signal, stopper.signal]),
        stopOnAbortSignal: true,
        onToken: (tokens) => meter.token(tokens.length),
      },
      emit,
    );
    matcher.flush();
    const timings = meter.finish(promptTokens);
    const cancelled = controller.signal.aborted;
    if (cancelled) {
      sse.flush();
      return summary(499, meter, timings, true, stream);
    }
    const cut = !matcher.stopped && result.metadata.stopReason === 'maxTokens';
    const settled = e.settle({ text, reasoning, cut }, result, emit);
    sse.flush();
    const finish = settled.finish;
    const usage = usageOf(promptTokens, meter.tokens);
    if (stream) {
      await writeSse(res, { ...event(e.endChoice, finish), timings, ...(body.stream_options?.include_usage ? {} : { usage }) });
      if (body.stream_options?.include_usage) await writeSse(res, { ...event(e.endChoice, null), choices: [], usage });
      await writeSse(res, '[DONE]');
      res.end();
    } else {
      sendJson(res, 200, { ...event(settled.choice, finish), object: settled.object, usage, timings });
    }
    return summary(200, meter, timings, false, stream);
  } catch (err) {
    if (stream) {
      sse.flush();
      await failStream(res, err);
      return { status: err instanceof HttpError ? err.status : 500, note: `stream failed: ${(err as Error).message}` };
    }
    throw err;
  } finally {
    sse.close();
    engine.slots.release(slot);
  }
}

/** A generation endpoint's handler, as the server calls it. */
export type GenerationHandler = (req: IncomingMessage, res: ServerResponse, engine: Engine, config: LlmWorkerConfig, receivedAt: number) => Promise<RequestSummary>;

/** Reads the body with `schema`, then refuses another model's name and a model that does not generate. */
export async function readGenerationRequest<T extends { model?: string | null }>(schema: z.ZodType<T>, req: IncomingMessage, engine: Engine, config: LlmWorkerConfig): Promise<T> {
  const body = validate(schema, await readJson(req, config.maxBodyBytes));
  checkModelName(body.model, config);
  requireGenerationContext(engine, config);
  return body;
}

/** POST /v1/completions */
export const handleCompletions: GenerationHandler = async (req, res, engine, config, receivedAt) => {
  const body: CompletionRequest = await readGenerationRequest(completionRequestSchema, req, engine, config);
  const prompt = Array.isArray(body.prompt) ? body.prompt[0] : body.prompt;
  const model = engine.model;
  // Same tokenization LlamaCompletion uses: BOS (when the vocabulary wants one) + the text.
  const bos = model.tokens.shouldPrependBosToken ? model.tokens.bos : null;
  const promptTokens = [...(bos != null ? [bos] : []), ...model.tokenize(prompt, false, bos != null ? 'trimLeadingSpace' : undefined)];
  return generate(res, engine, config, receivedAt, {
    idPrefix: 'cmpl',
    body,
    promptTokens,
    streamObject: 'text_completion',
    textChoice: (piece) => ({ text: piece }),
    endChoice: { text: '' },
    settle: ({ text, cut }) => ({ finish: cut ? 'length' : 'stop', object: 'text_completion', choice: { text } }),
    run: (slot, options, emit) =>
      slot.completion().generateCompletionWithMeta(prompt, {
        ...options,
        // Without context shift generation stops when the slot's context is full (finish "length")
        // instead of silently dropping the start of the prompt.
        disableContextShift: true,
        onTextChunk: emit.text,
      }),
  });
};
