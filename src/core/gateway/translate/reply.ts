/**
 * The upstream's answer, translated on its way to the client: a Writable the proxy pipes the
 * upstream body into. An event stream is parsed as it arrives and each chunk's events are written
 * at once (backpressure: the next upstream bytes wait for the client's socket); a JSON answer is
 * read whole. A client that asked for a stream gets the API's events either way; one that did not
 * gets the API's answer object. Upstream errors come back in the API's error shape, same status.
 */
import type { ServerResponse } from 'node:http';
import { StringDecoder } from 'node:string_decoder';
import { Writable } from 'node:stream';
import type { ReplySink } from '../proxy.js';
import type { ApiErrorInfo, ApiEvent, StreamTranslator } from './api.js';
import { completionAsChunks, readUpstreamError, SseParser, type ChatChunk, type ChatCompletion } from './chat.js';

export interface ReplyOptions {
  translator: StreamTranslator;
  /** The client asked for a stream. */
  stream: boolean;
  upstreamStatus: number;
  upstreamContentType: string;
  errorBody: (e: ApiErrorInfo) => unknown;
}

/** An API event as SSE: its type as the event name, the whole event as data. */
export function sseEvent(e: ApiEvent): string {
  return `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;
}

/** The OpenAI-style error type for a status (the APIs map it further). */
export function errorTypeOf(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  return status >= 500 ? 'server_error' : 'invalid_request_error';
}

/** The most of a non-streamed upstream answer (or error body) read into memory. */
const MAX_WHOLE_ANSWER = 32 * 1024 * 1024;

export function translatedReply(res: ServerResponse, o: ReplyOptions): ReplySink {
  const t = o.translator;
  const decoder = new StringDecoder('utf8');
  const ok = o.upstreamStatus >= 200 && o.upstreamStatus < 300;
  const mode: 'sse' | 'json' | 'error' = !ok ? 'error' : o.upstreamContentType.startsWith('text/event-stream') ? 'sse' : o.upstreamContentType.includes('json') ? 'json' : 'error';
  const parser = new SseParser();
  let text = '';

  const sendJson = (status: number, body: unknown) => {
    if (res.headersSent || res.destroyed) return;
    const json = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
    res.end(json);
  };
  const sendError = (status: number, message: string, extra: Partial<ApiErrorInfo> = {}) =>
    sendJson(status, o.errorBody({ status, message, type: extra.type ?? errorTypeOf(status), code: extra.code ?? null, param: extra.param ?? null }));

  // The stream's opening events go out with the upstream's first bytes (and the first chunk's
  // events), headers included, in one write: one wakeup less for the client before its first token.
  let opening = '';

  /** Writes events; calls done when the socket takes more (a slow client slows the upstream read). */
  const write = (events: ApiEvent[], done: (err?: Error | null) => void) => {
    if (!o.stream || (events.length === 0 && !opening) || res.destroyed) return done();
    let s = opening;
    opening = '';
    for (const e of events) s += sseEvent(e);
    if (res.write(s)) return done();
    const go = () => {
      res.off('drain', go);
      res.off('close', go);
      done();
    };
    res.on('drain', go);
    res.on('close', go);
  };

  if (mode !== 'error' && o.stream) {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    opening = t.start().map(sseEvent).join('');
  } else if (mode !== 'error') {
    t.start();
  }

  // A non-streaming client's answer is the translator's final state, whatever the upstream sent.
  let sawFinish = false;
  let sawDone = false;
  let completionTokens: number | null = null;
  const feed = (chunk: ChatChunk): ApiEvent[] => {
    if (chunk.choices?.[0]?.finish_reason) sawFinish = true;
    if (typeof chunk.usage?.completion_tokens === 'number') completionTokens = chunk.usage.completion_tokens;
    return t.chunk(chunk);
  };

  const onData = (data: string): ApiEvent[] => {
    if (data === '[DONE]') {
      sawDone = true;
      return [];
    }
    let chunk: ChatChunk;
    try {
      chunk = JSON.parse(data) as ChatChunk;
    } catch {
      return t.fail(`The upstream sent an event that is not JSON: ${data.slice(0, 200)}`);
    }
    if (chunk.error !== undefined && chunk.error !== null) return t.fail(`The upstream failed mid-answer: ${readUpstreamError(data, 500).message}`);
    return feed(chunk);
  };

  const finish = (): ApiEvent[] => {
    if (mode === 'json') {
      let completion: ChatCompletion;
      try {
        completion = JSON.parse(text) as ChatCompletion;
      } catch {
        return t.fail('The upstream answered with a body that is not JSON.');
      }
      const events: ApiEvent[] = [];
      for (const c of completionAsChunks(completion)) events.push(...feed(c));
      return [...events, ...t.end()];
    }
    const events: ApiEvent[] = [];
    for (const data of parser.end()) events.push(...onData(data));
    // A stream closed with [DONE] is complete even if no chunk named a finish_reason (some
    // servers leave it out); one that just stops was cut off, and end() says so.
    if (sawDone && !sawFinish) events.push(...t.chunk({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }));
    return [...events, ...t.end()];
  };

  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      if (mode === 'sse') {
        const events: ApiEvent[] = [];
        for (const data of parser.push(decoder.write(chunk))) events.push(...onData(data));
        write(events, done);
      } else {
        if (text.length <= MAX_WHOLE_ANSWER) text += decoder.write(chunk);
        done();
      }
    },
    final(done) {
      text += decoder.end();
      if (text.length > MAX_WHOLE_ANSWER) {
        sendError(502, `The upstream's answer is over ${MAX_WHOLE_ANSWER / 1024 / 1024} MiB, more than a chat completion can be; it was not read further.`, { code: 'upstream_bad_answer' });
        return done();
      }
      if (mode === 'error') {
        if (ok) {
          sendError(502, `The upstream answered with content type "${o.upstreamContentType}", not JSON or an event stream.`, { code: 'upstream_bad_answer' });
        } else {
          const e = readUpstreamError(text, o.upstreamStatus);
          sendError(o.upstreamStatus, e.message, { code: e.code, param: e.param });
        }
        return done();
      }
      const events = finish();
      if (o.stream) {
        write(events, () => {
          res.end();
          done();
        });
        return;
      }
      if (t.failed) sendError(502, t.failure ?? 'The upstream answer could not be translated.', { code: 'upstream_bad_answer' });
      else sendJson(200, t.final());
      done();
    },
  });
  return Object.defineProperty(sink, 'completionTokens', { get: () => completionTokens }) as ReplySink;
}
