/**
 * What an API translation (Responses, Anthropic Messages) gives the gateway: a parser that turns
 * the client's body into the upstream's chat-completions body, a stream translator fed chunk by
 * chunk, and the API's own error shape. All pure: ids and the clock come in through {@link TranslateEnv}.
 */
import type { ChatChunk, ChatRequest } from './chat.js';

/** One event of the API's stream; `type` is also its SSE `event:` name. */
export interface ApiEvent {
  type: string;
  [field: string]: unknown;
}

/**
 * A small state machine from chat-completions chunks to the API's events. `start` once, then
 * `chunk` per upstream chunk, then `end` (the stream finished) or `fail` (it broke); after `end`,
 * `final()` is the whole answer in the API's non-streaming shape.
 */
export interface StreamTranslator {
  start(): ApiEvent[];
  chunk(c: ChatChunk): ApiEvent[];
  end(): ApiEvent[];
  fail(message: string): ApiEvent[];
  /** The answer as the API's non-streaming body; null before end() or after fail(). */
  final(): unknown;
  /** True once fail() ran (or end() found the stream unfinished). */
  readonly failed: boolean;
  /** Why it failed. */
  readonly failure: string | null;
}

/** Ids and time for a translation (tests pass fixed ones). */
export interface TranslateEnv {
  /** A new id with the API's prefix, e.g. `resp_…`, `msg_…`. */
  id(prefix: string): string;
  /** Unix seconds. */
  now(): number;
}

/** A parsed client request. */
export interface Translated {
  chat: ChatRequest;
  /** The client asked for a stream. */
  stream: boolean;
  translator: StreamTranslator;
}

/** An error to show the client (already an HttpError's fields). */
export interface ApiErrorInfo {
  status: number;
  message: string;
  type: string;
  code: string | null;
  param: string | null;
}

export interface ApiTranslation {
  /** Validates and maps a parsed JSON body; refusals throw HttpError 400 naming the field. */
  parse(body: unknown, env: TranslateEnv): Translated;
  /** The API's error body for a status and message. */
  errorBody(err: ApiErrorInfo): unknown;
}
