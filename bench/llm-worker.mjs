#!/usr/bin/env node
// Benchmark: what the embedded LLM worker's HTTP layer costs over node-llama-cpp in-process.
// Loads stories260K in this process (threads 1) and generates N tokens greedily; spawns the BUILT
// worker (out/workers/llm.mjs, threads 1, parallel 1) and generates the same N tokens through HTTP,
// non-streaming and streaming. Runs alternate side by side for several rounds; medians and ratios
// are printed, then one JSON line. Target: worker / in-process tokens/s >= 0.95.
//
// Grammar cost, in the same run: chat completions with the same prompt and max_tokens, unconstrained
// and with a json_schema response_format (a title and lines of text), alternating; generation
// speed is the worker's own timings.predicted_per_second.
// Target: constrained / unconstrained >= 0.7.
//
//   node bench/llm-worker.mjs [--tokens 400] [--rounds 7] [--model PATH]
//
// --model runs the same on another GGUF (default: stories260K), e.g. one with a large vocabulary
// made by bench/make-large-vocab-gguf.py.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LlamaCompletion, getLlama } from 'node-llama-cpp';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { tokens: { type: 'string', default: '400' }, rounds: { type: 'string', default: '7' }, model: { type: 'string' } } });
const TOKENS = Number(values.tokens);
const ROUNDS = Number(values.rounds);
const PROMPT = 'Once upon a time';
const modelPath = values.model ? path.resolve(values.model) : path.join(process.env.AIMA_SHARED_DIR ?? path.resolve(root, '..', 'shared'), 'models', 'stories260K', 'stories260K.gguf');
const modelName = path.basename(modelPath).replace(/\.gguf$/i, '');
if (!existsSync(modelPath)) {
  console.error(`missing ${modelPath}: check out the workplace shared/ folder beside this repo (see its README)`);
  process.exit(1);
}
const workerScript = path.join(root, 'out', 'workers', 'llm.mjs');
execFileSync(process.execPath, [path.join(root, 'scripts', 'build-node.mjs')], { cwd: root, stdio: 'ignore' });

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// --- in-process -----------------------------------------------------------------------------
const llama = await getLlama({ build: 'never', gpu: false });
const model = await llama.loadModel({ modelPath });
const context = await model.createContext({ sequences: 1, contextSize: 512, threads: 1 });
const completion = new LlamaCompletion({ contextSequence: context.getSequence() });

async function inProcess() {
  const start = performance.now();
  let first = null;
  let tokens = 0;
  const result = await completion.generateCompletionWithMeta(PROMPT, {
    maxTokens: TOKENS,
    temperature: 0,
    repeatPenalty: false,
    disableContextShift: true,
    onToken: (t) => {
      first ??= performance.now();
      tokens += t.length;
    },
  });
  const end = performance.now();
  return { tokens, ms: end - start, ttft: first - start, text: result.response };
}

// --- worker -----------------------------------------------------------------------------------
const child = spawn(process.execPath, [workerScript, '--model', modelPath, '--port', '0', '--threads', '1', '--parallel', '1', '--ctx-size', '512'], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
let stdout = '';
child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
const url = await new Promise((resolve, reject) => {
  const timer = setInterval(() => {
    const m = /listening on (http:\/\/\S+)/.exec(stdout);
    if (m && stdout.includes('ready:')) {
      clearInterval(timer);
      resolve(m[1]);
    }
    if (child.exitCode !== null) {
      clearInterval(timer);
      reject(new Error(`worker exited: ${stdout}`));
    }
  }, 10);
});

async function workerPlain() {
  const start = performance.now();
  const res = await fetch(`${url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ prompt: PROMPT, max_tokens: TOKENS, temperature: 0 }),
  });
  const body = await res.json();
  const end = performance.now();
  return { tokens: body.usage.completion_tokens, ms: end - start, ttft: null, text: body.choices[0].text, serverTtft: body.timings.ttft_ms };
}

// The stream is read with node:http 'data' events and parsed once it has ended: undici's fetch
// stream cost ~100 µs of this process's CPU per event, on the same two cores as the worker, which
// measured the client more than the worker. The first piece is still timed as it arrives.
function workerStream() {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const body = JSON.stringify({ prompt: PROMPT, max_tokens: TOKENS, temperature: 0, stream: true });
    const req = http.request(`${url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks = [];
      let first = null;
      res.on('data', (chunk) => {
        chunks.push(chunk);
        // Until the first non-empty piece: look at this chunk's events only.
        if (first === null && chunk.includes('"text":"') && /"text":"[^"]/.test(chunk.toString('utf8'))) first = performance.now();
      });
      res.on('end', () => {
        const end = performance.now();
        let text = '';
        let tokens = 0;
        for (const block of Buffer.concat(chunks).toString('utf8').split('\n\n')) {
          const data = block.startsWith('data: ') ? block.slice(6) : '';
          if (!data || data === '[DONE]') continue;
          const event = JSON.parse(data);
          text += event.choices[0]?.text ?? '';
          if (event.usage) tokens = event.usage.completion_tokens;
        }
        resolve({ tokens, ms: end - start, ttft: first - start, text });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

// --- grammar cost (chat, json_schema vs unconstrained) ---------------------------------------
// Long enough that most answers reach max_tokens (the lines are at least 40 characters each), with
// repetition counts small enough for llama.cpp's grammar engine.
const STORY_SCHEMA = {
  type: 'object',
  properties: { title: { type: 'string', enum: ['A day', 'A night'] }, lines: { type: 'array', items: { type: 'string', minLength: 40, maxLength: 160 }, minItems: 16 } },
  required: ['title', 'lines'],
  additionalProperties: false,
};
async function chat(constrained) {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      messages: [{ role: 'user', content: 'Tell me a story.' }],
      max_tokens: TOKENS,
      temperature: 0.8,
      seed: 1,
      ...(constrained ? { response_format: { type: 'json_schema', json_schema: { name: 'story', schema: STORY_SCHEMA } } } : {}),
    }),
  });
  const body = await res.json();
  if (!res.ok) throw new Error(`chat ${constrained ? 'json_schema' : 'unconstrained'}: ${JSON.stringify(body)}`);
  const content = body.choices[0].message.content;
  if (constrained && !content.startsWith('{')) throw new Error(`json_schema answer is not JSON: ${content.slice(0, 80)}`);
  return { tokens: body.usage.completion_tokens, perSecond: body.timings.predicted_per_second };
}

// --- CPU time ---------------------------------------------------------------------------------
// Wall-clock tokens/s on a shared machine mostly measures the neighbours; CPU time per token (all
// threads of the generating process) shows what the HTTP layer itself costs.
const CLOCK_TICKS = 100; // USER_HZ on Linux
function workerCpuMs() {
  const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS; // utime + stime
}
const selfCpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const cpu = { inProcess: 0, plain: 0, stream: 0, plainClient: 0, streamClient: 0 };
async function timed(name, fn, clock) {
  const before = clock();
  const client = selfCpuMs();
  const r = await fn();
  cpu[name] += clock() - before;
  if (name !== 'inProcess') cpu[`${name}Client`] += selfCpuMs() - client;
  return r;
}

// --- rounds -----------------------------------------------------------------------------------
const runs = { inProcess: [], plain: [], stream: [] };
await inProcess();
await workerPlain();
await workerStream(); // warm-up, not counted
for (let round = 0; round < ROUNDS; round++) {
  runs.inProcess.push(await timed('inProcess', inProcess, selfCpuMs));
  runs.plain.push(await timed('plain', workerPlain, workerCpuMs));
  runs.stream.push(await timed('stream', workerStream, workerCpuMs));
}
const grammarRuns = { free: [], schema: [] };
await chat(false);
await chat(true); // warm-up (builds and caches the grammar), not counted
for (let round = 0; round < ROUNDS; round++) {
  grammarRuns.free.push(await chat(false));
  grammarRuns.schema.push(await chat(true));
}
child.kill('SIGTERM');

const reference = runs.inProcess[0].text;
for (const [name, list] of Object.entries(runs)) {
  for (const r of list) {
    if (r.text !== reference || r.tokens !== runs.inProcess[0].tokens) throw new Error(`${name}: output differs from in-process (${r.tokens} tokens)`);
  }
}
const tps = (list) => median(list.map((r) => (r.tokens * 1000) / r.ms));
const result = {
  model: modelName,
  tokens: TOKENS,
  rounds: ROUNDS,
  threads: 1,
  in_process_tokens_per_s: Math.round(tps(runs.inProcess)),
  worker_tokens_per_s: Math.round(tps(runs.plain)),
  worker_stream_tokens_per_s: Math.round(tps(runs.stream)),
  ratio_worker: Math.round((tps(runs.plain) / tps(runs.inProcess)) * 1000) / 1000,
  ratio_worker_stream: Math.round((tps(runs.stream) / tps(runs.inProcess)) * 1000) / 1000,
  in_process_ttft_ms: Math.round(median(runs.inProcess.map((r) => r.ttft)) * 100) / 100,
  worker_stream_ttft_ms: Math.round(median(runs.stream.map((r) => r.ttft)) * 100) / 100,
  worker_server_ttft_ms: Math.round(median(runs.plain.map((r) => r.serverTtft)) * 100) / 100,
};
result.ttft_overhead_ms = Math.round((result.worker_stream_ttft_ms - result.in_process_ttft_ms) * 100) / 100;
const usPerToken = (name) => Math.round((cpu[name] * 1000) / (ROUNDS * TOKENS));
result.cpu_us_per_token_in_process = usPerToken('inProcess');
result.cpu_us_per_token_worker = usPerToken('plain');
result.cpu_us_per_token_worker_stream = usPerToken('stream');
result.cpu_us_per_token_client = usPerToken('plainClient');
result.cpu_us_per_token_client_stream = usPerToken('streamClient');
result.cpu_ratio_worker = Math.round((cpu.inProcess / cpu.plain) * 1000) / 1000;
result.cpu_ratio_worker_stream = Math.round((cpu.inProcess / cpu.stream) * 1000) / 1000;
result.chat_unconstrained_tokens_per_s = Math.round(median(grammarRuns.free.map((r) => r.perSecond)));
result.chat_json_schema_tokens_per_s = Math.round(median(grammarRuns.schema.map((r) => r.perSecond)));
result.chat_unconstrained_tokens = median(grammarRuns.free.map((r) => r.tokens));
result.chat_json_schema_tokens = median(grammarRuns.schema.map((r) => r.tokens));
result.ratio_json_schema = Math.round((result.chat_json_schema_tokens_per_s / result.chat_unconstrained_tokens_per_s) * 1000) / 1000;
result.load_average = os.loadavg().map((l) => Math.round(l * 100) / 100);

console.log(`${modelName}, ${TOKENS} greedy tokens, threads 1, ${ROUNDS} alternating rounds (medians):`);
console.log(`  in-process node-llama-cpp   ${result.in_process_tokens_per_s} tokens/s, first token ${result.in_process_ttft_ms} ms`);
console.log(`  worker, non-streaming       ${result.worker_tokens_per_s} tokens/s (x${result.ratio_worker})`);
console.log(`  worker, streaming           ${result.worker_stream_tokens_per_s} tokens/s (x${result.ratio_worker_stream}), first token ${result.worker_stream_ttft_ms} ms (+${result.ttft_overhead_ms} ms)`);
console.log(`  CPU per token (all threads): in-process ${result.cpu_us_per_token_in_process} us, worker ${result.cpu_us_per_token_worker} us (efficiency x${result.cpu_ratio_worker}), streaming ${result.cpu_us_per_token_worker_stream} us (x${result.cpu_ratio_worker_stream})`);
console.log(`  CPU per token of this benchmark's HTTP client: ${result.cpu_us_per_token_client} us non-streaming, ${result.cpu_us_per_token_client_stream} us streaming (competes for the same cores)`);
console.log(`  target worker/in-process >= 0.95 (wall tokens/s): ${result.ratio_worker >= 0.95 && result.ratio_worker_stream >= 0.95 ? 'met' : 'NOT met'}; load average ${result.load_average.join(' ')} on ${os.availableParallelism()} cores`);
console.log(`  chat, same prompt, max_tokens ${TOKENS}: unconstrained ${result.chat_unconstrained_tokens_per_s} tokens/s (median ${result.chat_unconstrained_tokens} tokens), json_schema grammar ${result.chat_json_schema_tokens_per_s} tokens/s (median ${result.chat_json_schema_tokens} tokens): x${result.ratio_json_schema} (target >= 0.7: ${result.ratio_json_schema >= 0.7 ? 'met' : 'NOT met'})`);
console.log(JSON.stringify(result));
await context.dispose();
await model.dispose();
await llama.dispose();
