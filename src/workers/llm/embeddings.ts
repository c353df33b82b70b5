/**
 * /v1/embeddings for embedding GGUFs and for LLMs (llama.cpp pools the model's hidden states).
 * One embedding context, created on first use, serves requests one at a time; it is separate from
 * the generation slots, so embeddings never take a chat slot. Supports OpenAI's `encoding_format`
 * "base64" (little-endian float32), which the official client asks for by default.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Token } from 'node-llama-cpp';
import { HttpError, readJson, sendJson } from '../../lib/http.js';
import type { Engine } from './engine.js';
import type { LlmWorkerConfig } from './config.js';
import { checkModelName } from './generate.js';
import type { RequestSummary } from './generate.js';
import { embeddingRequestSchema, validate } from './schemas.js';

/** Serialises embedding requests on the single embedding context. */
let queue: Promise<unknown> = Promise.resolve();
function serial<T>(fn: () => Promise<T>): Promise<T> {
  const run = queue.then(fn, fn);
  queue = run.catch(() => undefined);
  return run;
}

function toBase64(vector: readonly number[]): string {
  const floats = Float32Array.from(vector);
  return Buffer.from(floats.buffer, floats.byteOffset, floats.byteLength).toString('base64');
}

/** POST /v1/embeddings */
export async function handleEmbeddings(
  req: IncomingMessage,
  res: ServerResponse,
  engine: Engine,
  config: LlmWorkerConfig,
): Promise<RequestSummary> {
  const body = validate(embeddingRequestSchema, await readJson(req, config.maxBodyBytes));
  checkModelName(body.model, config);
  const input = body.input;
  // string | string[] | Token[] | Token[][] -> a list of inputs, each text or tokens.
  const inputs: (string | Token[])[] =
    typeof input === 'string'
      ? [input]
      : typeof input[0] === 'number'
        ? [input as Token[]]
        : (input as (string | Token[])[]);
  const tokenized = inputs.map((i) => (typeof i === 'string' ? engine.model.tokenize(i) : i));
  tokenized.forEach((tokens, index) => {
    if (tokens.length > engine.ctxSize) {
      throw new HttpError(
        400,
        `Input ${index} is ${tokens.length} tokens, over the embedding context of ${engine.ctxSize} tokens. Shorten it, or restart the worker with a larger --ctx-size.`,
        'invalid_request_error',
        'context_length_exceeded',
        'input',
      );
    }
  });

  const vectors = await serial(async () => {
    let context;
    try {
      context = await engine.embeddingContext();
    } catch (err) {
      throw new HttpError(
        400,
        `Model '${config.modelName}' (architecture ${engine.architecture}) cannot produce embeddings here: ${(err as Error).message}`,
        'invalid_request_error',
        'embeddings_unsupported',
      );
    }
    const out: number[][] = [];
    for (const tokens of tokenized) out.push([...(await context.getEmbeddingFor(tokens)).vector]);
    return out;
  });

  const size = vectors[0]?.length ?? 0;
  if (body.dimensions != null && body.dimensions !== size) {
    throw new HttpError(400, `dimensions: this model's embeddings have ${size} dimensions; omit the field or send ${size}.`, 'invalid_request_error', 'invalid_value', 'dimensions');
  }
  const promptTokens = tokenized.reduce((n, t) => n + t.length, 0);
  const base64 = body.encoding_format === 'base64';
  sendJson(res, 200, {
    object: 'list',
    model: config.modelName,
    data: vectors.map((v, index) => ({
      object: 'embedding',
      index,
      embedding: base64 ? toBase64(v) : v,
    })),
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
  });
  return { status: 200, note: `${inputs.length} input(s), ${promptTokens} tokens` };
}
