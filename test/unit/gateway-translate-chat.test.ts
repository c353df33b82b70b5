/** The chat-completions side of the API translations: the incremental SSE parser, a whole answer replayed as chunks, and upstream errors in the shapes OpenAI-compatible servers use. */
import { describe, expect, it } from 'vitest';
import { completionAsChunks, finishOf, readUpstreamError, SseParser } from '../../src/core/gateway/translate/chat.js';

describe('SseParser', () => {
  it('yields each event once complete, across arbitrary splits, LF or CRLF, skipping comments and other fields', () => {
    const text = ': keep-alive\n\nevent: x\ndata: {"a":1}\n\ndata: line1\r\ndata: line2\r\n\r\nid: 7\ndata: [DONE]\n\n';
    const whole = new SseParser().push(text);
    expect(whole).toEqual(['{"a":1}', 'line1\nline2', '[DONE]']);
    for (let split = 1; split < text.length; split++) {
      const p = new SseParser();
      expect([...p.push(text.slice(0, split)), ...p.push(text.slice(split)), ...p.end()], `split at ${split}`).toEqual(whole);
    }
  });

  it('gives an event left without its blank line at the end', () => {
    const p = new SseParser();
    expect(p.push('data: {"b":2}')).toEqual([]);
    expect(p.end()).toEqual(['{"b":2}']);
    expect(p.end()).toEqual([]);
  });

  it('reads "data:" without a space', () => {
    expect(new SseParser().push('data:x\n\n')).toEqual(['x']);
  });
});

describe('completionAsChunks', () => {
  it('replays text, tool calls, the finish and usage as a stream would carry them', () => {
    const chunks = completionAsChunks({
      id: 'c',
      model: 'm',
      choices: [{ message: { content: 'hi', tool_calls: [{ id: 'a', type: 'function', function: { name: 'f', arguments: '{}' } }] }, finish_reason: 'tool_calls' }],
      usage: { prompt_tokens: 1, completion_tokens: 2 },
    });
    expect(chunks).toEqual([
      { id: 'c', model: 'm', choices: [{ index: 0, delta: { role: 'assistant', content: 'hi', tool_calls: [{ index: 0, id: 'a', type: 'function', function: { name: 'f', arguments: '{}' } }] }, finish_reason: 'tool_calls', stop_reason: undefined }] },
      { id: 'c', model: 'm', choices: [], usage: { prompt_tokens: 1, completion_tokens: 2 } },
    ]);
  });

  it('an answer without choices still finishes', () => {
    expect(completionAsChunks({})[0]!.choices![0]!.finish_reason).toBe('stop');
  });
});

describe('finishOf', () => {
  it.each([
    ['stop', 'stop'],
    ['length', 'length'],
    ['tool_calls', 'tool_calls'],
    ['function_call', 'tool_calls'],
    ['content_filter', 'content_filter'],
    [null, 'stop'],
    ['eos', 'stop'],
  ])('%s → %s', (reason, finish) => expect(finishOf(reason)).toBe(finish));
});

describe('readUpstreamError', () => {
  it.each([
    ['OpenAI', '{"error":{"message":"bad","type":"invalid_request_error","param":"tools","code":"x"}}', { message: 'bad', type: 'invalid_request_error', code: 'x', param: 'tools' }],
    ['llama-server', '{"error":{"code":500,"message":"ctx full","type":"server_error"}}', { message: 'ctx full', type: 'server_error', code: null, param: null }],
    ['vLLM', '{"object":"error","message":"too long","type":"BadRequestError","param":null,"code":400}', { message: 'too long', type: 'BadRequestError', code: null, param: null }],
    ['a bare string error', '{"error":"nope"}', { message: 'nope', type: null, code: null, param: null }],
    ['plain text', 'Bad Gateway', { message: 'Bad Gateway', type: null, code: null, param: null }],
    ['nothing', '', { message: 'The upstream answered HTTP 502 without a body.', type: null, code: null, param: null }],
  ])('reads %s', (_, text, expected) => expect(readUpstreamError(text, 502)).toEqual(expected));
});
