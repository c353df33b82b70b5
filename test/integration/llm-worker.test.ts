/**
 * The embedded LLM worker as a real child process (out/workers/llm.mjs, built on demand) serving
 * the real stories260K GGUF: OpenAI-compatible completions, chat, embeddings and models, streaming,
 * slots (429, cancellation), errors in OpenAI's shape, and startup failures.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, requirePart, sharedModel } from '../support/system.js';
import { parseConfig } from '../../src/workers/llm/config.js';
import { createLlmServer } from '../../src/workers/llm/server.js';
import { runWorkerToExit, startWorker } from '../support/llm-worker.js';
import type { RunningWorker } from '../support/llm-worker.js';

const MODEL = sharedModel('stories260K/stories260K.gguf');
const haveModel = existsSync(MODEL);
const NAME = 'stories';
/**
 * Greedy continuation of "Once upon a time" with stories260K. shared/README.md quotes it without
 * the leading comma; the model's first generated token is "," (llama.cpp and node-llama-cpp agree).
 */
const CONTINUATION = ', there was a little girl named Lily. She loved to play outside in the park. One day,';

interface SseResult {
  events: unknown[];
  done: boolean;
}

/** Reads an SSE body to the end: the parsed `data:` events and whether `[DONE]` came. */
async function readSse(res: Response): Promise<SseResult> {
  const text = await res.text();
  const events: unknown[] = [];
  let done = false;
  for (const block of text.split('\n\n')) {
    const line = block.trim();
    if (!line) continue;
    expect(line.startsWith('data: ')).toBe(true);
    const data = line.slice('data: '.length);
    if (data === '[DONE]') done = true;
    else events.push(JSON.parse(data));
  }
  return { events, done };
}

/** Response bodies are checked field by field with expect, so they are typed loosely here. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
const json = (res: Response): Promise<Json> => res.json();

/** Resolves once the worker has logged `count` cancellations in total. */
async function waitForCancellations(worker: RunningWorker, count: number): Promise<string[]> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const lines = worker.stdout().split('\n').filter((l) => l.includes('cancelled by client'));
    if (lines.length >= count) return lines;
    if (Date.now() > deadline) throw new Error(`expected ${count} cancellation log lines:\n${worker.stdout()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
const cancellations = (worker: RunningWorker) => worker.stdout().split('\n').filter((l) => l.includes('cancelled by client')).length;

function expectOpenAIError(body: unknown, code: string): void {
  expect(body).toMatchObject({ error: { message: expect.any(String), type: expect.any(String), code } });
  expect(body).toHaveProperty('error.param');
}

describe('embedded LLM worker with stories260K', () => {
  let worker: RunningWorker | undefined;
  let url = '';
  const post = (route: string, body: unknown, init: RequestInit = {}) =>
    fetch(`${url}${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
      ...init,
    });

  beforeAll(async () => {
    if (!haveModel) return;
    worker = await startWorker(['--model', MODEL, '--model-name', NAME, '--threads', '1', '--parallel', '1', '--max-body-bytes', '65536']);
    url = worker.url;
  });
  afterAll(async () => {
    await worker?.stop();
  });

  it('logs listening before loading and reports ok health with the fallback chat template', async (ctx) => {
    requirePart(ctx, 'shared-models', haveModel);
    const out = worker!.stdout();
    const listening = out.indexOf(`listening on http://127.0.0.1:${worker!.port}`);
    expect(listening).toBeGreaterThanOrEqual(0);
    expect(out.indexOf('loading model: 100%')).toBeGreaterThan(listening);
    // The warm-up evaluation runs after the load and before ready (a GPU's first-use cost is paid there).
    expect(out).toMatch(/warm-up: \d+ ms \(a prompt batch and one decoded token on cpu, before ready\)/);
    expect(out.indexOf('warm-up:')).toBeGreaterThan(out.indexOf('loading model: 100%'));
    expect(out.indexOf('ready:')).toBeGreaterThan(out.indexOf('warm-up:'));
    const health = await json(await fetch(`${url}/health`));
    expect(health).toMatchObject({ status: 'ok', model: NAME, backend: 'cpu', threads: 1, parallel: 1, n_ctx: 512, warmup_ms: expect.any(Number) });
    expect(health.chat_template).toEqual({ source: 'fallback', wrapper: 'General' });
  });

  it('continues "Once upon a time" greedily with the documented text, usage and timings', async (ctx) => {
    requirePart(ctx, 'shared-models', haveModel);
    const res = await post('/v1/completions', { model: NAME, prompt: 'Once upon a time', temperature: 0, max_tokens: 30 });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.choices[0].text.startsWith(CONTINUATION)).toBe(true);
    expect(body.choices[0].finish_reason).toBe('length');
    expect(body.usage).toEqual({ prompt_tokens: 7, completion_tokens: 30, total_tokens: 37 });
    expect(body.timings.predicted_n).toBe(30);
    // The first request finds an empty slot: the warm-up's tokens were not left in its cache.
    expect(body.timings.cache_n).toBe(0);
    expect(body.timings.prompt_n + body.timings.cache_n).toBe(7);
    for (const key of ['prompt_ms', 'predicted_ms', 'predicted_per_second', 'ttft_ms']) expect(body.timings[key]).toBeGreaterThan(0);
  });

  it('streams exactly the text it returns without streaming', async (ctx) => {
    requirePart(ctx, 'shared-models', haveModel);
    const request = { prompt: 'Once upon a time', temperature: 0, max_tokens: 80 };
    const plain = await json(await post('/v1/completions', request));
    const res = await post('/v1/completions', { ...request, stream: true });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const { events, done } = await readSse(res);
    expect(done).toBe(true);
    const chunks = events as { choices: { text: string; finish_reason: string | null }[]; usage?: unknown; timings?: { predicted_n: number } }[];
    expect(chunks.length).toBeGreaterThan(10);
    const streamed = chunks.map((c) => c.choices[0].text).join('');
    expect(streamed).toBe(plain.choices[0].text);
    expect(streamed.startsWith(CONTINUATION)).toBe(true);
    const last = chunks.at(-1)!;
    expect(last.choices[0].finish_reason).toBe('length');
    expect(last.timings?.predicted_n).toBe(80);
    expect(last.usage).toEqual(plain.usage);
  });

  it('honours stop sequences, seeded sampling and the context limit', async (ctx) => {
    requirePart(ctx, 'shared-models', haveModel);
    const stopped = await json(await post('/v1/completions', { prompt: 'Once upon a time', temperature: 0, max_tokens: 30, stop: [' girl', 'zzz'] }));
    expect(stopped.choices[0].text).toBe(', there was a little');
    expect(stopped.choices[0].finish_reason).toBe('stop');
    // A stop spanning several tokens, streamed: the held-back text must not leak into the stream.
    const multi = { prompt: 'Once upon a time', temperature: 0, max_tokens: 30, stop: '. She loved' };
    const multiPlain = await json(await post('/v1/completions', multi));
    expect(multiPlain.choices[0].text).toBe(', there was a little girl named Lily');
    const { events } = await readSse(await post('/v1/completions', { ...multi, stream: true }));
    const streamed = (events as { choices: { text: string }[] }[]).map((e) => e.choices[0].text).join('');
    expect(streamed).toBe(', there was a little girl named Lily');

    const sampled = { prompt: 'Once upon a time', temperature: 1, top_p: 0.9, seed: 1234, max_tokens: 40 };
    const a = (await json(await post('/v1/completions', sampled))).choices[0].text;
    const b = (await json(await post('/v1/completions', sampled))).choices[0].text;
    const c = (await json(await post('/v1/completions', { ...sampled, seed: 99 }))).choices[0].text;
    expect(a).toBe(b);
    expect(c).not.toBe(a);

    const tooLong = await post('/v1/completions', { prompt: 'the cat sat on the mat. '.repeat(200) });
    expect(tooLong.status).toBe(400);
    const tooLongBody = await json(tooLong);
    expectOpenAIError(tooLongBody, 'context_length_exceeded');
    expect(tooLongBody.error.message).toContain('--ctx-size');
  });

  it('answers chat through the fallback template, streaming and not, with the same text', async (ctx) => {
    requirePart(ctx, 'shared-models', haveModel);
    const request = {
      model: NAME,
      messages: [
        { role: 'system', content: 'You tell short stories.' },
        { role: 'user', content: 'Tell me about a cat.' },
      ],
      temperature: 0,
      max_tokens: 40,
    };
    const res = await post('/v1/chat/completions', request);
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.object).toBe('chat.completion');
    expect(body.choices[0].message.role).toBe('assistant');
    expect(body.choices[0].message.content.trim().length).toBeGreaterThan(0);
    expect(body.usage.prompt_tokens).toBeGreaterThan(10);
    const { events, done } = await readSse(await post('/v1/chat/completions', { ...request, stream: true }));
    expect(done).toBe(true);
    const deltas = (events as { choices: { delta: { content?: string } }[] }[]).map((e) => e.choices[0].delta.content ?? '').join('');
    expect(deltas).toBe(body.choices[0].message.content);
  });

  it('chat honours max_tokens (finish "length", completion_tokens ≤ max_tokens) and stop sequences (content cut before the stop, finish "stop"), streaming and not', async (ctx) => {
    requirePart(ctx, 'shared-models', haveModel);
    // The voice chain talks to the LLM through chat, so these are checked on chat, not only on
    // /v1/completions. Greedy chat output of stories260K through the fallback template, for this
    // question: `"Hello," said the dog. "It's a shark!"\nThey ran away and saw a big tree. ...`
    const base = { model: NAME, messages: [{ role: 'user', content: 'Tell me a story about a dog.' }], temperature: 0 };
    const full = await json(await post('/v1/chat/completions', { ...base, max_tokens: 40 }));
    const fullText: string = full.choices[0].message.content;
    expect(fullText.startsWith('"Hello," said the dog. "It\'s a shark!"\nThey ran away')).toBe(true);

    const short = await json(await post('/v1/chat/completions', { ...base, max_tokens: 5 }));
    expect(short.choices[0].finish_reason, 'finish_reason with max_tokens 5').toBe('length');
    expect(short.usage.completion_tokens, 'completion_tokens with max_tokens 5').toBeLessThanOrEqual(5);
    expect(short.usage.completion_tokens).toBeGreaterThan(0);
    expect(fullText.startsWith(short.choices[0].message.content)).toBe(true);
    expect(short.choices[0].message.content.length).toBeLessThan(fullText.length);
    const shortStream = await readSse(await post('/v1/chat/completions', { ...base, max_tokens: 5, stream: true }));
    const shortChunks = shortStream.events as { choices: { delta: { content?: string }; finish_reason: string | null }[]; usage?: { completion_tokens: number } }[];
    expect(shortChunks.at(-1)!.choices[0].finish_reason, 'streamed finish_reason with max_tokens 5').toBe('length');
    expect(shortChunks.at(-1)!.usage!.completion_tokens, 'streamed completion_tokens with max_tokens 5').toBeLessThanOrEqual(5);
    expect(shortChunks.map((c) => c.choices[0].delta.content ?? '').join('')).toBe(short.choices[0].message.content);

    const stopped = await json(await post('/v1/chat/completions', { ...base, max_tokens: 40, stop: [' shark', 'zzz'] }));
    expect(stopped.choices[0].message.content, 'content with stop " shark"').toBe('"Hello," said the dog. "It\'s a');
    expect(stopped.choices[0].finish_reason, 'finish_reason with stop " shark"').toBe('stop');
    // A stop spanning several tokens, streamed: nothing of it (or after it) reaches the client.
    const { events, done } = await readSse(await post('/v1/chat/completions', { ...base, max_tokens: 40, stop: ' ran away', stream: true }));
    expect(done).toBe(true);
    const chunks = events as { choices: { delta: { content?: string }; finish_reason: string | null }[] }[];
    expect(chunks.map((c) => c.choices[0].delta.content ?? '').join(''), 'streamed content with stop " ran away"').toBe('"Hello," said the dog. "It\'s a shark!"\nThey');
    expect(chunks.at(-1)!.choices[0].finish_reason, 'streamed finish_reason with stop " ran away"').toBe('stop');
  });

  it('returns embeddings as floats for several inputs', async (ctx) => {
    requirePart(ctx, 'shared-models', haveModel);
    const res = await post('/v1/embeddings', { model: NAME, input: ['the cat sat', 'a big red ball'], encoding_format: 'float' });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.data).toHaveLength(2);
    const [a, b] = body.data.map((d: { embedding: number[] }) => d.embedding);
    expect(a).toHaveLength(64);
    expect(a.every(Number.isFinite)).toBe(true);
    expect(a).not.toEqual(b);
    expect(body.usage.prompt_tokens).toBeGreaterThan(2);
  });

  it('refuses a second concurrent request with 429 and Retry-After when --parallel is 1', async (ctx) => {
    requirePart(ctx, 'shared-models', haveModel);
    const controller = new AbortController();
    const long = await post('/v1/completions', { prompt: 'Once upon a time', temperature: 0, max_tokens: 500, stream: true }, { signal: controller.signal });
    const reader = long.body!.getReader();
    await reader.read(); // generation is running: the slot is taken
    const second = await post('/v1/completions', { prompt: 'Once upon a time', max_tokens: 5 });
    expect(second.status).toBe(429);
    expect(second.headers.get('retry-after')).toBe('1');
    const body = await json(second);
    expectOpenAIError(body, 'slots_busy');
    expect(body.error.type).toBe('rate_limit_error');
    const before = cancellations(worker!);
    controller.abort();
    await reader.cancel().catch(() => undefined);
    await waitForCancellations(worker!, before + 1);
  });

  it('frees the slot at once when a streaming client disconnects', async (ctx) => {
    requirePart(ctx, 'shared-models', haveModel);
    const before = cancellations(worker!);
    const controller = new AbortController();
    // ~500 tokens: the whole run would take several hundred ms; it is cut after the first chunks.
    const long = await post('/v1/completions', { prompt: 'Once upon a time', temperature: 0, max_tokens: 500, stream: true }, { signal: controller.signal });
    const reader = long.body!.getReader();
    await reader.read();
    await reader.read();
    controller.abort();
    const started = performance.now();
    const next = await post('/v1/completions', { prompt: 'Once upon a time', temperature: 0, max_tokens: 8 });
    const elapsed = performance.now() - started;
    expect(next.status).toBe(200);
    const body = await json(next);
    expect(body.choices[0].text.startsWith(', there was a little')).toBe(true);
    expect(body.timings.ttft_ms).toBeLessThan(250);
    expect(elapsed).toBeLessThan(1000);
    const lines = await waitForCancellations(worker!, before + 1);
    expect(lines).toHaveLength(before + 1);
    const generated = Number(/cancelled by client after (\d+) tokens/.exec(lines.at(-1)!)![1]);
    expect(generated).toBeLessThan(500);
  });

  it('answers bad requests with 4xx in OpenAI error shape and keeps serving', async (ctx) => {
    requirePart(ctx, 'shared-models', haveModel);
    const malformed = await post('/v1/chat/completions', '{"messages": [');
    expect(malformed.status).toBe(400);
    expectOpenAIError(await json(malformed), 'invalid_json');

    const wrongType = await post('/v1/completions', { prompt: 'hi', temperature: 'hot' });
    expect(wrongType.status).toBe(400);
    const wrongBody = await json(wrongType);
    expectOpenAIError(wrongBody, 'invalid_value');
    expect(wrongBody.error.param).toBe('temperature');

    const noMessages = await post('/v1/chat/completions', { model: NAME });
    expect(noMessages.status).toBe(400);
    expect((await json(noMessages)).error.param).toBe('messages');

    const notObject = await post('/v1/completions', '[1,2,3]');
    expect(notObject.status).toBe(400);
    expectOpenAIError(await json(notObject), 'invalid_body');

    const unknownModel = await post('/v1/chat/completions', { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
    expect(unknownModel.status).toBe(404);
    const unknownBody = await json(unknownModel);
    expectOpenAIError(unknownBody, 'model_not_found');
    expect(unknownBody.error.message).toContain(NAME);

    const oversized = await post('/v1/completions', { prompt: 'x'.repeat(70_000) });
    expect(oversized.status).toBe(413);
    expectOpenAIError(await json(oversized), 'body_too_large');

    const unknownRoute = await fetch(`${url}/v1/nothing`);
    expect(unknownRoute.status).toBe(404);
    expectOpenAIError(await json(unknownRoute), 'unknown_endpoint');

    const good = await post('/v1/completions', { prompt: 'Once upon a time', temperature: 0, max_tokens: 10 });
    expect(good.status).toBe(200);
    expect((await json(good)).choices[0].text.startsWith(', there was a little girl')).toBe(true);
    expect(worker!.child.exitCode).toBeNull();
  });

  it('works with the official openai client unchanged', async (ctx) => {
    requirePart(ctx, 'shared-models', haveModel);
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'not-needed', maxRetries: 0 });

    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual([NAME]);

    const completion = await client.completions.create({ model: NAME, prompt: 'Once upon a time', temperature: 0, max_tokens: 30 });
    expect(completion.choices[0].text.startsWith(CONTINUATION)).toBe(true);
    expect(completion.usage?.completion_tokens).toBe(30);

    const messages = [{ role: 'user' as const, content: 'Tell me a story about a dog.' }];
    const chat = await client.chat.completions.create({ model: NAME, messages, temperature: 0, max_tokens: 30 });
    const chatText = chat.choices[0].message.content ?? '';
    expect(chatText.trim().length).toBeGreaterThan(0);

    const stream = await client.chat.completions.create({ model: NAME, messages, temperature: 0, max_tokens: 30, stream: true, stream_options: { include_usage: true } });
    let streamed = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      streamed += chunk.choices[0]?.delta?.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(streamed).toBe(chatText);
    expect(usage?.completion_tokens).toBe(chat.usage?.completion_tokens);

    // The client asks for base64 by default and decodes it.
    const embedding = await client.embeddings.create({ model: NAME, input: 'Lily went to the park.' });
    expect(embedding.data[0].embedding).toHaveLength(64);
    expect(embedding.data[0].embedding.every(Number.isFinite)).toBe(true);
    const floats = await client.embeddings.create({ model: NAME, input: 'Lily went to the park.', encoding_format: 'float' });
    expect(floats.data[0].embedding.map((v) => Math.fround(v))).toEqual(embedding.data[0].embedding);

    await expect(client.chat.completions.create({ model: 'gpt-4o', messages })).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
  });
});

describe('embedded LLM worker with --parallel 2 and a forced chat template', () => {
  let worker: RunningWorker | undefined;
  beforeAll(async () => {
    if (!haveModel) return;
    worker = await startWorker(['--model', MODEL, '--threads', '1', '--parallel', '2', '--chat-template', 'chatML']);
  });
  afterAll(async () => {
    await worker?.stop();
  });

  it('runs two generations at once on one context and refuses a third with 429', async (ctx) => {
    requirePart(ctx, 'shared-models', haveModel);
    const post = (body: unknown) => fetch(`${worker!.url}/v1/completions`, { method: 'POST', body: JSON.stringify(body) });
    const long = { prompt: 'Once upon a time', temperature: 0, max_tokens: 300, stream: true };
    const controllers = [new AbortController(), new AbortController()];
    const streams = await Promise.all(controllers.map((c) => fetch(`${worker!.url}/v1/completions`, { method: 'POST', body: JSON.stringify(long), signal: c.signal })));
    expect(streams.map((r) => r.status)).toEqual([200, 200]);
    const readers = streams.map((r) => r.body!.getReader());
    await Promise.all(readers.map((r) => r.read()));
    const third = await post({ prompt: 'Once upon a time', max_tokens: 5 });
    expect(third.status).toBe(429);
    expect((await json(third)).error.message).toContain('2 generation slot(s)');
    controllers.forEach((c) => c.abort());
    await Promise.all(readers.map((r) => r.cancel().catch(() => undefined)));

    // Two greedy requests side by side both produce the documented continuation.
    const both = await Promise.all([0, 1].map(() => post({ prompt: 'Once upon a time', temperature: 0, max_tokens: 30 }).then(json)));
    for (const body of both) expect(body.choices[0].text.startsWith(CONTINUATION)).toBe(true);
    const health = await json(await fetch(`${worker!.url}/health`));
    expect(health).toMatchObject({ parallel: 2, slots_idle: 2, slots_processing: 0 });
  });

  it('uses the chat template named by --chat-template', async (ctx) => {
    requirePart(ctx, 'shared-models', haveModel);
    const health = await json(await fetch(`${worker!.url}/health`));
    expect(health.chat_template).toEqual({ source: 'flag', wrapper: 'ChatML' });
    const chat = await json(
      await fetch(`${worker!.url}/v1/chat/completions`, {
        method: 'POST',
        body: JSON.stringify({ messages: [{ role: 'user', content: 'Tell me a story.' }], temperature: 0, max_tokens: 20 }),
      }),
    );
    // ChatML adds <|im_start|>/<|im_end|> framing: more prompt tokens than the text alone.
    expect(chat.usage.prompt_tokens).toBeGreaterThan(10);
    expect(chat.choices[0].message.content.length).toBeGreaterThan(0);
  });
});

describe('embedded LLM worker startup failures', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'aima-llm-worker-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('exits non-zero naming the path and the fix when the model file is missing', async () => {
    const missing = path.join(dir, 'nope.gguf');
    const result = await runWorkerToExit(['--model', missing]);
    expect(result.code).toBe(1);
    const last = result.stderr.trim().split('\n').at(-1)!;
    expect(last).toContain('model file not found');
    expect(last).toContain(missing);
    expect(last).toContain('Fix:');
    expect(result.stdout).not.toContain('listening on');
  });

  it('exits non-zero naming the path and the fix when the file is not a GGUF', async () => {
    const junk = path.join(dir, 'junk.gguf');
    writeFileSync(junk, 'this is not a model, just some text\n'.repeat(100));
    const result = await runWorkerToExit(['--model', junk]);
    expect(result.code).toBe(1);
    const last = result.stderr.trim().split('\n').at(-1)!;
    expect(last).toContain('not a GGUF');
    expect(last).toContain(junk);
    expect(last).toContain('Fix:');
  });

  it('exits non-zero naming the architecture and the fix for an architecture llama.cpp cannot run', async () => {
    // A valid GGUF v3 header with one key, general.architecture = "frobnicator", and no tensors.
    const u32 = (n: number) => Buffer.from(new Uint32Array([n]).buffer);
    const u64 = (n: number) => Buffer.from(new BigUint64Array([BigInt(n)]).buffer);
    const str = (t: string) => Buffer.concat([u64(Buffer.byteLength(t)), Buffer.from(t)]);
    const file = path.join(dir, 'frobnicator.gguf');
    writeFileSync(file, Buffer.concat([Buffer.from('GGUF'), u32(3), u64(0), u64(1), str('general.architecture'), u32(8), str('frobnicator')]));
    const result = await runWorkerToExit(['--model', file, '--gpu', 'cpu']);
    expect(result.code).toBe(1);
    const last = result.stderr.trim().split('\n').at(-1)!;
    expect(last).toContain('architecture "frobnicator"');
    expect(last).toContain(file);
    expect(last).toContain('backend cpu');
    expect(last).toContain('Fix:');
  });

  it('exits non-zero with the fix when the context cannot fit in memory', async (ctx) => {
    requirePart(ctx, 'shared-models', haveModel);
    const result = await runWorkerToExit(['--model', MODEL, '--threads', '1', '--ctx-size', '50000000']);
    expect(result.code).toBe(1);
    const last = result.stderr.trim().split('\n').at(-1)!;
    expect(last).toContain('out of memory');
    expect(last).toContain(MODEL);
    expect(last).toContain('Fix: lower --ctx-size');
  });

  it('exits non-zero with the fix when --gpu cuda has no CUDA prebuilt', async (ctx) => {
    requirePart(ctx, 'shared-models', haveModel);
    if (existsSync(path.join(repoRoot, 'node_modules', '@node-llama-cpp', 'linux-x64-cuda'))) {
      ctx.skip('the CUDA prebuilt is installed here, so --gpu cuda may start');
    }
    const result = await runWorkerToExit(['--model', MODEL, '--gpu', 'cuda']);
    expect(result.code).toBe(1);
    const last = result.stderr.trim().split('\n').at(-1)!;
    expect(last).toContain('backend "cuda"');
    expect(last).toContain('Fix:');
  });

  it('exits non-zero listing the choices for an unknown --chat-template', async (ctx) => {
    requirePart(ctx, 'shared-models', haveModel);
    const result = await runWorkerToExit(['--model', MODEL, '--threads', '1', '--chat-template', 'nonsense']);
    expect(result.code).toBe(1);
    const last = result.stderr.trim().split('\n').at(-1)!;
    expect(last).toContain('unknown --chat-template "nonsense"');
    expect(last).toContain('chatML');
  });

  it('exits with status 2 and the usage on a bad flag', async () => {
    const result = await runWorkerToExit(['--model', path.join(dir, 'x.gguf'), '--gpu', 'banana']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--gpu must be auto, cpu, cuda, vulkan or metal');
    expect(result.stderr).toContain('usage:');
  });
});

describe('embedded LLM worker while the model loads', () => {
  it('reports loading with progress on /health and 503 model_loading on generation endpoints', async () => {
    const config = parseConfig(['--model', '/models/some.gguf', '--model-name', 'some']);
    const server = createLlmServer({ config, state: () => ({ phase: 'loading', progress: 0.42 }), log: () => undefined });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const health = await fetch(`${base}/health`);
      expect(health.status).toBe(503);
      expect(await json(health)).toEqual({ status: 'loading', progress: 0.42, model: 'some' });
      const chat = await fetch(`${base}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }) });
      expect(chat.status).toBe(503);
      expect(chat.headers.get('retry-after')).toBe('1');
      const body = await json(chat);
      expectOpenAIError(body, 'model_loading');
      expect(body.error.message).toContain('42%');
      const models = await json(await fetch(`${base}/v1/models`));
      expect(models.data[0]).toMatchObject({ id: 'some', object: 'model', meta: { status: 'loading' } });
    } finally {
      server.close();
    }
  });
});
