/** The Responses API translation's pure mappers: requests onto chat completions, chunks into typed events, finishes into statuses, refusals naming the field. */
import { describe, expect, it } from 'vitest';
import { HttpError } from '../../src/lib/http.js';
import type { TranslateEnv } from '../../src/core/gateway/translate/api.js';
import type { ChatChunk } from '../../src/core/gateway/translate/chat.js';
import { parseResponsesRequest, responsesApi, responsesErrorBody, responseStatusOf, ResponsesStream } from '../../src/core/gateway/translate/responses.js';

function env(): TranslateEnv {
  let n = 0;
  return { id: (p) => `${p}_${++n}`, now: () => 1000 };
}
const req = (body: Record<string, unknown>) => parseResponsesRequest({ model: 'm', input: 'hi', ...body });
const refusal = (body: Record<string, unknown>): HttpError => {
  try {
    req(body);
  } catch (err) {
    if (err instanceof HttpError) return err;
    throw err;
  }
  throw new Error('not refused');
};
const delta = (d: NonNullable<NonNullable<ChatChunk['choices']>[number]['delta']>, finish: string | null = null): ChatChunk => ({ choices: [{ index: 0, delta: d, finish_reason: finish }] });
const usage = (prompt: number, completion: number): ChatChunk => ({ choices: [], usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion } });

describe('Responses request → chat completions', () => {
  it('maps a string input, instructions and the sampling fields', () => {
    const { chat, stream } = req({ instructions: 'Be brief.', max_output_tokens: 20, temperature: 0.5, top_p: 0.9, store: false, stream: true, metadata: { a: 'b' }, user: 'u' });
    expect(stream).toBe(true);
    expect(chat).toEqual({
      model: 'm',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'hi' },
      ],
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 20,
      temperature: 0.5,
      top_p: 0.9,
    });
  });

  it('maps message items (typed or not), developer → system, and keeps several text parts as parts', () => {
    const { chat } = req({
      input: [
        { role: 'developer', content: 'rules' },
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'a' }, { type: 'input_text', text: 'b' }] },
        { type: 'message', id: 'msg_1', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'ok', annotations: [] }] },
        { role: 'user', content: [{ type: 'input_text', text: 'c' }] },
      ],
    });
    expect(chat.messages).toEqual([
      { role: 'system', content: 'rules' },
      { role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] },
      { role: 'assistant', content: 'ok' },
      { role: 'user', content: 'c' },
    ]);
  });

  it('maps function_call items onto the assistant turn before them, and function_call_output onto tool messages', () => {
    const { chat } = req({
      input: [
        { role: 'user', content: 'weather?' },
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Checking.' }] },
        { type: 'function_call', call_id: 'c1', name: 'get', arguments: '{"city":"Oslo"}' },
        { type: 'function_call', call_id: 'c2', name: 'get', arguments: '{"city":"Rome"}', id: 'fc_2', status: 'completed' },
        { type: 'function_call_output', call_id: 'c1', output: 'cold' },
        { type: 'function_call_output', call_id: 'c2', output: [{ type: 'input_text', text: 'warm' }] },
        { type: 'function_call', call_id: 'c3', name: 'get', arguments: '{}' },
      ],
    });
    expect(chat.messages).toEqual([
      { role: 'user', content: 'weather?' },
      {
        role: 'assistant',
        content: 'Checking.',
        tool_calls: [
          { id: 'c1', type: 'function', function: { name: 'get', arguments: '{"city":"Oslo"}' } },
          { id: 'c2', type: 'function', function: { name: 'get', arguments: '{"city":"Rome"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'c1', content: 'cold' },
      { role: 'tool', tool_call_id: 'c2', content: 'warm' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'c3', type: 'function', function: { name: 'get', arguments: '{}' } }] },
    ]);
  });

  it('maps function tools, tool_choice and parallel_tool_calls', () => {
    const tools = [{ type: 'function', name: 'get', description: 'Gets.', parameters: { type: 'object', properties: {} }, strict: true }];
    const chatTools = [{ type: 'function', function: { name: 'get', description: 'Gets.', parameters: { type: 'object', properties: {} }, strict: true } }];
    expect(req({ tools, tool_choice: 'auto', parallel_tool_calls: false }).chat).toMatchObject({ tools: chatTools, tool_choice: 'auto', parallel_tool_calls: false });
    expect(req({ tools, tool_choice: 'required' }).chat.tool_choice).toBe('required');
    expect(req({ tools, tool_choice: 'none' }).chat.tool_choice).toBe('none');
    expect(req({ tools, tool_choice: { type: 'function', name: 'get' } }).chat.tool_choice).toEqual({ type: 'function', function: { name: 'get' } });
    expect(req({ tools }).echo.tools).toEqual([{ type: 'function', name: 'get', description: 'Gets.', parameters: { type: 'object', properties: {} }, strict: true }]);
  });

  it.each([
    [{ format: { type: 'text' } }, undefined],
    [{ format: { type: 'json_object' } }, { type: 'json_object' }],
    [{ format: { type: 'json_schema', name: 'pet', schema: { type: 'object' }, strict: true } }, { type: 'json_schema', json_schema: { name: 'pet', schema: { type: 'object' }, strict: true } }],
    [{ verbosity: 'low' }, undefined],
  ])('maps text %j onto response_format %j', (text, format) => {
    expect(req({ text }).chat.response_format).toEqual(format);
  });

  it('maps reasoning.effort onto reasoning_effort, and accepts include of encrypted reasoning (none is produced)', () => {
    expect(req({ reasoning: { effort: 'low', summary: 'auto' }, include: ['reasoning.encrypted_content'] }).chat.reasoning_effort).toBe('low');
  });

  it.each([
    ['store true', { store: true }, 'store'],
    ['previous_response_id', { previous_response_id: 'resp_1' }, 'previous_response_id'],
    ['conversation', { conversation: 'conv_1' }, 'conversation'],
    ['background', { background: true }, 'background'],
    ['prompt templates', { prompt: { id: 'p' } }, 'prompt'],
    ['truncation auto', { truncation: 'auto' }, 'truncation'],
    ['top_logprobs', { top_logprobs: 3 }, 'top_logprobs'],
    ['max_tool_calls', { max_tool_calls: 3 }, 'max_tool_calls'],
    ['an unknown include', { include: ['message.output_text.logprobs'] }, 'include[0]'],
    ['an unknown field', { frobnicate: true }, 'frobnicate'],
    ['an unknown field in an item', { input: [{ role: 'user', content: 'x', extra: 1 }] }, 'input[0].extra'],
    ['an unknown item type', { input: [{ type: 'item_reference', id: 'x' }] }, 'input[0].type'],
    ['an item that is not an object', { input: ['text'] }, 'input[0]'],
    ['an image part', { input: [{ role: 'user', content: [{ type: 'input_image', image_url: 'x' }] }] }, 'input[0].content[0].type'],
    ['output_text in a user message', { input: [{ role: 'user', content: [{ type: 'output_text', text: 'x' }] }] }, 'input[0].content[0].type'],
    ['a file in a function output', { input: [{ type: 'function_call_output', call_id: 'c', output: [{ type: 'input_file', file_id: 'f' }] }] }, 'input[0].output[0].type'],
    ['a hosted tool', { tools: [{ type: 'file_search', vector_store_ids: [] }] }, 'tools[0].type'],
    ['a function without a name', { tools: [{ type: 'function', parameters: {} }] }, 'tools[0].name'],
    ['tool_choice naming a missing function', { tools: [{ type: 'function', name: 'a' }], tool_choice: { type: 'function', name: 'b' } }, 'tool_choice.name'],
    ['tool_choice required without tools', { tool_choice: 'required' }, 'tool_choice'],
    ['a hosted tool_choice', { tool_choice: { type: 'web_search_preview' } }, 'tool_choice'],
    ['an unknown text format', { text: { format: { type: 'grammar' } } }, 'text.format.type'],
    ['json_schema without a schema', { text: { format: { type: 'json_schema', name: 'x' } } }, 'text.format.schema'],
    ['a missing model', { model: undefined }, 'model'],
    ['a wrong type', { temperature: 'hot' }, 'temperature'],
    ['an empty input', { input: [] }, 'input'],
  ])('refuses %s with a 400 naming %s', (_, body, param) => {
    const err = refusal(body);
    expect(err.status).toBe(400);
    expect(err.param).toBe(param);
    expect(err.message).toContain(param);
  });

  it('errors are OpenAI-shaped', () => {
    expect(responsesErrorBody({ status: 400, message: 'no', type: 'invalid_request_error', code: 'x', param: 'store' })).toEqual({ error: { message: 'no', type: 'invalid_request_error', param: 'store', code: 'x' } });
  });
});

describe('chat chunks → Responses events', () => {
  const start = (body: Record<string, unknown> = {}) => {
    const { echo } = req(body);
    const t = new ResponsesStream(echo, env());
    return { t, events: t.start() };
  };

  it('streams text: created, in_progress, item and part added, deltas, then done events and completed with usage', () => {
    const { t, events } = start({ max_output_tokens: 50 });
    events.push(...t.chunk(delta({ role: 'assistant', content: '' })));
    events.push(...t.chunk(delta({ content: 'Once' })));
    events.push(...t.chunk(delta({ content: ' upon' })));
    events.push(...t.chunk(delta({}, 'stop')));
    events.push(...t.chunk(usage(3, 2)));
    events.push(...t.end());
    expect(events.map((e) => e.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    expect(events[0]).toMatchObject({ response: { id: 'resp_1', object: 'response', status: 'in_progress', output: [], created_at: 1000, max_output_tokens: 50, store: false } });
    expect(events[2]).toMatchObject({ output_index: 0, item: { id: 'msg_2', type: 'message', status: 'in_progress', role: 'assistant', content: [] } });
    expect(events[3]).toMatchObject({ item_id: 'msg_2', output_index: 0, content_index: 0, part: { type: 'output_text', text: '' } });
    expect(events[5]).toMatchObject({ item_id: 'msg_2', output_index: 0, content_index: 0, delta: ' upon' });
    expect(events[6]).toMatchObject({ text: 'Once upon' });
    expect(events[8]).toMatchObject({ item: { status: 'completed', content: [{ type: 'output_text', text: 'Once upon', annotations: [] }] } });
    const done = events[9]!.response as Record<string, unknown>;
    expect(done).toMatchObject({ status: 'completed', incomplete_details: null, completed_at: 1000, usage: { input_tokens: 3, output_tokens: 2, total_tokens: 5 } });
    expect(t.final()).toEqual(done);
  });

  it('streams function calls as items with argument deltas, closing the text before them', () => {
    const { t, events } = start({ tools: [{ type: 'function', name: 'get', parameters: {} }] });
    const all = [...events];
    all.push(...t.chunk(delta({ content: 'Let me see.' })));
    all.push(...t.chunk(delta({ tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'get', arguments: '' } }] })));
    all.push(...t.chunk(delta({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] })));
    all.push(...t.chunk(delta({ tool_calls: [{ index: 0, function: { arguments: '"Oslo"}' } }] })));
    all.push(...t.chunk(delta({ tool_calls: [{ index: 1, id: 'call_b', function: { name: 'get', arguments: '{}' } }] }, 'tool_calls')));
    all.push(...t.end());
    expect(all.slice(2).map((e) => e.type)).toEqual([
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.delta',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(all[8]).toMatchObject({ output_index: 1, item: { type: 'function_call', call_id: 'call_a', name: 'get', arguments: '', status: 'in_progress' } });
    expect(all[13]).toMatchObject({ output_index: 1, name: 'get', arguments: '{"city":"Oslo"}' });
    const final = t.final() as { status: string; output: unknown[] };
    expect(final.status).toBe('completed');
    expect(final.output).toEqual([
      { id: 'msg_2', type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'Let me see.', annotations: [], logprobs: [] }] },
      { id: 'fc_3', type: 'function_call', status: 'completed', call_id: 'call_a', name: 'get', arguments: '{"city":"Oslo"}' },
      { id: 'fc_4', type: 'function_call', status: 'completed', call_id: 'call_b', name: 'get', arguments: '{}' },
    ]);
  });

  it.each([
    ['stop', 'completed', null],
    ['tool_calls', 'completed', null],
    ['function_call', 'completed', null],
    ['length', 'incomplete', { reason: 'max_output_tokens' }],
    ['content_filter', 'incomplete', { reason: 'content_filter' }],
    ['something_new', 'completed', null],
  ])('finish_reason %s → status %s, incomplete_details %j', (finish, status, details) => {
    const { t } = start();
    t.chunk(delta({ content: 'x' }, finish));
    const last = t.end().at(-1)!;
    expect(last.type).toBe(status === 'completed' ? 'response.completed' : 'response.incomplete');
    expect(last.response).toMatchObject({ status, incomplete_details: details, output: [{ status: status === 'completed' ? 'completed' : 'incomplete' }] });
  });

  it('exposes the status mapping as a function', () => {
    expect(responseStatusOf('length')).toEqual({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } });
  });

  it('a failure is response.failed with the message; nothing follows it', () => {
    const { t } = start();
    t.chunk(delta({ content: 'x' }));
    const [failed] = t.fail('upstream broke');
    expect(failed).toMatchObject({ type: 'response.failed', sequence_number: 5, response: { status: 'failed', error: { code: 'server_error', message: 'upstream broke' }, output: [{ status: 'incomplete' }] } });
    expect(t.failed).toBe(true);
    expect(t.chunk(delta({ content: 'y' }))).toEqual([]);
    expect(t.end()).toEqual([]);
    expect(t.final()).toBeNull();
  });

  it('a stream that ends without a finish_reason fails', () => {
    const { t } = start();
    t.chunk(delta({ content: 'x' }));
    expect(t.end()).toMatchObject([{ type: 'response.failed', response: { error: { message: expect.stringContaining('ended before') } } }]);
  });

  it('an empty answer completes with no output items', () => {
    const { t } = start();
    t.chunk(delta({ role: 'assistant' }, 'stop'));
    expect(t.end().map((e) => e.type)).toEqual(['response.completed']);
    expect(t.final()).toMatchObject({ output: [] });
  });

  it('the API object parses and builds its translator', () => {
    const t = responsesApi.parse({ model: 'm', input: 'x', stream: true }, env());
    expect(t.stream).toBe(true);
    expect(t.translator.start()[0]!.type).toBe('response.created');
  });
});
