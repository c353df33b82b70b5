/** The Anthropic Messages translation's pure mappers: requests onto chat completions, chunks into Anthropic's events, finishes into stop_reason, errors into its shape. */
import { describe, expect, it } from 'vitest';
import { HttpError } from '../../src/lib/http.js';
import type { TranslateEnv } from '../../src/core/gateway/translate/api.js';
import type { ChatChunk } from '../../src/core/gateway/translate/chat.js';
import { anthropicApi, anthropicErrorBody, anthropicErrorType, MessagesStream, parseMessagesRequest, stopReasonOf } from '../../src/core/gateway/translate/anthropic.js';

function env(): TranslateEnv {
  let n = 0;
  return { id: (p) => `${p}_${++n}`, now: () => 1000 };
}
const req = (body: Record<string, unknown>) => parseMessagesRequest({ model: 'm', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }], ...body });
const refusal = (body: Record<string, unknown>): HttpError => {
  try {
    req(body);
  } catch (err) {
    if (err instanceof HttpError) return err;
    throw err;
  }
  throw new Error('not refused');
};
const delta = (d: NonNullable<NonNullable<ChatChunk['choices']>[number]['delta']>, finish: string | null = null, stopReason?: string): ChatChunk => ({ choices: [{ index: 0, delta: d, finish_reason: finish, ...(stopReason ? { stop_reason: stopReason } : {}) }] });
const usage = (prompt: number, completion: number): ChatChunk => ({ choices: [], usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion } });

describe('Messages request → chat completions', () => {
  it('maps system, max_tokens, sampling, stop_sequences and stream', () => {
    const { chat, stream } = req({ system: 'Be brief.', temperature: 0.2, top_p: 0.9, top_k: 5, stop_sequences: ['END'], stream: true, metadata: { user_id: 'u' } });
    expect(stream).toBe(true);
    expect(chat).toEqual({
      model: 'm',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'hi' },
      ],
      max_tokens: 64,
      stream: true,
      stream_options: { include_usage: true },
      temperature: 0.2,
      top_p: 0.9,
      top_k: 5,
      stop: ['END'],
    });
  });

  it('maps system text blocks (cache_control accepted) and text blocks', () => {
    const { chat } = req({
      system: [{ type: 'text', text: 'a', cache_control: { type: 'ephemeral' } }, { type: 'text', text: 'b' }],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'x' }] }, { role: 'assistant', content: [{ type: 'text', text: 'y' }] }],
    });
    expect(chat.messages).toEqual([
      { role: 'system', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] },
      { role: 'user', content: 'x' },
      { role: 'assistant', content: 'y' },
    ]);
  });

  it('maps tool_use onto assistant tool_calls and tool_result onto tool messages before the turn\'s text, is_error marked', () => {
    const { chat } = req({
      messages: [
        { role: 'user', content: 'weather?' },
        { role: 'assistant', content: [{ type: 'text', text: 'Checking.' }, { type: 'tool_use', id: 'toolu_1', name: 'get', input: { city: 'Oslo' } }, { type: 'tool_use', id: 'toolu_2', name: 'get', input: {} }] },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_1', content: 'cold' },
            { type: 'tool_result', tool_use_id: 'toolu_2', content: [{ type: 'text', text: 'no city' }], is_error: true },
            { type: 'text', text: 'thanks' },
          ],
        },
      ],
    });
    expect(chat.messages).toEqual([
      { role: 'user', content: 'weather?' },
      {
        role: 'assistant',
        content: 'Checking.',
        tool_calls: [
          { id: 'toolu_1', type: 'function', function: { name: 'get', arguments: '{"city":"Oslo"}' } },
          { id: 'toolu_2', type: 'function', function: { name: 'get', arguments: '{}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'toolu_1', content: 'cold' },
      { role: 'tool', tool_call_id: 'toolu_2', content: 'Error: no city' },
      { role: 'user', content: 'thanks' },
    ]);
  });

  it.each([
    [{ type: 'auto' }, 'auto', undefined],
    [{ type: 'any' }, 'required', undefined],
    [{ type: 'tool', name: 'get' }, { type: 'function', function: { name: 'get' } }, undefined],
    [{ type: 'none' }, 'none', undefined],
    [{ type: 'auto', disable_parallel_tool_use: true }, 'auto', false],
  ])('maps tools and tool_choice %j onto %j', (choice, mapped, parallel) => {
    const { chat } = req({ tools: [{ name: 'get', description: 'Gets.', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }], tool_choice: choice });
    expect(chat.tools).toEqual([{ type: 'function', function: { name: 'get', description: 'Gets.', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }]);
    expect(chat.tool_choice).toEqual(mapped);
    expect(chat.parallel_tool_calls).toBe(parallel);
  });

  it('maps output_config.format onto a json_schema response_format; thinking disabled is accepted', () => {
    const { chat } = req({ output_config: { format: { type: 'json_schema', schema: { type: 'object' } } }, thinking: { type: 'disabled' } });
    expect(chat.response_format).toEqual({ type: 'json_schema', json_schema: { name: 'output', schema: { type: 'object' }, strict: true } });
  });

  it.each([
    ['max_tokens missing', { max_tokens: undefined }, 'max_tokens'],
    ['an unknown field', { frobnicate: 1 }, 'frobnicate'],
    ['an unknown field in a message', { messages: [{ role: 'user', content: 'x', name: 'bob' }] }, 'messages[0].name'],
    ['an image block', { messages: [{ role: 'user', content: [{ type: 'image', source: {} }] }] }, 'messages[0].content[0].type'],
    ['a document block', { messages: [{ role: 'user', content: [{ type: 'document', source: {} }] }] }, 'messages[0].content[0].type'],
    ['a thinking block', { messages: [{ role: 'assistant', content: [{ type: 'thinking', thinking: 'hm', signature: 's' }] }] }, 'messages[0].content[0].type'],
    ['tool_use in a user message', { messages: [{ role: 'user', content: [{ type: 'tool_use', id: 'a', name: 'b', input: {} }] }] }, 'messages[0].content[0].type'],
    ['an image in a tool result', { messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'a', content: [{ type: 'image', source: {} }] }] }] }, 'messages[0].content[0].content[0].type'],
    ['a system block that is not text', { system: [{ type: 'image' }] }, 'system[0].type'],
    ['thinking enabled', { thinking: { type: 'enabled', budget_tokens: 1000 } }, 'thinking'],
    ['a server tool', { tools: [{ type: 'bash_20250124', name: 'bash' }] }, 'tools[0].type'],
    ['a tool without input_schema', { tools: [{ name: 'get' }] }, 'tools[0].input_schema'],
    ['tool_choice naming a missing tool', { tools: [{ name: 'a', input_schema: {} }], tool_choice: { type: 'tool', name: 'b' } }, 'tool_choice.name'],
    ['tool_choice any without tools', { tool_choice: { type: 'any' } }, 'tool_choice'],
    ['an unknown tool_choice', { tool_choice: { type: 'sometimes' } }, 'tool_choice.type'],
    ['output_config effort', { output_config: { effort: 'high' } }, 'output_config.effort'],
    ['no messages', { messages: [] }, 'messages'],
    ['a wrong role', { messages: [{ role: 'system', content: 'x' }] }, 'messages[0].role'],
    ['temperature above 1', { temperature: 1.5 }, 'temperature'],
  ])('refuses %s with a 400 naming %s', (_, body, param) => {
    const err = refusal(body);
    expect(err.status).toBe(400);
    expect(err.param).toBe(param);
    expect(err.message).toContain(param);
  });

  it('errors are Anthropic-shaped, the type from the status', () => {
    expect(anthropicErrorBody({ status: 400, message: 'max_tokens: required', type: 'invalid_request_error', code: null, param: 'max_tokens' })).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: 'max_tokens: required' } });
    expect([400, 401, 402, 403, 404, 413, 429, 500, 502, 503, 504, 529].map(anthropicErrorType)).toEqual([
      'invalid_request_error',
      'authentication_error',
      'billing_error',
      'permission_error',
      'not_found_error',
      'request_too_large',
      'rate_limit_error',
      'api_error',
      'api_error',
      'overloaded_error',
      'timeout_error',
      'overloaded_error',
    ]);
  });
});

describe('chat chunks → Anthropic events', () => {
  const start = (body: Record<string, unknown> = {}) => {
    const { echo } = req(body);
    const t = new MessagesStream(echo, env());
    return { t, events: t.start() };
  };

  it('streams text: message_start, ping, block start, text deltas, block stop, message_delta with usage, message_stop', () => {
    const { t, events } = start();
    events.push(...t.chunk(delta({ role: 'assistant', content: '' })));
    events.push(...t.chunk(delta({ content: 'Once' })));
    events.push(...t.chunk(delta({ content: ' upon' })));
    events.push(...t.chunk(delta({}, 'stop')));
    events.push(...t.chunk(usage(3, 2)));
    events.push(...t.end());
    expect(events).toEqual([
      { type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, stop_sequence: null, stop_details: null, container: null, usage: { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 } } },
      { type: 'ping' },
      { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Once' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: ' upon' } },
      { type: 'content_block_stop', index: 0 },
      { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null, stop_details: null }, usage: { input_tokens: 3, output_tokens: 2 } },
      { type: 'message_stop' },
    ]);
    expect(t.final()).toMatchObject({ id: 'msg_1', content: [{ type: 'text', text: 'Once upon' }], stop_reason: 'end_turn', usage: { input_tokens: 3, output_tokens: 2 } });
  });

  it('streams tool calls as tool_use blocks with input_json_delta, the final input parsed', () => {
    const { t } = start({ tools: [{ name: 'get', input_schema: {} }] });
    const events = [
      ...t.chunk(delta({ content: 'Let me see.' })),
      ...t.chunk(delta({ tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'get', arguments: '' } }] })),
      ...t.chunk(delta({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] })),
      ...t.chunk(delta({ tool_calls: [{ index: 0, function: { arguments: '"Oslo"}' } }] })),
      ...t.chunk(delta({ tool_calls: [{ index: 1, id: 'call_b', function: { name: 'get', arguments: '{}' } }] }, 'tool_calls')),
      ...t.end(),
    ];
    expect(events).toEqual([
      { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Let me see.' } },
      { type: 'content_block_stop', index: 0 },
      { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'call_a', name: 'get', input: {} } },
      { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"city":' } },
      { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '"Oslo"}' } },
      { type: 'content_block_stop', index: 1 },
      { type: 'content_block_start', index: 2, content_block: { type: 'tool_use', id: 'call_b', name: 'get', input: {} } },
      { type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: '{}' } },
      { type: 'content_block_stop', index: 2 },
      { type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null, stop_details: null }, usage: { input_tokens: 0, output_tokens: 0 } },
      { type: 'message_stop' },
    ]);
    expect((t.final() as { content: unknown }).content).toEqual([
      { type: 'text', text: 'Let me see.' },
      { type: 'tool_use', id: 'call_a', name: 'get', input: { city: 'Oslo' } },
      { type: 'tool_use', id: 'call_b', name: 'get', input: {} },
    ]);
  });

  it.each([
    ['stop', undefined, 'end_turn', null],
    ['stop', 'END', 'stop_sequence', 'END'],
    ['stop', 'OTHER', 'end_turn', null],
    ['length', undefined, 'max_tokens', null],
    ['tool_calls', undefined, 'tool_use', null],
    ['function_call', undefined, 'tool_use', null],
    ['content_filter', undefined, 'refusal', null],
  ])('finish_reason %s (upstream stop_reason %s) → stop_reason %s, stop_sequence %s', (finish, matched, stopReason, sequence) => {
    const { t } = start({ stop_sequences: ['END'] });
    t.chunk(delta({ content: 'x' }, finish, matched));
    const events = t.end();
    expect(events.find((e) => e.type === 'message_delta')).toMatchObject({ delta: { stop_reason: stopReason, stop_sequence: sequence } });
    expect(stopReasonOf(finish === 'stop' ? 'stop' : finish === 'length' ? 'length' : finish === 'content_filter' ? 'content_filter' : 'tool_calls', matched, ['END']).stop_reason).toBe(stopReason);
  });

  it('a failure is an error event; nothing follows it', () => {
    const { t } = start();
    t.chunk(delta({ content: 'x' }));
    expect(t.fail('upstream broke')).toEqual([{ type: 'error', error: { type: 'api_error', message: 'upstream broke' } }]);
    expect(t.failed).toBe(true);
    expect(t.end()).toEqual([]);
    expect(t.final()).toBeNull();
  });

  it('a stream that ends without a finish_reason fails', () => {
    const { t } = start();
    t.chunk(delta({ content: 'x' }));
    expect(t.end()).toMatchObject([{ type: 'error', error: { message: expect.stringContaining('ended before') } }]);
  });

  it('tool arguments that are not JSON fail the answer, unless max_tokens cut them off', () => {
    const broken = start().t;
    broken.chunk(delta({ tool_calls: [{ index: 0, id: 'a', function: { name: 'get', arguments: '{"city": ' } }] }, 'tool_calls'));
    expect(broken.end()).toMatchObject([{ type: 'error' }]);
    const cut = start().t;
    cut.chunk(delta({ tool_calls: [{ index: 0, id: 'a', function: { name: 'get', arguments: '{"city": ' } }] }, 'length'));
    expect(cut.end().at(-1)).toEqual({ type: 'message_stop' });
    expect(cut.final()).toMatchObject({ stop_reason: 'max_tokens', content: [{ type: 'tool_use', input: {} }] });
  });

  it('interleaved tool-call deltas (which sequential blocks cannot carry) fail the answer', () => {
    const { t } = start();
    t.chunk(delta({ tool_calls: [{ index: 0, id: 'a', function: { name: 'x', arguments: '{' } }] }));
    t.chunk(delta({ tool_calls: [{ index: 1, id: 'b', function: { name: 'y', arguments: '{' } }] }));
    expect(t.chunk(delta({ tool_calls: [{ index: 0, function: { arguments: '}' } }] }))).toMatchObject([{ type: 'error', error: { message: expect.stringContaining('interleaved') } }]);
  });

  it('the API object parses and builds its translator', () => {
    const t = anthropicApi.parse({ model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }, env());
    expect(t.stream).toBe(false);
    expect(t.translator.start()[0]!.type).toBe('message_start');
  });
});
