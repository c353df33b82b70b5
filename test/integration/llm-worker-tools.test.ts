/**
 * Tool calls and structured output on the embedded LLM worker (a real child process serving the
 * real stories260K GGUF), driven by the official `openai` client: forced calls (named and
 * "required"), a tool round trip, json_schema (also through zodResponseFormat and .parse()),
 * json_object, finish_reason "length", and the 400s and output errors that name what is wrong.
 *
 * stories260K rambles, so the schemas are bounded (enums, booleans, small objects). The worker runs
 * with a 2048-token context: the chat wrapper's documentation of the functions alone is over 512
 * tokens in this model's 512-token vocabulary.
 */
import { existsSync } from 'node:fs';
import OpenAI from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import type { ChatCompletionCreateParamsNonStreaming, ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { requirePart, sharedModel } from '../support/system.js';
import { startWorker } from '../support/llm-worker.js';
import type { RunningWorker } from '../support/llm-worker.js';

const MODEL = sharedModel('stories260K/stories260K.gguf');
const haveModel = existsSync(MODEL);

const Weather = z.strictObject({ city: z.enum(['Paris', 'Rome', 'Oslo']), unit: z.enum(['c', 'f']), rain: z.boolean() });
const weatherTool: ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string', enum: ['Paris', 'Rome', 'Oslo'] }, unit: { enum: ['c', 'f'] }, rain: { type: 'boolean' } }, required: ['city', 'unit', 'rain'], additionalProperties: false },
  },
};
const Time = z.strictObject({ zone: z.enum(['utc', 'local']) });
const timeTool: ChatCompletionTool = {
  type: 'function',
  function: { name: 'get_time', parameters: { type: 'object', properties: { zone: { enum: ['utc', 'local'] } }, required: ['zone'] } },
};
const Mood = z.object({ mood: z.enum(['happy', 'sad', 'sleepy']), hungry: z.boolean(), stars: z.number().int() });

describe('embedded LLM worker: tools and structured output through the openai client', () => {
  let worker: RunningWorker | undefined;
  let client: OpenAI;
  const user = (content: string): ChatCompletionMessageParam[] => [{ role: 'user', content }];

  beforeAll(async () => {
    if (!haveModel) return;
    worker = await startWorker(['--model', MODEL, '--model-name', 'stories', '--threads', '1', '--ctx-size', '2048']);
    // No retries: an output error (500) is deterministic under a seed and must surface once.
    client = new OpenAI({ baseURL: `${worker.url}/v1`, apiKey: 'none', maxRetries: 0 });
  }, 60_000);
  afterAll(async () => {
    await worker?.stop();
  });

  /** Non-streamed and streamed answers of the same seeded request, the stream reassembled. */
  async function bothWays(params: ChatCompletionCreateParamsNonStreaming) {
    const plain = await client.chat.completions.create(params);
    const stream = await client.chat.completions.create({ ...params, stream: true });
    let content = '';
    let finish: string | null = null;
    const calls: { id?: string; name?: string; arguments: string }[] = [];
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (!choice) continue;
      content += choice.delta.content ?? '';
      for (const d of choice.delta.tool_calls ?? []) {
        calls[d.index] ??= { arguments: '' };
        if (d.id) calls[d.index].id = d.id;
        if (d.function?.name) calls[d.index].name = d.function.name;
        calls[d.index].arguments += d.function?.arguments ?? '';
      }
      finish = choice.finish_reason ?? finish;
    }
    return { plain, streamed: { content, finish, calls } };
  }

  it('a named tool_choice returns that call with arguments that follow its schema, the same streamed and not under a seed', async (ctx) => {
    requirePart(ctx, 'shared-models', haveModel);
    const { plain, streamed } = await bothWays({
      model: 'stories',
      messages: user('What is the weather in Paris?'),
      tools: [weatherTool, timeTool],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      max_tokens: 80,
      seed: 7,
    });
    const choice = plain.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.content).toBeNull();
    const call = choice.message.tool_calls![0]!;
    expect(choice.message.tool_calls).toHaveLength(1);
    expect(call.type).toBe('function');
    expect(call.id).toMatch(/^call_/);
    if (call.type !== 'function') throw new Error('not a function call');
    expect(call.function.name).toBe('get_weather');
    expect(Weather.safeParse(JSON.parse(call.function.arguments)).success).toBe(true);

    expect(streamed.finish).toBe('tool_calls');
    expect(streamed.content).toBe('');
    expect(streamed.calls).toHaveLength(1);
    expect(streamed.calls[0]).toMatchObject({ name: 'get_weather', arguments: call.function.arguments });
    expect(streamed.calls[0]!.id).toMatch(/^call_/);
  });

  it('tool_choice "required" calls one of the tools with arguments valid for that tool', async (ctx) => {
    requirePart(ctx, 'shared-models', haveModel);
    for (const seed of [1, 2, 3]) {
      const r = await client.chat.completions.create({ model: 'stories', messages: user('Weather or time?'), tools: [weatherTool, timeTool], tool_choice: 'required', parallel_tool_calls: true, max_tokens: 80, seed });
      const choice = r.choices[0]!;
      expect(choice.finish_reason).toBe('tool_calls');
      expect(choice.message.tool_calls).toHaveLength(1);
      const call = choice.message.tool_calls![0]!;
      if (call.type !== 'function') throw new Error('not a function call');
      const schema = call.function.name === 'get_weather' ? Weather : Time;
      expect(['get_weather', 'get_time']).toContain(call.function.name);
      expect(schema.safeParse(JSON.parse(call.function.arguments)).success).toBe(true);
    }
    // Streamed, the wrapper around the name is not part of the arguments either.
    const { plain, streamed } = await bothWays({ model: 'stories', messages: user('Weather or time?'), tools: [weatherTool, timeTool], tool_choice: 'required', max_tokens: 80, seed: 1 });
    const call = plain.choices[0]!.message.tool_calls![0]!;
    if (call.type !== 'function') throw new Error('not a function call');
    expect(streamed.finish).toBe('tool_calls');
    expect(streamed.calls).toEqual([{ id: expect.stringMatching(/^call_/), name: call.function.name, arguments: call.function.arguments }]);
  });

  it('takes a tool result back (role "tool") and answers after it', async (ctx) => {
    requirePart(ctx, 'shared-models', haveModel);
    const messages = user('What is the weather in Rome?');
    const first = await client.chat.completions.create({ model: 'stories', messages, tools: [weatherTool], tool_choice: 'required', max_tokens: 80, seed: 3 });
    const assistant = first.choices[0]!.message;
    const call = assistant.tool_calls![0]!;
    const history: ChatCompletionMessageParam[] = [...messages, assistant, { role: 'tool', tool_call_id: call.id, content: JSON.stringify({ temperature: 21, sky: 'clear' }) }];
    const withResult = await client.chat.completions.create({ model: 'stories', messages: history, tools: [weatherTool], tool_choice: 'none', max_tokens: 12, seed: 3 });
    const answer = withResult.choices[0]!;
    expect(answer.message.tool_calls ?? []).toEqual([]);
    expect(answer.message.content!.length).toBeGreaterThan(0);
    expect(answer.finish_reason).toMatch(/^(stop|length)$/);
    // The result is part of the prompt: the same conversation without it is shorter.
    const without = await client.chat.completions.create({ model: 'stories', messages: [...messages, { role: 'assistant', content: 'ok' }], tools: [weatherTool], tool_choice: 'none', max_tokens: 1, seed: 3 });
    expect(withResult.usage!.prompt_tokens).toBeGreaterThan(without.usage!.prompt_tokens);
  });

  it('response_format json_schema: the answer parses and validates, the same streamed and not', async (ctx) => {
    requirePart(ctx, 'shared-models', haveModel);
    const { plain, streamed } = await bothWays({
      model: 'stories',
      messages: user('How do you feel?'),
      response_format: {
        type: 'json_schema',
        json_schema: { name: 'mood', strict: true, schema: { type: 'object', properties: { mood: { type: 'string', enum: ['happy', 'sad', 'sleepy'] }, hungry: { type: 'boolean' } }, required: ['mood', 'hungry'], additionalProperties: false } },
      },
      max_tokens: 60,
      seed: 5,
    });
    const choice = plain.choices[0]!;
    expect(choice.finish_reason).toBe('stop');
    const value = JSON.parse(choice.message.content!);
    expect(Mood.pick({ mood: true, hungry: true }).strict().safeParse(value).success).toBe(true);
    expect(streamed).toEqual({ content: choice.message.content, finish: 'stop', calls: [] });
  });

  it('zodResponseFormat + chat.completions.parse() gives the parsed object', async (ctx) => {
    requirePart(ctx, 'shared-models', haveModel);
    const r = await client.chat.completions.parse({ model: 'stories', messages: user('How do you feel?'), response_format: zodResponseFormat(Mood, 'mood'), max_tokens: 80, seed: 11 });
    const choice = r.choices[0]!;
    expect(choice.finish_reason).toBe('stop');
    expect(choice.message.parsed).not.toBeNull();
    expect(Mood.safeParse(choice.message.parsed).success).toBe(true);
  });

  it('json_object constrains the answer to a JSON object; an answer cut by max_tokens is "length", not an error', async (ctx) => {
    requirePart(ctx, 'shared-models', haveModel);
    const free = await client.chat.completions.create({ model: 'stories', messages: user('Say something.'), max_tokens: 8, seed: 1 });
    expect(free.choices[0]!.message.content!.trimStart().startsWith('{')).toBe(false);
    const r = await client.chat.completions.create({ model: 'stories', messages: user('Say something.'), response_format: { type: 'json_object' }, max_tokens: 8, seed: 1 });
    expect(r.choices[0]!.finish_reason).toBe('length');
    expect(r.choices[0]!.message.content!.startsWith('{')).toBe(true);
    const schema = await client.chat.completions.create({ model: 'stories', messages: user('How do you feel?'), response_format: zodResponseFormat(Mood, 'mood'), max_tokens: 3, seed: 11 });
    expect(schema.choices[0]!.finish_reason).toBe('length');
    expect(() => JSON.parse(schema.choices[0]!.message.content!)).toThrow();
  });

  it('an output that breaks a constraint the grammar cannot enforce is an error naming the keyword, streamed or not', async (ctx) => {
    requirePart(ctx, 'shared-models', haveModel);
    const params = {
      model: 'stories',
      messages: user('Give a code.'),
      response_format: { type: 'json_schema' as const, json_schema: { name: 'code', schema: { type: 'object', properties: { code: { type: 'string', maxLength: 8, pattern: '^[0-9]{8}$' } }, required: ['code'] } } },
      max_tokens: 60,
      seed: 2,
    };
    const err = await client.chat.completions.create(params).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(500);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('output_schema_violation');
    expect((err as Error).message).toMatch(/\/code: .* does not match the pattern .*keyword "pattern"/);

    const stream = await client.chat.completions.create({ ...params, stream: true });
    const streamErr = await (async () => {
      for await (const _ of stream) void _;
    })().catch((e: unknown) => e);
    expect(streamErr).toBeInstanceOf(OpenAI.APIError);
    expect((streamErr as Error).message).toMatch(/keyword "pattern"/);
  });

  const badRequests: [string, Record<string, unknown>, string, RegExp][] = [
    ['a tool with an invalid schema', { tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: { a: { type: 'text' } } } } }] }, 'tools[0].function.parameters', /type "text"/],
    ['tool_choice naming a missing function', { tools: [weatherTool], tool_choice: { type: 'function', function: { name: 'get_news' } } }, 'tool_choice.function.name', /get_news/],
    ['an unsupported schema keyword', { response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object', propertyNames: { pattern: '^a' } } } } }, 'response_format.json_schema.schema', /"propertyNames" is not supported/],
    ['logprobs', { logprobs: true, top_logprobs: 2 }, 'logprobs', /log probabilities/],
    ['an unknown field', { frequency_penality: 1 }, 'frequency_penality', /Unknown field "frequency_penality"/],
  ];
  it.for(badRequests)('400 for %s, naming it', async ([, extra, param, message], ctx) => {
    requirePart(ctx, 'shared-models', haveModel);
    const err = await client.chat.completions.create({ model: 'stories', messages: user('hi'), max_tokens: 4, ...extra } as ChatCompletionCreateParamsNonStreaming).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe(param);
    expect((err as Error).message).toMatch(message);
  });
});
