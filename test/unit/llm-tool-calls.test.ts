/**
 * Tool calls in the LLM worker as pure decisions: reading a forced call's grammar output as it
 * streams (the fragments add up to the final arguments), mapping the calls node-llama-cpp parsed
 * from a chat wrapper's call syntax (recorded from stories260K), and planning requests (tool_choice,
 * response_format, tool history) including every refusal.
 */
import type { ChatModelFunctions, LlamaChatResponseFunctionCall } from 'node-llama-cpp';
import { describe, expect, it } from 'vitest';
import { planChat, toHistory } from '../../src/workers/llm/chat-plan.js';
import { chatRequestSchema, validate } from '../../src/workers/llm/schemas.js';
import { ForcedCallReader, callsFromChatResponse, forcedCallGrammar, newCallId } from '../../src/workers/llm/tool-calls.js';
import { HttpError } from '../../src/lib/http.js';

/** Feeds `pieces` to a reader; returns the start names, the fragments and the final call. */
function read(names: string[], pieces: string[], complete = true) {
  const starts: string[] = [];
  const fragments: string[] = [];
  const reader = new ForcedCallReader(names, (n) => starts.push(n), (f) => fragments.push(f));
  for (const p of pieces) reader.push(p);
  const call = reader.finish(complete);
  return { starts, fragments, call };
}

describe('ForcedCallReader', () => {
  it('one candidate: the output is the arguments; trailing whitespace never streams', () => {
    const r = read(['get_weather'], ['{', ' "city"', ': "Rome"', ' }', '\n', '\n']);
    expect(r.starts).toEqual(['get_weather']);
    expect(r.call).toEqual({ name: 'get_weather', arguments: '{ "city": "Rome" }' });
    expect(r.fragments.join('')).toBe(r.call!.arguments);
  });

  it('several candidates: the name comes from the wrapper, the wrapper\'s closing brace is not part of the arguments', () => {
    const r = read(['a', 'b'], ['{ "na', 'me": "b', '", "arguments": ', ' {', ' "y": 1', ' }', ' }', '\n\n\n\n']);
    expect(r.starts).toEqual(['b']);
    expect(r.call).toEqual({ name: 'b', arguments: '{ "y": 1 }' });
    expect(r.fragments.join('')).toBe(r.call!.arguments);
  });

  it('a name with an escaped quote', () => {
    const r = read(['x', 'y'], ['{"name": "y", "arguments": {}}']);
    expect(r.call).toEqual({ name: 'y', arguments: '{}' });
  });

  it('cut before the name: no call; cut inside the arguments: what was generated', () => {
    expect(read(['a', 'b'], ['{ "name": "'], false).call).toBeNull();
    const cut = read(['a', 'b'], ['{ "name": "a", "arguments": { "x": tr'], false);
    expect(cut.call).toEqual({ name: 'a', arguments: '{ "x": tr' });
    expect(cut.fragments.join('')).toBe('{ "x": tr');
  });

  it('makes OpenAI-style call ids', () => {
    expect(newCallId()).toMatch(/^call_[A-Za-z0-9]{24}$/);
    expect(newCallId()).not.toBe(newCallId());
  });
});

describe('forcedCallGrammar', () => {
  const tool = (name: string, grammar: unknown) => ({ name, parameters: { check: {}, grammar: grammar as never } });
  it('one tool: its arguments; several: name (const) before arguments, one branch per tool', () => {
    expect(forcedCallGrammar([tool('a', { type: 'object', properties: {} })])).toEqual({ type: 'object', properties: {} });
    expect(forcedCallGrammar([tool('a', { type: 'null' }), tool('b', { type: 'boolean' })])).toEqual({
      oneOf: [
        { type: 'object', properties: { name: { const: 'a' }, arguments: { type: 'null' } } },
        { type: 'object', properties: { name: { const: 'b' }, arguments: { type: 'boolean' } } },
      ],
    });
  });
});

describe('callsFromChatResponse on recorded node-llama-cpp output', () => {
  /**
   * Recorded from stories260K with GeneralChatWrapper: LlamaChat.generateResponse with
   * `functions: {get_weather: {params: {type: "object", properties: {city: {enum: ["Paris", "Rome"]}}}}}`,
   * the call prefix "||call: " forced through tokenBias, the rest chosen by the model under
   * node-llama-cpp's function grammar (stopReason "functionCalls", response "").
   */
  const recorded = [
    {
      functionName: 'get_weather',
      params: { city: 'Paris' },
      raw: ['||call: get_weather', { type: 'specialTokensText', value: '(' }, '{ "city": "Paris" }', { type: 'specialTokensText', value: ')' }],
    },
  ] as unknown as LlamaChatResponseFunctionCall<ChatModelFunctions>[];

  it('maps the parsed call to an OpenAI call with compact JSON arguments', () => {
    expect(callsFromChatResponse(recorded)).toEqual([{ name: 'get_weather', arguments: '{"city":"Paris"}' }]);
  });

  it('keeps at most one call and maps none to none', () => {
    expect(callsFromChatResponse([...recorded, ...recorded])).toHaveLength(1);
    expect(callsFromChatResponse(undefined)).toEqual([]);
    expect(callsFromChatResponse([{ ...recorded[0], params: undefined }])).toEqual([{ name: 'get_weather', arguments: '{}' }]);
  });
});

/** Validates and plans a body as the handler does; returns the plan or the HttpError. */
function plan(body: Record<string, unknown>) {
  try {
    return planChat(validate(chatRequestSchema, { messages: [{ role: 'user', content: 'hi' }], ...body }));
  } catch (err) {
    if (err instanceof HttpError) return err;
    throw err;
  }
}

const weather = { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { enum: ['Paris', 'Rome'] } } } } };
const noArgs = { type: 'function', function: { name: 'now' } };

describe('planChat: tool_choice and response_format', () => {
  const modes: [string, Record<string, unknown>, unknown][] = [
    ['no tools: text', {}, { kind: 'text' }],
    ['tools without tool_choice: auto', { tools: [weather] }, { kind: 'auto' }],
    ['none', { tools: [weather], tool_choice: 'none' }, { kind: 'text' }],
    ['required: every tool', { tools: [weather, noArgs], tool_choice: 'required' }, { kind: 'call', names: ['get_weather', 'now'] }],
    ['a named function', { tools: [weather, noArgs], tool_choice: { type: 'function', function: { name: 'now' } } }, { kind: 'call', names: ['now'] }],
    ['parallel_tool_calls true is accepted', { tools: [weather], tool_choice: 'required', parallel_tool_calls: true }, { kind: 'call', names: ['get_weather'] }],
  ];
  it.each(modes)('%s', (_name, body, mode) => {
    const p = plan(body);
    expect(p).not.toBeInstanceOf(HttpError);
    expect((p as Exclude<typeof p, HttpError>).mode).toEqual(mode);
  });

  it('a function without parameters takes an empty object', () => {
    const p = plan({ tools: [noArgs] }) as Exclude<ReturnType<typeof plan>, HttpError>;
    expect(p.tools.get('now')!.parameters.grammar).toEqual({ type: 'object', properties: {}, additionalProperties: false });
  });

  const refusals: [string, Record<string, unknown>, string, RegExp][] = [
    ['a named function that is not declared', { tools: [weather], tool_choice: { type: 'function', function: { name: 'nope' } } }, 'tool_choice.function.name', /no tool named "nope"/],
    ['required without tools', { tool_choice: 'required' }, 'tool_choice', /needs tools/],
    ['an invalid tool schema', { tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: { a: { type: 'strin' } } } } }] }, 'tools[0].function.parameters', /type "strin"/],
    ['an unsupported keyword in a tool schema', { tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', if: {} } } }] }, 'tools[0].function.parameters', /"if" is not supported/],
    ['a duplicate function', { tools: [weather, weather] }, 'tools[1].function.name', /declared twice/],
    ['a non-function tool', { tools: [{ type: 'web_search' }] }, 'tools.0.type', /only "function" tools/],
    ['a bad function name', { tools: [{ type: 'function', function: { name: 'a b' } }] }, 'tools.0.function.name', /letters, digits/],
    ['an unsupported response_format keyword', { response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'string', contentEncoding: 'base64' } } } }, 'response_format.json_schema.schema', /"contentEncoding" is not supported/],
    ['JSON with tool_choice auto', { tools: [weather], response_format: { type: 'json_object' } }, 'response_format', /cannot be combined/],
    ['logprobs', { logprobs: true }, 'logprobs', /log probabilities/],
    ['top_logprobs', { top_logprobs: 2 }, 'top_logprobs', /log probabilities/],
    ['an unknown field', { frobnicate: 1 }, 'frobnicate', /Unknown field "frobnicate"/],
    ['an unknown field in a message', { messages: [{ role: 'user', content: 'x', foo: 1 }] }, 'messages.0.foo', /Unknown field "messages.0.foo"/],
    ['store true', { store: true }, 'store', /stores no completions/],
    ['audio modality', { modalities: ['text', 'audio'] }, 'modalities.1', /text only/],
    ['deprecated functions', { functions: [] }, 'functions', /use tools/],
    ['n > 1', { n: 2 }, 'n', /n=1/],
  ];
  it.each(refusals)('400: %s', (_name, body, param, message) => {
    const err = plan(body);
    expect(err).toBeInstanceOf(HttpError);
    expect(err).toMatchObject({ status: 400, param });
    expect((err as HttpError).message).toMatch(message);
  });

  it('accepts an assistant message as OpenAI returns it (refusal, annotations, audio and function_call null)', () => {
    const p = plan({ messages: [{ role: 'user', content: 'x' }, { role: 'assistant', content: 'y', refusal: null, annotations: [], audio: null, function_call: null }, { role: 'user', content: 'z' }] });
    expect(p).not.toBeInstanceOf(HttpError);
  });

  it('accepts the deliberately ignored fields', () => {
    const p = plan({ user: 'u', metadata: { a: 'b' }, store: false, service_tier: 'auto', modalities: ['text'], reasoning_effort: 'low', prediction: { type: 'content', content: 'x' }, safety_identifier: 's', prompt_cache_key: 'k', verbosity: 'low', stream_options: { include_usage: true, include_obfuscation: false } });
    expect(p).not.toBeInstanceOf(HttpError);
  });
});

describe('toHistory: tool calls and their results', () => {
  const call = (id: string, name = 'get_weather', args = '{"city":"Paris"}') => ({ id, type: 'function' as const, function: { name, arguments: args } });

  it('an assistant call with its result: the model response holds the call, generation continues it', () => {
    const history = toHistory([
      { role: 'user', content: 'Weather?' },
      { role: 'assistant', content: null, tool_calls: [call('c1')] },
      { role: 'tool', tool_call_id: 'c1', content: '{"temp":21}' },
    ]);
    expect(history).toEqual([
      { type: 'user', text: 'Weather?' },
      { type: 'model', response: [{ type: 'functionCall', name: 'get_weather', params: { city: 'Paris' }, result: { temp: 21 }, startsNewChunk: true }] },
    ]);
  });

  it('after the results and a later user turn, a new empty response is generated; non-JSON results stay text', () => {
    const history = toHistory([
      { role: 'user', content: 'Weather?' },
      { role: 'assistant', content: 'Checking.', tool_calls: [call('c1'), call('c2', 'now', '')] },
      { role: 'tool', tool_call_id: 'c1', content: 'sunny' },
      { role: 'tool', tool_call_id: 'c2', content: [{ type: 'text', text: '12:00' }] },
      { role: 'user', content: 'Thanks' },
    ]);
    expect(history[1]).toEqual({
      type: 'model',
      response: [
        'Checking.',
        { type: 'functionCall', name: 'get_weather', params: { city: 'Paris' }, result: 'sunny', startsNewChunk: true },
        { type: 'functionCall', name: 'now', params: '', result: '12:00', startsNewChunk: false },
      ],
    });
    expect(history.at(-1)).toEqual({ type: 'model', response: [] });
  });

  const bad: [string, unknown[], string][] = [
    ['a result for an unknown call', [{ role: 'tool', tool_call_id: 'x', content: '1' }], 'messages[0].tool_call_id'],
    ['a call without a result', [{ role: 'assistant', tool_calls: [call('c1')] }, { role: 'user', content: 'x' }], 'messages[0].tool_calls[0]'],
    ['a result after another turn', [{ role: 'assistant', tool_calls: [call('c1')] }, { role: 'user', content: 'x' }, { role: 'tool', tool_call_id: 'c1', content: '1' }], 'messages[2]'],
    ['two results for one call', [{ role: 'assistant', tool_calls: [call('c1')] }, { role: 'tool', tool_call_id: 'c1', content: '1' }, { role: 'tool', tool_call_id: 'c1', content: '2' }], 'messages[2].tool_call_id'],
  ];
  it.each(bad)('400: %s', (_name, messages, param) => {
    const err = plan({ messages });
    expect(err).toBeInstanceOf(HttpError);
    expect(err).toMatchObject({ status: 400, param });
  });

  it('a tool message without tool_call_id is a 400 naming it', () => {
    expect(plan({ messages: [{ role: 'tool', content: 'x' }] })).toMatchObject({ status: 400, param: 'messages.0.tool_call_id' });
  });
});
