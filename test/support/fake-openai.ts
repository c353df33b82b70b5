/**
 * A real OpenAI-compatible HTTP server for gateway tests: answers chat completions after a
 * delay, streams SSE tokens at a set pace, counts requests in flight, records client disconnects
 * and the Authorization header it saw.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

export interface FakeOpenAIOptions {
  /** ms before a non-streaming answer. */
  delayMs?: number;
  /** Streamed tokens and the pause between them. */
  tokens?: number;
  tokenIntervalMs?: number;
  /** When set, requests without this bearer key get 401. */
  requireKey?: string;
  /** Serve HTTPS with this certificate and key (PEM). */
  tls?: { cert: string; key: string };
}

export interface FakeOpenAI {
  url: string;
  inFlight: number;
  maxInFlight: number;
  requests: number;
  disconnects: number;
  seenModels: string[];
  seenAuth: (string | undefined)[];
  close(): Promise<void>;
}

export async function startFakeOpenAI(opts: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  const state: Omit<FakeOpenAI, 'url' | 'close'> = { inFlight: 0, maxInFlight: 0, requests: 0, disconnects: 0, seenModels: [], seenAuth: [] };
  const handler: http.RequestListener = async (req, res) => {
    state.requests++;
    state.seenAuth.push(req.headers.authorization);
    if (opts.requireKey && req.headers.authorization !== `Bearer ${opts.requireKey}`) {
      res.writeHead(401, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ error: { message: 'bad key', type: 'authentication_error', param: null, code: 'invalid_api_key' } }));
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString() || '{}');
    state.seenModels.push(body.model);
    state.inFlight++;
    state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
    let finished = false;
    res.on('close', () => {
      state.inFlight--;
      if (!finished) state.disconnects++;
    });
    if (body.stream) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const n = opts.tokens ?? 5;
      for (let i = 0; i < n; i++) {
        if (res.destroyed) return;
        res.write(`data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', created: 0, model: body.model, choices: [{ index: 0, delta: { content: `t${i} ` }, finish_reason: null }] })}\n\n`);
        await new Promise((r) => setTimeout(r, opts.tokenIntervalMs ?? 10));
      }
      res.write('data: [DONE]\n\n');
      finished = true;
      return res.end();
    }
    await new Promise((r) => setTimeout(r, opts.delayMs ?? 0));
    if (res.destroyed) return;
    const text = JSON.stringify({
      id: 'x',
      object: 'chat.completion',
      created: 0,
      model: body.model,
      choices: [{ index: 0, message: { role: 'assistant', content: 'hello there' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
    });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    finished = true;
    res.end(text);
  };
  const server = opts.tls ? https.createServer({ cert: opts.tls.cert, key: opts.tls.key }, handler) : http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return Object.assign(state, {
    url,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  });
}
