/**
 * The official `openai` npm client against the gateway on `aima serve`, with the embedded
 * workers behind it as real services: chat (streaming and not), completions, embeddings; start
 * on demand of a stopped service.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import OpenAI from 'openai';
import { runAima, startServe, tempHome, type ServeHandle } from '../support/cli.js';
import { requirePart, sharedModel } from '../support/system.js';

const GGUF = sharedModel('stories260K/stories260K.gguf');
let serve: ServeHandle | undefined;
let home: string;
let client: OpenAI;
const aima = (...args: string[]) => runAima(args, { AIMA_HOME: home });

beforeAll(async () => {
  if (!existsSync(GGUF)) return;
  home = tempHome();
  serve = await startServe({ AIMA_HOME: home });
  client = new OpenAI({ baseURL: `${serve.url}/v1`, apiKey: 'local' });
  await aima('model', 'import', GGUF, '--name', 'stories');
  const created = await aima('service', 'create', 'story', '--model', 'stories', '--engine', 'aima-llm', '--concurrency', '2');
  if (created.code !== 0) throw new Error(created.stderr);
  const started = await aima('service', 'start', 'story', '--wait', '--timeout', '120');
  if (started.code !== 0) throw new Error(started.stderr);
}, 180_000);
afterAll(async () => {
  await serve?.stop();
});

describe('openai client through the gateway, embedded LLM worker behind it', () => {
  it('lists the model with its state and alias', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const models = await client.models.list();
    const m = models.data.find((x) => x.id === 'stories') as unknown as { aima: { state: string; aliases: string[] } };
    expect(m.aima).toMatchObject({ state: 'running', aliases: ['story'] });
  });

  it('completes "Once upon a time" greedily with the documented continuation', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const r = await client.completions.create({ model: 'stories', prompt: 'Once upon a time', max_tokens: 40, temperature: 0 });
    expect(r.choices[0]!.text).toMatch(/^,? there was a little girl named Lily\. She loved to play outside in the park/);
  });

  it('chats, streaming and not, with the same text', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const params = { model: 'stories', messages: [{ role: 'user' as const, content: 'Tell me a story.' }], max_tokens: 30, temperature: 0, seed: 1 };
    const plain = await client.chat.completions.create(params);
    const text = plain.choices[0]!.message.content ?? '';
    expect(text.length).toBeGreaterThan(0);
    const stream = await client.chat.completions.create({ ...params, stream: true });
    let streamed = '';
    for await (const chunk of stream) streamed += chunk.choices[0]?.delta?.content ?? '';
    expect(streamed).toBe(text);
  });

  it('passes structured output and refusals through: a json_schema answer that validates, a 400 naming an unknown field', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const schema = { type: 'object', properties: { mood: { type: 'string', enum: ['happy', 'sad'] }, ok: { type: 'boolean' } }, required: ['mood', 'ok'], additionalProperties: false };
    const r = await client.chat.completions.create({
      model: 'stories',
      messages: [{ role: 'user', content: 'How are you?' }],
      response_format: { type: 'json_schema', json_schema: { name: 'mood', strict: true, schema } },
      max_tokens: 40,
      seed: 5,
    });
    expect(r.choices[0]!.finish_reason).toBe('stop');
    const value = JSON.parse(r.choices[0]!.message.content!) as { mood: string; ok: boolean };
    expect(['happy', 'sad']).toContain(value.mood);
    expect(typeof value.ok).toBe('boolean');
    const err = await client.chat.completions.create({ model: 'stories', messages: [{ role: 'user', content: 'x' }], max_tokens: 2, temprature: 0 } as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('temprature');
  });

  it('embeds', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const e = await client.embeddings.create({ model: 'stories', input: ['a cat', 'a dog'] });
    expect(e.data).toHaveLength(2);
    expect(e.data[0]!.embedding.length).toBe(64);
  });

  it('starts a stopped service on demand and answers', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const stopped = await aima('service', 'stop', 'story');
    expect(stopped.code).toBe(0);
    const t0 = Date.now();
    const r = await client.completions.create({ model: 'stories', prompt: 'Once upon a time', max_tokens: 5, temperature: 0 });
    expect(r.choices[0]!.text.length).toBeGreaterThan(0);
    const list = JSON.parse((await aima('service', 'list', '--json')).stdout) as { name: string; state: string }[];
    expect(list.find((s) => s.name === 'story')?.state).toBe('running');
    expect(Date.now() - t0).toBeLessThan(60_000);
  });

  it('with start on demand off, a stopped model is 503 naming the command', async (ctx) => {
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    await aima('settings', 'set', 'startOnDemand', 'false');
    await aima('service', 'stop', 'story');
    await new Promise((r) => setTimeout(r, 1100)); // settings are re-read once a second
    const err = await client.completions.create({ model: 'story', prompt: 'x', max_tokens: 2 }, { maxRetries: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
    expect((err as InstanceType<typeof OpenAI.APIError>).message).toContain('aima service start story');
  });
});
