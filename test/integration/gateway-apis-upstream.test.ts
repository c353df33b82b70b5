/**
 * The translated APIs' mechanics against a scripted chat-completions upstream (a real HTTP server
 * that answers each request as the test says, in OpenAI's exact wire shapes): SSE split at any
 * byte, upstream errors before and during a stream, an upstream that streams when not asked (and
 * the reverse), a client that leaves mid-stream, the queue, and tool calls read by the official
 * SDKs' stream accumulators. The model's own tool calls are tested against the real worker.
 */
import { afterEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { Gateway, type GatewayPolicy } from '../../src/core/gateway/gateway.js';
import type { ModelDirectory, RoutableModel } from '../../src/core/gateway/directory.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

type Script = (body: Record<string, unknown>, res: http.ServerResponse) => void | Promise<void>;

interface Upstream {
  url: string;
  bodies: Record<string, unknown>[];
  closedEarly: number;
  script: Script;
}

async function upstream(script: Script): Promise<Upstream> {
  const state: Upstream = { url: '', bodies: [], closedEarly: 0, script };
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString() || '{}') as Record<string, unknown>;
    state.bodies.push(body);
    res.on('close', () => {
      if (!res.writableFinished) state.closedEarly++;
    });
    await state.script(body, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => (server.closeAllConnections(), server.close(() => r()))));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}

const policy: GatewayPolicy = { startOnDemand: false, maxQueue: 10, queueTimeoutMs: 5000, maxJsonBytes: 1 << 20, maxUploadBytes: 1 << 20, uploadBudgetBytes: 1 << 24, corsOrigins: [] };

async function gateway(baseUrl: string, over: Partial<GatewayPolicy> = {}, model: Partial<RoutableModel> = {}) {
  const entry: RoutableModel = { id: 'm', aliases: [], kind: 'llm', owner: { type: 'service', service: 's' }, state: 'running', baseUrl, upstreamModel: 'upstream-m', concurrency: 1, ...model };
  const directory: ModelDirectory = { list: () => [entry], resolve: (m) => (m === 'm' ? entry : null) };
  const gw = new Gateway({ directory, policy: () => ({ ...policy, ...over }), authorize: () => true });
  const server = http.createServer((req, res) => {
    const [path, query = ''] = req.url!.split('?');
    if (!gw.route(req, res, path!, query)) res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => (server.closeAllConnections(), server.close(() => r()))));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const post = (path: string, body: unknown, signal?: AbortSignal) => fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal });
  return { gw, url, post };
}

const chunk = (delta: Record<string, unknown>, finish: string | null = null) => `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 0, model: 'upstream-m', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
const usageChunk = (p: number, c: number) => `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 0, model: 'upstream-m', choices: [], usage: { prompt_tokens: p, completion_tokens: c, total_tokens: p + c } })}\n\n`;
const completion = (message: Record<string, unknown>, finish: string) =>
  JSON.stringify({ id: 'c', object: 'chat.completion', created: 0, model: 'upstream-m', choices: [{ index: 0, message: { role: 'assistant', ...message }, finish_reason: finish }], usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 } });
const sse = (res: http.ServerResponse) => res.writeHead(200, { 'content-type': 'text/event-stream' });

/** Reads an SSE body into its events' data objects. */
async function events(r: Response): Promise<{ type: string; [k: string]: unknown }[]> {
  const text = await r.text();
  return text
    .split('\n\n')
    .filter(Boolean)
    .map((block) => JSON.parse(block.split('\n').find((l) => l.startsWith('data: '))!.slice(6)));
}

const toolCallStream: Script = async (_body, res) => {
  sse(res);
  res.write(chunk({ role: 'assistant', content: null }));
  res.write(chunk({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '' } }] }));
  for (const part of ['{"ci', 'ty": "Os', 'lo", "unit": "c"}']) res.write(chunk({ tool_calls: [{ index: 0, function: { arguments: part } }] }));
  res.write(chunk({}, 'tool_calls'));
  res.write(usageChunk(12, 9));
  res.end('data: [DONE]\n\n');
};
const weatherTool = { name: 'get_weather', description: 'Weather in a city.', schema: { type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['c', 'f'] } }, required: ['city', 'unit'] } };

describe('translated APIs over a scripted chat-completions upstream', () => {
  it('sends the upstream a chat-completions body with its own model name, and reassembles SSE split at every byte (UTF-8 too)', async () => {
    const up = await upstream(async (_b, res) => {
      sse(res);
      const all = chunk({ role: 'assistant', content: '' }) + chunk({ content: 'Grüße, ' }) + chunk({ content: 'café ☕' }) + chunk({}, 'stop') + usageChunk(2, 4) + 'data: [DONE]\n\n';
      const bytes = Buffer.from(all);
      for (let i = 0; i < bytes.length; i++) {
        res.write(bytes.subarray(i, i + 1));
        if (i % 50 === 0) await new Promise((r) => setImmediate(r));
      }
      res.end();
    });
    const { url } = await gateway(up.url);
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'x', maxRetries: 0 });
    const stream = client.responses.stream({ model: 'm', input: 'hi', instructions: 'be nice', max_output_tokens: 9 });
    const final = await stream.finalResponse();
    expect(final.output_text).toBe('Grüße, café ☕');
    expect(final.usage).toMatchObject({ input_tokens: 2, output_tokens: 4 });
    expect(up.bodies[0]).toEqual({ model: 'upstream-m', messages: [{ role: 'system', content: 'be nice' }, { role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true }, max_tokens: 9 });
  });

  it('Responses: a streamed tool call becomes a function_call item the SDK accumulates, arguments intact', async () => {
    const up = await upstream(toolCallStream);
    const { url } = await gateway(up.url);
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'x', maxRetries: 0 });
    const stream = client.responses.stream({ model: 'm', input: 'weather in Oslo?', tools: [{ type: 'function', name: weatherTool.name, description: weatherTool.description, parameters: weatherTool.schema, strict: true }], tool_choice: { type: 'function', name: 'get_weather' } });
    const argDeltas: string[] = [];
    stream.on('response.function_call_arguments.delta', (e) => argDeltas.push(e.delta));
    const final = await stream.finalResponse();
    expect(argDeltas).toEqual(['{"ci', 'ty": "Os', 'lo", "unit": "c"}']);
    expect(final.status).toBe('completed');
    expect(final.output).toHaveLength(1);
    expect(final.output[0]).toMatchObject({ id: expect.stringMatching(/^fc_/), type: 'function_call', status: 'completed', call_id: 'call_1', name: 'get_weather', arguments: '{"city": "Oslo", "unit": "c"}' });
    // The SDK parses the arguments of a strict function tool itself.
    expect((final.output[0] as { parsed_arguments?: unknown }).parsed_arguments).toEqual({ city: 'Oslo', unit: 'c' });
    expect(up.bodies[0]).toMatchObject({ tools: [{ type: 'function', function: { name: 'get_weather', parameters: weatherTool.schema, strict: true } }], tool_choice: { type: 'function', function: { name: 'get_weather' } } });
  });

  it('Anthropic: a streamed tool call becomes a tool_use block the SDK accumulates, input parsed; the same non-streamed', async () => {
    const up = await upstream(async (body, res) => {
      if (body.stream) return toolCallStream(body, res);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(completion({ content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city": "Oslo", "unit": "c"}' } }] }, 'tool_calls'));
    });
    const { url } = await gateway(up.url);
    const client = new Anthropic({ baseURL: url, apiKey: 'x', maxRetries: 0 });
    const params = { model: 'm', max_tokens: 50, messages: [{ role: 'user' as const, content: 'weather in Oslo?' }], tools: [{ name: weatherTool.name, description: weatherTool.description, input_schema: weatherTool.schema as Anthropic.Tool.InputSchema }], tool_choice: { type: 'any' as const } };
    const stream = client.messages.stream(params);
    const json: string[] = [];
    stream.on('inputJson', (partial) => json.push(partial));
    const streamed = await stream.finalMessage();
    const plain = await client.messages.create(params);
    for (const m of [streamed, plain]) {
      expect(m.stop_reason).toBe('tool_use');
      expect(m.content).toEqual([{ type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Oslo', unit: 'c' } }]);
    }
    expect(json.join('')).toBe('{"city": "Oslo", "unit": "c"}');
    expect(streamed.usage).toMatchObject({ input_tokens: 12, output_tokens: 9 });
    expect(up.bodies[0]).toMatchObject({ tool_choice: 'required', max_tokens: 50 });
    // The round trip: the tool's result goes back as a tool message after the call.
    await client.messages.create({ ...params, messages: [...params.messages, { role: 'assistant', content: plain.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_1', content: '12 °C' }] }] });
    expect((up.bodies.at(-1)!.messages as unknown[]).slice(-2)).toEqual([
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo","unit":"c"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '12 °C' },
    ]);
  });

  it('an upstream that answers JSON to a stream request still gives the client its events; one that streams to a plain request gives one answer', async () => {
    const up = await upstream(async (body, res) => {
      if (body.stream) {
        res.writeHead(200, { 'content-type': 'application/json' });
        return void res.end(completion({ content: 'whole' }, 'length'));
      }
      sse(res);
      res.write(chunk({ content: 'in ' }));
      res.write(chunk({ content: 'parts' }, 'stop'));
      res.end('data: [DONE]\n\n');
    });
    const { post } = await gateway(up.url);
    const streamed = await events(await post('/v1/messages', { model: 'm', max_tokens: 5, stream: true, messages: [{ role: 'user', content: 'x' }] }));
    expect(streamed.map((e) => e.type)).toEqual(['message_start', 'ping', 'content_block_start', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
    expect(streamed[5]).toMatchObject({ delta: { stop_reason: 'max_tokens' }, usage: { input_tokens: 5, output_tokens: 3 } });
    const plain = (await (await post('/v1/responses', { model: 'm', input: 'x' })).json()) as { status: string; output: { content: { text: string }[] }[] };
    expect(plain.status).toBe('completed');
    expect(plain.output[0]!.content[0]!.text).toBe('in parts');
  });

  it('an upstream error before the answer keeps its status and comes back in each API\'s shape', async () => {
    const up = await upstream((_b, res) => {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'tool_choice names a missing function', type: 'invalid_request_error', param: 'tool_choice', code: 'unknown_function' } }));
    });
    const { post } = await gateway(up.url);
    const a = await post('/v1/messages', { model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] });
    expect(a.status).toBe(400);
    expect(await a.json()).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: 'tool_choice names a missing function' } });
    const r = await post('/v1/responses', { model: 'm', input: 'x', stream: true });
    expect(r.status).toBe(400);
    expect(await r.json()).toEqual({ error: { message: 'tool_choice names a missing function', type: 'invalid_request_error', param: 'tool_choice', code: 'unknown_function' } });
  });

  it('an error mid-stream, or a stream cut off, ends with response.failed / an Anthropic error event', async () => {
    let mode: 'error' | 'cut' = 'error';
    const up = await upstream(async (_b, res) => {
      sse(res);
      res.write(chunk({ content: 'half' }));
      if (mode === 'error') return void res.end(`data: ${JSON.stringify({ error: { message: 'out of memory', type: 'server_error', code: 500 } })}\n\n`);
      await new Promise((r) => setTimeout(r, 20));
      res.destroy();
    });
    const { post } = await gateway(up.url);
    const r1 = await events(await post('/v1/responses', { model: 'm', input: 'x', stream: true }));
    expect(r1.at(-1)).toMatchObject({ type: 'response.failed', response: { status: 'failed', error: { message: expect.stringContaining('out of memory') } } });
    const a1 = await events(await post('/v1/messages', { model: 'm', max_tokens: 5, stream: true, messages: [{ role: 'user', content: 'x' }] }));
    expect(a1.at(-1)).toMatchObject({ type: 'error', error: { type: 'api_error', message: expect.stringContaining('out of memory') } });
    mode = 'cut';
    const r2 = await events(await post('/v1/responses', { model: 'm', input: 'x', stream: true }));
    expect(r2.at(-1)).toMatchObject({ type: 'response.failed' });
    const plain = await post('/v1/messages', { model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] });
    expect(plain.status).toBe(502);
    expect(await plain.json()).toMatchObject({ type: 'error', error: { type: 'api_error' } });
  });

  it('an unreachable upstream is a 502 in the API\'s shape', async () => {
    const { post } = await gateway('http://127.0.0.1:1');
    const a = await post('/v1/messages', { model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] });
    expect(a.status).toBe(502);
    expect(await a.json()).toMatchObject({ type: 'error', error: { type: 'api_error', message: expect.stringContaining('did not answer') } });
  });

  it('a client that leaves mid-stream closes the upstream request', async () => {
    const up = await upstream(async (_b, res) => {
      sse(res);
      for (let i = 0; i < 200 && !res.destroyed; i++) {
        res.write(chunk({ content: `t${i} ` }));
        await new Promise((r) => setTimeout(r, 10));
      }
      res.end('data: [DONE]\n\n');
    });
    const { post } = await gateway(up.url);
    for (const [path, body] of [
      ['/v1/responses', { model: 'm', input: 'x', stream: true }],
      ['/v1/messages', { model: 'm', max_tokens: 500, stream: true, messages: [{ role: 'user', content: 'x' }] }],
    ] as const) {
      const before = up.closedEarly;
      const abort = new AbortController();
      const r = await post(path, body, abort.signal);
      const reader = r.body!.getReader();
      await reader.read();
      abort.abort();
      await expect.poll(() => up.closedEarly, { timeout: 2000 }).toBe(before + 1);
    }
  });

  it('the queue admits translated requests like chat completions: waiting within the limit, 429 in the API\'s shape beyond it', async () => {
    const up = await upstream(async (_b, res) => {
      await new Promise((r) => setTimeout(r, 150));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(completion({ content: 'ok' }, 'stop'));
    });
    const { post } = await gateway(up.url, { maxQueue: 1 });
    const body = { model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] };
    const [a, b, c] = await Promise.all([post('/v1/messages', body), post('/v1/messages', body), post('/v1/messages', body)]);
    const statuses = [a.status, b.status, c.status].sort();
    expect(statuses).toEqual([200, 200, 429]);
    const refused = [a, b, c].find((r) => r.status === 429)!;
    expect(await refused.json()).toMatchObject({ type: 'error', error: { type: 'rate_limit_error', message: expect.stringContaining('busy') } });
  });

  it('paths of the APIs that need stored state are a 404 in the API\'s shape saying why', async () => {
    const { url, post } = await gateway('http://127.0.0.1:1');
    const retrieve = await fetch(`${url}/v1/responses/resp_123`);
    expect(retrieve.status).toBe(404);
    expect(await retrieve.json()).toMatchObject({ error: { type: 'invalid_request_error', code: 'unknown_endpoint', message: expect.stringContaining('stores no responses') } });
    const count = await post('/v1/messages/count_tokens', { model: 'm', messages: [] });
    expect(count.status).toBe(404);
    expect(await count.json()).toMatchObject({ type: 'error', error: { type: 'not_found_error', message: expect.stringContaining('count_tokens') } });
  });

  it('the request log and metrics count the upstream\'s completion tokens from its usage', async () => {
    const up = await upstream(async (_b, res) => {
      sse(res);
      res.write(chunk({ role: 'assistant', content: '' }));
      for (const t of ['a', 'b', 'c']) res.write(chunk({ content: t }));
      res.write(chunk({}, 'stop'));
      res.write(usageChunk(4, 7));
      res.end('data: [DONE]\n\n');
    });
    const { gw, post } = await gateway(up.url);
    await (await post('/v1/messages', { model: 'm', max_tokens: 9, stream: true, messages: [{ role: 'user', content: 'x' }] })).text();
    await (await post('/v1/responses', { model: 'm', input: 'x', stream: true })).text();
    const log = gw.log.recent(2);
    expect(log.map((r) => [r.endpoint, r.status, r.stream, r.completionTokens])).toEqual([
      ['/v1/responses', 200, true, 7],
      ['/v1/messages', 200, true, 7],
    ]);
    expect(log.every((r) => r.ttftMs !== null)).toBe(true);
  });

  it('Anthropic\'s client lists the models in Anthropic\'s shape; a browser may send x-api-key and anthropic-version (CORS)', async () => {
    const { url } = await gateway('http://127.0.0.1:1', { corsOrigins: ['http://app.example'] });
    const models = await new Anthropic({ baseURL: url, apiKey: 'x', maxRetries: 0 }).models.list();
    expect(models.data.map((m) => [m.type, m.id, m.display_name])).toEqual([['model', 'm', 'm']]);
    const openaiModels = await new OpenAI({ baseURL: `${url}/v1`, apiKey: 'x', maxRetries: 0 }).models.list();
    expect(openaiModels.data.map((m) => [m.object, m.id])).toEqual([['model', 'm']]);
    const preflight = await fetch(`${url}/v1/messages`, { method: 'OPTIONS', headers: { origin: 'http://app.example', 'access-control-request-headers': 'x-api-key, anthropic-version' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/x-api-key.*anthropic-version/);
  });

  it('gateway errors before routing (unknown model, bad JSON) are in the API\'s shape', async () => {
    const { url, post } = await gateway('http://127.0.0.1:1');
    const unknown = await post('/v1/messages', { model: 'nope', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ type: 'error', error: { type: 'not_found_error', message: expect.stringContaining('"nope"') } });
    const bad = await fetch(`${url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model": ' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringContaining('not valid JSON') } });
  });
});
