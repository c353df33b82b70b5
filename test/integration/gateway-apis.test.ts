/**
 * The Responses API and the Anthropic Messages API on `aima serve`'s gateway, driven by the
 * official `openai` and `@anthropic-ai/sdk` clients, with the embedded LLM worker (stories260K)
 * behind it as a real service: the same greedy text as chat completions, streaming and not; bad
 * input refused in each API's own error shape, naming the field; forced tool calls and JSON
 * Schema output through the worker's grammars; metrics and the request log per endpoint;
 * `x-api-key` accepted wherever a Bearer key is.
 *
 * stories260K rambles, so the schemas are bounded (enums, booleans). The service runs with a
 * 2048-token context: the chat wrapper's description of a function alone is over 512 tokens.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import OpenAI from 'openai';
import { zodTextFormat } from 'openai/helpers/zod';
import Anthropic from '@anthropic-ai/sdk';
import { z } from 'zod';
import { runAima, startServe, tempHome, type ServeHandle } from '../support/cli.js';
import { requirePart, sharedModel } from '../support/system.js';

const GGUF = sharedModel('stories260K/stories260K.gguf');
let serve: ServeHandle | undefined;
let home: string;
let openai: OpenAI;
let anthropic: Anthropic;
const aima = (...args: string[]) => runAima(args, { AIMA_HOME: home });
const PROMPT = 'Tell me a story.';
/**
 * Greedy sampling for the Anthropic client: this SDK's types no longer list `temperature` (newer
 * Anthropic models drop sampling parameters), but the API takes it and older clients send it.
 */
const GREEDY = { temperature: 0 } as object;

beforeAll(async () => {
  if (!existsSync(GGUF)) return;
  home = tempHome();
  serve = await startServe({ AIMA_HOME: home });
  openai = new OpenAI({ baseURL: `${serve.url}/v1`, apiKey: 'local', maxRetries: 0 });
  anthropic = new Anthropic({ baseURL: serve.url, apiKey: 'local', maxRetries: 0 });
  await aima('model', 'import', GGUF, '--name', 'stories');
  const created = await aima('service', 'create', 'story', '--model', 'stories', '--engine', 'aima-llm', '--concurrency', '2', '--ctx-size', '2048');
  if (created.code !== 0) throw new Error(created.stderr);
  const started = await aima('service', 'start', 'story', '--wait', '--timeout', '120');
  if (started.code !== 0) throw new Error(started.stderr);
}, 180_000);
afterAll(async () => {
  await serve?.stop();
});

/** The chat-completions answer the translated APIs must reproduce (greedy, same prompt and length). */
async function chatText(maxTokens: number): Promise<{ text: string; finish: string }> {
  const r = await openai.chat.completions.create({ model: 'stories', messages: [{ role: 'user', content: PROMPT }], max_tokens: maxTokens, temperature: 0 });
  return { text: r.choices[0]!.message.content ?? '', finish: r.choices[0]!.finish_reason };
}

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${serve!.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

describe('Responses API through the gateway (openai SDK, embedded worker)', () => {
  it('responses.create answers with the chat completion\'s text, status and usage', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const expected = await chatText(24);
    const r = await openai.responses.create({ model: 'stories', input: PROMPT, max_output_tokens: 24, temperature: 0, store: false });
    expect(r.object).toBe('response');
    expect(r.id).toMatch(/^resp_/);
    expect(r.output_text).toBe(expected.text);
    expect(r.output).toHaveLength(1);
    expect(r.output[0]).toMatchObject({ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: expected.text }] });
    expect(r.status).toBe(expected.finish === 'length' ? 'incomplete' : 'completed');
    if (expected.finish === 'length') expect(r.incomplete_details).toEqual({ reason: 'max_output_tokens' });
    expect(r.usage?.output_tokens).toBeGreaterThan(0);
    expect(r.usage?.input_tokens).toBeGreaterThan(0);
  });

  it('takes input items and instructions the same as chat messages', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const chat = await openai.chat.completions.create({
      model: 'stories',
      messages: [
        { role: 'system', content: 'Be kind.' },
        { role: 'user', content: 'Hi.' },
        { role: 'assistant', content: 'Hello.' },
        { role: 'user', content: PROMPT },
      ],
      max_tokens: 16,
      temperature: 0,
    });
    const r = await openai.responses.create({
      model: 'stories',
      instructions: 'Be kind.',
      input: [
        { role: 'user', content: 'Hi.' },
        { type: 'message', id: 'msg_earlier', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'Hello.', annotations: [] }] },
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: PROMPT }] },
      ],
      max_output_tokens: 16,
      temperature: 0,
    });
    expect(r.output_text).toBe(chat.choices[0]!.message.content);
  });

  it('responses.stream sends the typed events in order, and its final response matches the plain one', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const params = { model: 'stories', input: PROMPT, max_output_tokens: 24, temperature: 0 };
    const plain = await openai.responses.create(params);
    const stream = openai.responses.stream(params);
    const types: string[] = [];
    const seqs: number[] = [];
    let deltas = '';
    for await (const e of stream) {
      types.push(e.type);
      seqs.push(e.sequence_number);
      if (e.type === 'response.output_text.delta') deltas += e.delta;
    }
    const final = await stream.finalResponse();
    expect(deltas).toBe(plain.output_text);
    expect(final.output_text).toBe(plain.output_text);
    expect(final.status).toBe(plain.status);
    expect(seqs).toEqual(seqs.map((_, i) => i));
    const unique = types.filter((t, i) => t !== types[i - 1]);
    expect(unique).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      plain.status === 'completed' ? 'response.completed' : 'response.incomplete',
    ]);
  });
});

describe('Anthropic Messages API through the gateway (@anthropic-ai/sdk, embedded worker)', () => {
  it('messages.create answers with the chat completion\'s text, stop_reason and usage', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const expected = await chatText(24);
    const m = await anthropic.messages.create({ model: 'stories', max_tokens: 24, ...GREEDY, messages: [{ role: 'user', content: PROMPT }] });
    expect(m.type).toBe('message');
    expect(m.role).toBe('assistant');
    expect(m.content).toEqual([{ type: 'text', text: expected.text }]);
    expect(m.stop_reason).toBe(expected.finish === 'length' ? 'max_tokens' : 'end_turn');
    expect(m.usage.output_tokens).toBeGreaterThan(0);
    expect(m.usage.input_tokens).toBeGreaterThan(0);
  });

  it('takes a system prompt and text blocks the same as chat messages', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const chat = await openai.chat.completions.create({
      model: 'stories',
      messages: [
        { role: 'system', content: 'Be kind.' },
        { role: 'user', content: 'Hi.' },
        { role: 'assistant', content: 'Hello.' },
        { role: 'user', content: PROMPT },
      ],
      max_tokens: 16,
      temperature: 0,
    });
    const m = await anthropic.messages.create({
      model: 'stories',
      system: [{ type: 'text', text: 'Be kind.', cache_control: { type: 'ephemeral' } }],
      messages: [
        { role: 'user', content: 'Hi.' },
        { role: 'assistant', content: [{ type: 'text', text: 'Hello.' }] },
        { role: 'user', content: [{ type: 'text', text: PROMPT }] },
      ],
      max_tokens: 16,
      ...GREEDY,
      metadata: { user_id: 'someone' },
    });
    expect(m.content).toEqual([{ type: 'text', text: chat.choices[0]!.message.content }]);
  });

  it('messages.stream sends Anthropic\'s events in order, and its final message matches the plain one', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const params = { model: 'stories', max_tokens: 24, ...GREEDY, messages: [{ role: 'user' as const, content: PROMPT }] };
    const plain = await anthropic.messages.create(params);
    const stream = anthropic.messages.stream(params);
    let text = '';
    stream.on('text', (t) => (text += t));
    const types: string[] = [];
    for await (const e of stream) types.push(e.type);
    const final = await stream.finalMessage();
    expect(text).toBe((plain.content[0] as { text: string }).text);
    expect(final.content).toEqual(plain.content);
    expect(final.stop_reason).toBe(plain.stop_reason);
    expect(final.usage.output_tokens).toBe(plain.usage.output_tokens);
    expect(types.filter((t, i) => t !== types[i - 1])).toEqual(['message_start', 'content_block_start', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
  });
});

const Weather = z.strictObject({ city: z.enum(['Paris', 'Rome', 'Oslo']), unit: z.enum(['c', 'f']), rain: z.boolean() });
const weatherSchema = { type: 'object', properties: { city: { type: 'string', enum: ['Paris', 'Rome', 'Oslo'] }, unit: { type: 'string', enum: ['c', 'f'] }, rain: { type: 'boolean' } }, required: ['city', 'unit', 'rain'], additionalProperties: false };
const Mood = z.strictObject({ mood: z.enum(['happy', 'sad', 'sleepy']), hungry: z.boolean() });
const moodSchema = { type: 'object', properties: { mood: { type: 'string', enum: ['happy', 'sad', 'sleepy'] }, hungry: { type: 'boolean' } }, required: ['mood', 'hungry'], additionalProperties: false };

describe('tool calls and structured output through the translated APIs (the worker\'s grammars)', () => {
  it('Responses: a named function tool_choice gives a function_call item whose arguments validate, the same streamed; the call round-trips', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const params = {
      model: 'stories',
      input: 'What is the weather in Paris?',
      tools: [{ type: 'function' as const, name: 'get_weather', description: 'The weather in a city', parameters: weatherSchema, strict: true }],
      tool_choice: { type: 'function' as const, name: 'get_weather' },
      max_output_tokens: 80,
      temperature: 0,
    };
    const plain = await openai.responses.create(params);
    expect(plain.status).toBe('completed');
    const call = plain.output.find((o) => o.type === 'function_call') as { call_id: string; name: string; arguments: string } | undefined;
    expect(call).toMatchObject({ type: 'function_call', name: 'get_weather', call_id: expect.any(String), status: 'completed' });
    const args = Weather.parse(JSON.parse(call!.arguments));
    const stream = openai.responses.stream(params);
    let deltas = '';
    stream.on('response.function_call_arguments.delta', (e) => (deltas += e.delta));
    const final = await stream.finalResponse();
    const streamedCall = final.output.find((o) => o.type === 'function_call') as { arguments: string; name: string };
    expect(streamedCall.name).toBe('get_weather');
    expect(deltas).toBe(streamedCall.arguments);
    expect(Weather.parse(JSON.parse(streamedCall.arguments))).toEqual(args);

    // The call and its output go back as input items; with tool_choice none the model answers in text.
    const next = await openai.responses.create({
      model: 'stories',
      input: [
        { role: 'user', content: 'What is the weather in Paris?' },
        { type: 'function_call', call_id: call!.call_id, name: 'get_weather', arguments: call!.arguments },
        { type: 'function_call_output', call_id: call!.call_id, output: 'Sunny, 21 degrees.' },
      ],
      tools: params.tools,
      tool_choice: 'none',
      max_output_tokens: 20,
      temperature: 0,
    });
    expect(next.output_text.length).toBeGreaterThan(0);
    expect(next.output.every((o) => o.type === 'message')).toBe(true);
  });

  it('Responses: text.format json_schema gives output_text that parses and validates (also through zodTextFormat and responses.parse)', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const r = await openai.responses.create({
      model: 'stories',
      input: 'How is the cat?',
      text: { format: { type: 'json_schema', name: 'mood', strict: true, schema: moodSchema } },
      max_output_tokens: 60,
      temperature: 0,
    });
    expect(r.status).toBe('completed');
    expect(r.text?.format).toMatchObject({ type: 'json_schema', name: 'mood' });
    Mood.parse(JSON.parse(r.output_text));
    const parsed = await openai.responses.parse({ model: 'stories', input: 'How is the dog?', text: { format: zodTextFormat(Mood, 'mood') }, max_output_tokens: 60, temperature: 0 });
    expect(Mood.parse(parsed.output_parsed)).toEqual(parsed.output_parsed);
  });

  it('Anthropic: tool_choice any gives a tool_use block whose input validates, the same streamed; the result round-trips', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const params = {
      model: 'stories',
      max_tokens: 80,
      ...GREEDY,
      messages: [{ role: 'user' as const, content: 'What is the weather in Rome?' }],
      tools: [{ name: 'get_weather', description: 'The weather in a city', input_schema: weatherSchema as Anthropic.Tool.InputSchema }],
      tool_choice: { type: 'any' as const },
    };
    const plain = await anthropic.messages.create(params);
    expect(plain.stop_reason).toBe('tool_use');
    const use = plain.content.find((b) => b.type === 'tool_use') as { id: string; input: unknown } | undefined;
    expect(use).toMatchObject({ type: 'tool_use', name: 'get_weather', id: expect.any(String) });
    const input = Weather.parse(use!.input);
    const stream = anthropic.messages.stream(params);
    let json = '';
    stream.on('inputJson', (partial) => (json += partial));
    const final = await stream.finalMessage();
    expect(final.stop_reason).toBe('tool_use');
    const streamedUse = final.content.find((b) => b.type === 'tool_use') as { input: unknown };
    expect(Weather.parse(streamedUse.input)).toEqual(input);
    expect(JSON.parse(json)).toEqual(streamedUse.input);

    const next = await anthropic.messages.create({
      ...params,
      tool_choice: { type: 'none' },
      max_tokens: 20,
      messages: [...params.messages, { role: 'assistant', content: plain.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: use!.id, content: 'Sunny.' }] }],
    });
    expect(next.stop_reason).not.toBe('tool_use');
    expect(next.content.every((b) => b.type === 'text')).toBe(true);
  });

  it('Anthropic: output_config.format json_schema gives text that parses and validates', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const m = await anthropic.messages.create({ model: 'stories', max_tokens: 60, ...GREEDY, messages: [{ role: 'user', content: 'How is the cat?' }], output_config: { format: { type: 'json_schema', schema: moodSchema } } });
    expect(m.stop_reason).toBe('end_turn');
    Mood.parse(JSON.parse((m.content[0] as { text: string }).text));
  });
});

describe('bad input: a 400 in each API\'s own shape, naming the field', () => {
  const responses = (body: Record<string, unknown>) => post('/v1/responses', { model: 'stories', input: 'hi', ...body });
  const messages = (body: Record<string, unknown>) => post('/v1/messages', { model: 'stories', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }], ...body });

  it.each([
    ['an input item of an unknown type', { input: [{ type: 'reasoning', summary: [] }] }, 'input[0].type', /reasoning/],
    ['store: true', { store: true }, 'store', /stateless/],
    ['previous_response_id', { previous_response_id: 'resp_123' }, 'previous_response_id', /input items/],
    ['a non-function tool', { tools: [{ type: 'web_search' }] }, 'tools[0].type', /web_search/],
    ['an unknown field', { frobnicate: 1 }, 'frobnicate', /Unknown field "frobnicate"/],
    ['background: true', { background: true }, 'background', /background/],
    ['an image part', { input: [{ role: 'user', content: [{ type: 'input_image', image_url: 'http://x/y.png' }] }] }, 'input[0].content[0].type', /input_image/],
    ['a tool_choice naming a missing function', { tools: [{ type: 'function', name: 'a', parameters: {} }], tool_choice: { type: 'function', name: 'b' } }, 'tool_choice.name', /"b"/],
  ])('Responses: %s', async (_, body, param, message) => {
    const r = await responses(body);
    const json = (await r.json()) as { error: { message: string; type: string; param: string | null } };
    expect(r.status, JSON.stringify(json)).toBe(400);
    expect(json.error.type).toBe('invalid_request_error');
    expect(json.error.param).toBe(param);
    expect(json.error.message).toMatch(message);
  });

  it('Responses: the openai SDK sees the refusal as a 400 APIError with the field', async () => {
    const err = await openai.responses.create({ model: 'stories', input: 'hi', store: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('store');
  });

  it.each([
    ['max_tokens missing', { max_tokens: undefined }, /max_tokens is required/],
    ['an unknown field', { frobnicate: 1 }, /Unknown field "frobnicate"/],
    ['an image block', { messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'url', url: 'http://x/y.png' } }] }] }, /messages\[0\]\.content\[0\]\.type.*"image"/],
    ['thinking enabled', { thinking: { type: 'enabled', budget_tokens: 1024 } }, /thinking/],
    ['a server tool', { tools: [{ type: 'web_search_20250305', name: 'web_search' }] }, /tools\[0\]\.type/],
  ])('Anthropic: %s', async (_, body, message) => {
    const r = await messages(body);
    const json = (await r.json()) as { type: string; error: { type: string; message: string } };
    expect(r.status, JSON.stringify(json)).toBe(400);
    expect(json.type).toBe('error');
    expect(json.error.type).toBe('invalid_request_error');
    expect(json.error.message).toMatch(message);
  });

  it('Anthropic: the SDK sees an unknown model as a 404 NotFoundError in Anthropic\'s shape', async () => {
    const err = await anthropic.messages.create({ model: 'nope', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.NotFoundError);
    expect((err as InstanceType<typeof Anthropic.NotFoundError>).error).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
  });
});

describe('the gateway pipeline applies to both endpoints', () => {
  it('metrics count each endpoint, and the request log has them with their timings', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    await openai.responses.create({ model: 'stories', input: 'hi', max_output_tokens: 4 });
    await anthropic.messages.create({ model: 'stories', max_tokens: 4, messages: [{ role: 'user', content: 'hi' }], stream: true }).then(async (s) => {
      for await (const _ of s);
    });
    const text = await (await fetch(`${serve!.url}/metrics`, { headers: { authorization: `Bearer ${serve!.token}` } })).text();
    expect(text).toMatch(/^aima_gateway_requests_total\{model="stories",endpoint="\/v1\/responses",status="200"\} [1-9]/m);
    expect(text).toMatch(/^aima_gateway_requests_total\{model="stories",endpoint="\/v1\/messages",status="200"\} [1-9]/m);
    const log = await fetch(`${serve!.url}/api/call/gateway.requests`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${serve!.token}` }, body: '{"limit": 5}' });
    const entries = ((await log.json()) as { result: { endpoint: string; stream: boolean; ttftMs: number | null; completionTokens: number | null }[] }).result;
    const messagesEntry = entries.find((e) => e.endpoint === '/v1/messages');
    expect(messagesEntry).toMatchObject({ stream: true });
    expect(messagesEntry?.ttftMs).not.toBeNull();
    expect(entries.find((e) => e.endpoint === '/v1/responses')?.completionTokens).toBeGreaterThan(0);
  });

  it('a stopped service is started on demand for /v1/messages and /v1/responses', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const state = async () => (JSON.parse((await aima('service', 'list', '--json')).stdout) as { name: string; state: string }[]).find((s) => s.name === 'story')?.state;
    expect((await aima('service', 'stop', 'story')).code).toBe(0);
    expect(await state()).toBe('stopped');
    const m = await anthropic.messages.create({ model: 'story', max_tokens: 4, messages: [{ role: 'user', content: 'hi' }] });
    expect(m.content.length).toBeGreaterThan(0);
    expect(await state()).toBe('running');
    expect((await aima('service', 'stop', 'story')).code).toBe(0);
    const r = await openai.responses.create({ model: 'story', input: 'hi', max_output_tokens: 4 });
    expect(r.output_text.length).toBeGreaterThan(0);
    expect(await state()).toBe('running');
  });

  it('with an API key, x-api-key is accepted as the key on every gateway route, as a Bearer key is', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const created = await aima('key', 'create', 'sdk', '--json');
    expect(created.code, created.stderr).toBe(0);
    const key = JSON.parse(created.stdout).key as string;
    const noKey = await post('/v1/messages', { model: 'stories', max_tokens: 4, messages: [{ role: 'user', content: 'hi' }] });
    expect(noKey.status).toBe(401);
    expect(await noKey.json()).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
    const keyed = new Anthropic({ baseURL: serve!.url, apiKey: key, maxRetries: 0 });
    const m = await keyed.messages.create({ model: 'stories', max_tokens: 4, messages: [{ role: 'user', content: 'hi' }] });
    expect(m.content.length).toBeGreaterThan(0);
    const bearer = new Anthropic({ baseURL: serve!.url, authToken: key, apiKey: null, maxRetries: 0 });
    expect((await bearer.messages.create({ model: 'stories', max_tokens: 4, messages: [{ role: 'user', content: 'hi' }] })).type).toBe('message');
    for (const path of ['/v1/models', '/metrics']) {
      expect((await fetch(`${serve!.url}${path}`, { headers: { 'x-api-key': key } })).status, path).toBe(200);
      expect((await fetch(`${serve!.url}${path}`, { headers: { 'x-api-key': 'aima-wrong' } })).status, path).toBe(401);
    }
    expect((await post('/v1/chat/completions', { model: 'stories', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 }, { 'x-api-key': key })).status).toBe(200);
    expect((await post('/v1/responses', { model: 'stories', input: 'hi', max_output_tokens: 2 }, { 'x-api-key': key })).status).toBe(200);
    expect((await post('/v1/responses', { model: 'stories', input: 'hi', max_output_tokens: 2 })).status).toBe(401);
  });
});
