/**
 * The Responses API and the Anthropic Messages API on `aima serve`'s gateway, driven by the
 * official `openai` and `@anthropic-ai/sdk` clients, with the embedded LLM worker (stories260K)
 * behind it as a real service: the same greedy text as chat completions, streaming and not; bad
 * input refused in each API's own error shape, naming the field; metrics and the request log per
 * endpoint; `x-api-key` accepted wherever a Bearer key is.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
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
  const created = await aima('service', 'create', 'story', '--model', 'stories', '--engine', 'aima-llm', '--concurrency', '2');
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
