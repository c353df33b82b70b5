#!/usr/bin/env node
// Gateway benchmark, all measured side by side in one run against a fast local upstream:
//  - added latency of the gateway vs a bare Node pipe proxy vs calling the upstream directly
//    (p50, p99 over interleaved rounds; target: gateway's added p50 within 1.3x of the bare proxy's)
//  - streaming throughput through the gateway vs direct (target >= 0.95): 64 token streams at an
//    engine's pace (500 tokens/s each); also, for reference, a raw byte pipe at full speed, which on
//    2 shared cores measures how fast one extra process can copy bytes (the bare proxy's ratio
//    shows that ceiling)
//  - 64 concurrent streams held at once through the gateway
//  - the translated APIs: time to the first token of a stream (and to the first byte, and to the
//    whole answer without streaming) of /v1/responses and /v1/messages vs /v1/chat/completions,
//    interleaved through the same gateway to the same upstream (target: +0.2 ms p50 at most)
//  - replicas: the added p50 latency with two replicas (two engine processes as services of one
//    model) vs a bare proxy in front of one of them, in the same run (target: within 1.3x)
// Needs `npm run build` (out/cli/aima.mjs). Usage: node bench/gateway.mjs [--requests 1500]
// [--latency-only | --apis-only]
import http from 'node:http';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuSeconds } from './lib/system.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const REQUESTS = arg('requests', 1500);
// --latency-only: stop after the latency rounds (for CPU profiles of the request path alone).
const LATENCY_ONLY = process.argv.includes('--latency-only');
// --apis-only: just the translated APIs against chat completions.
const APIS_ONLY = process.argv.includes('--apis-only');
const STREAM_MB = arg('stream-mb', 64);
const agent = new http.Agent({ keepAlive: true, maxSockets: 128 });

// --- upstream: instant JSON answers; a fast SSE stream; a slow stream for the concurrency test
let upstreamInFlight = 0;
let upstreamMaxInFlight = 0;
const answer = JSON.stringify({ id: 'x', object: 'chat.completion', created: 0, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } });
const upstream = http.createServer(async (req, res) => {
  let body = '';
  for await (const c of req) body += c;
  const parsed = JSON.parse(body || '{}');
  if (!parsed.stream) {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
    return res.end(answer);
  }
  upstreamInFlight++;
  upstreamMaxInFlight = Math.max(upstreamMaxInFlight, upstreamInFlight);
  res.on('close', () => upstreamInFlight--);
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  if (parsed.messages?.[0]?.content === 'short') {
    // A short answer as an engine streams it, each chunk its own write: role, one token, the
    // finish, usage, [DONE]. The translated APIs' requests carry only chat fields, hence the prompt.
    const c = (choices, extra = '') => `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":0,"model":"m","choices":${choices}${extra}}\n\n`;
    res.write(c('[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]'));
    res.write(c('[{"index":0,"delta":{"content":"tok0"},"finish_reason":null}]'));
    res.write(c('[{"index":0,"delta":{},"finish_reason":"stop"}]'));
    res.write(c('[]', ',"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}'));
    return res.end('data: [DONE]\n\n');
  }
  if (parsed.paced) {
    // An engine's token stream: one OpenAI-shaped chunk per token, each written on its own, every
    // `intervalMs` (the pace of a fast GPU server), then [DONE].
    const chunk = (i) => `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":0,"model":"m","choices":[{"index":0,"delta":{"content":" tok${i}"},"finish_reason":null}]}\n\n`;
    const t0 = performance.now();
    for (let i = 0; i < parsed.paced.tokens && !res.destroyed; i++) {
      res.write(chunk(i));
      const due = t0 + (i + 1) * parsed.paced.intervalMs - performance.now();
      await new Promise((r) => setTimeout(r, Math.max(0, due)));
    }
    res.write('data: [DONE]\n\n');
    return res.end();
  }
  if (parsed.slow) {
    for (let i = 0; i < 50 && !res.destroyed; i++) {
      res.write(`data: {"choices":[{"delta":{"content":"t${i}"}}]}\n\n`);
      await new Promise((r) => setTimeout(r, 20));
    }
    res.write('data: [DONE]\n\n');
    return res.end();
  }
  // Fast: STREAM_MB of SSE events of ~1 KiB, written with backpressure.
  const event = Buffer.from(`data: {"choices":[{"delta":{"content":"${'x'.repeat(1000)}"}}]}\n\n`);
  let left = Math.ceil((STREAM_MB * 1024 * 1024) / event.length);
  const pump = () => {
    while (left > 0) {
      left--;
      if (!res.write(event)) return res.once('drain', pump);
    }
    res.end('data: [DONE]\n\n');
  };
  pump();
});
await new Promise((r) => upstream.listen(0, '127.0.0.1', r));
const upstreamUrl = `http://127.0.0.1:${upstream.address().port}`;

// --- bare pipe proxy in its own process, like the gateway
const work = mkdtempSync(path.join(os.tmpdir(), 'aima-bench-gw-'));
const proxyFile = path.join(work, 'bare-proxy.mjs');
writeFileSync(
  proxyFile,
  `import http from 'node:http';
const target = new URL(process.argv[2]);
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const server = http.createServer((req, res) => {
  const up = http.request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers, agent }, (r) => {
    res.writeHead(r.statusCode, r.headers);
    r.pipe(res);
  });
  res.on('close', () => up.destroy());
  req.pipe(up);
});
server.listen(0, '127.0.0.1', () => console.log('port ' + server.address().port));`,
);
const proxy = spawn(process.execPath, [proxyFile, upstreamUrl], { stdio: ['ignore', 'pipe', 'inherit'] });
const proxyUrl = await new Promise((resolve) => proxy.stdout.on('data', (d) => resolve(`http://127.0.0.1:${/port (\d+)/.exec(String(d))[1]}`)));

// --- the gateway: aima serve with the upstream registered as a remote endpoint
const home = path.join(work, 'home');
const aima = path.join(root, 'bin', 'aima.mjs');
const serve = spawn(process.execPath, [...(process.env.AIMA_BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.AIMA_BENCH_PROFILE}`] : []), aima, 'serve', '--port', '0'], { env: { ...process.env, AIMA_HOME: home }, stdio: ['ignore', 'pipe', 'inherit'] });
const gatewayUrl = await new Promise((resolve) => {
  let out = '';
  serve.stdout.on('data', (d) => {
    out += d;
    const m = /API and UI: (\S+)/.exec(out);
    if (m) resolve(m[1]);
  });
});
await new Promise((resolve, reject) => {
  const p = spawn(process.execPath, [aima, 'remote', 'add', 'up', '--url', upstreamUrl, '--model', 'm'], { env: { ...process.env, AIMA_HOME: home }, stdio: 'inherit' });
  p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error('remote add failed'))));
});

function post(base, body) {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const t0 = performance.now();
    const req = http.request(`${base}/v1/chat/completions`, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } }, (res) => {
      let bytes = 0;
      let events = 0;
      let tail = '';
      res.on('data', (c) => {
        bytes += c.length;
        if (!body.paced) return;
        // Count whole SSE events ("data: ...\n\n"), across chunk boundaries.
        const text = tail + c.toString('latin1');
        const parts = text.split('\n\n');
        tail = parts.pop();
        events += parts.length;
      });
      res.on('end', () => (res.statusCode === 200 ? resolve({ ms: performance.now() - t0, bytes, events }) : reject(new Error(`${base}: HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(data);
  });
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};


// --- the translated APIs: the same short answer as chat completions, Responses and Messages
const API_PATHS = {
  chat: ['/v1/chat/completions', (stream) => ({ model: 'm', stream, messages: [{ role: 'user', content: 'short' }] })],
  responses: ['/v1/responses', (stream) => ({ model: 'm', stream, input: 'short' })],
  messages: ['/v1/messages', (stream) => ({ model: 'm', stream, max_tokens: 16, messages: [{ role: 'user', content: 'short' }] })],
};
/** One request: ms to the first body byte, to the first token's text ("tok0"), and to the end. */
function timed(base, path, body) {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const t0 = performance.now();
    const req = http.request(`${base}${path}`, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } }, (res) => {
      let firstByte = null;
      let firstToken = null;
      let text = '';
      res.on('data', (c) => {
        const now = performance.now();
        firstByte ??= now - t0;
        if (firstToken === null) {
          text += c.toString('latin1');
          if (text.includes('tok0')) firstToken = now - t0;
        }
      });
      res.on('end', () => (res.statusCode === 200 ? resolve({ firstByte, firstToken, total: performance.now() - t0 }) : reject(new Error(`${path}: HTTP ${res.statusCode} ${text}`))));
    });
    req.on('error', reject);
    req.end(data);
  });
}
async function apiLatency(rounds) {
  const out = Object.fromEntries(Object.keys(API_PATHS).map((k) => [k, { firstByte: [], firstToken: [], total: [] }]));
  for (let i = 0; i < 200; i++) {
    for (const [path, body] of Object.values(API_PATHS)) {
      await timed(gatewayUrl, path, body(true));
      await timed(gatewayUrl, path, body(false));
    }
  }
  for (let i = 0; i < rounds; i++) {
    for (const [name, [path, body]] of Object.entries(API_PATHS)) {
      const s = await timed(gatewayUrl, path, body(true));
      out[name].firstByte.push(s.firstByte);
      out[name].firstToken.push(s.firstToken);
      out[name].total.push((await timed(gatewayUrl, path, body(false))).total);
    }
  }
  const p = (name, field) => pct(out[name][field], 50);
  const row = (field) => Object.fromEntries(Object.keys(API_PATHS).map((n) => [n, p(n, field)]));
  return { firstToken: row('firstToken'), firstByte: row('firstByte'), total: row('total') };
}
function printApis(a) {
  const fmt = (x) => x.toFixed(3);
  const line = (label, r) => `${label}: chat ${fmt(r.chat)}, responses ${fmt(r.responses)} (${r.responses >= r.chat ? '+' : ''}${fmt(r.responses - r.chat)}), messages ${fmt(r.messages)} (${r.messages >= r.chat ? '+' : ''}${fmt(r.messages - r.chat)})`;
  console.log(`${line('translated APIs, first token p50 ms (stream)', a.firstToken)} (target <= +0.2)`);
  console.log(line('translated APIs, first byte p50 ms (stream)', a.firstByte));
  console.log(line('translated APIs, whole answer p50 ms (no stream)', a.total));
}

if (APIS_ONLY) {
  const a = await apiLatency(REQUESTS);
  printApis(a);
  console.log(JSON.stringify({ bench: 'gateway-apis', requests: REQUESTS, p50: a }));
  serve.kill('SIGTERM');
  proxy.kill('SIGTERM');
  await new Promise((r) => serve.once('exit', r));
  process.exit(0);
}

// Warm-up: connections, JIT.
for (const base of [upstreamUrl, proxyUrl, gatewayUrl]) for (let i = 0; i < 200; i++) await post(base, { model: 'm', messages: [] });

// Latency: interleaved, one request at a time per path.
const cpuBefore = { bare: cpuSeconds(proxy.pid), gateway: cpuSeconds(serve.pid) };
const lat = { direct: [], bare: [], gateway: [] };
for (let i = 0; i < REQUESTS; i++) {
  lat.direct.push((await post(upstreamUrl, { model: 'm', messages: [] })).ms);
  lat.bare.push((await post(proxyUrl, { model: 'm', messages: [] })).ms);
  lat.gateway.push((await post(gatewayUrl, { model: 'm', messages: [] })).ms);
}
const cpuPerRequestUs = {
  bare: cpuBefore.bare === null ? null : ((cpuSeconds(proxy.pid) - cpuBefore.bare) / REQUESTS) * 1e6,
  gateway: cpuBefore.gateway === null ? null : ((cpuSeconds(serve.pid) - cpuBefore.gateway) / REQUESTS) * 1e6,
};
const p50 = Object.fromEntries(Object.entries(lat).map(([k, v]) => [k, pct(v, 50)]));
const p99 = Object.fromEntries(Object.entries(lat).map(([k, v]) => [k, pct(v, 99)]));
const addedBare50 = p50.bare - p50.direct;
const addedGw50 = p50.gateway - p50.direct;
const addedBare99 = p99.bare - p99.direct;
const addedGw99 = p99.gateway - p99.direct;

// Replicas: two engine processes (the test fixture's small HTTP engine) as one service and its
// replica; requests for the model go through the replica choice. Baselines: the engine directly,
// and a bare proxy in front of the primary.
const run = (...args) =>
  new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [aima, ...args], { env: { ...process.env, AIMA_HOME: home }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`aima ${args.join(' ')} failed`))));
  });
const engineDir = path.join(home, 'engines');
mkdirSync(engineDir, { recursive: true });
writeFileSync(
  path.join(engineDir, 'bench-echo.json'),
  JSON.stringify({
    id: 'bench-echo',
    name: 'Benchmark echo engine',
    kind: 'llm',
    runtime: 'native',
    devices: ['cpu'],
    model: { required: false, formats: ['gguf'], kinds: ['llm'] },
    command: ['{{node}}', path.join(root, 'test', 'fixtures', 'engines', 'fake-engine.mjs'), '--host', '{{host}}', '--port', '{{port}}', '--progress-ms', '0'],
    health: { path: '/health', status: 200, json: { field: 'status', equals: 'ok' } },
  }),
);
await run('service', 'create', 'rep', '--engine', 'bench-echo', '--replicas', '2', '--concurrency', '4');
await run('service', 'start', 'rep', '--wait');
let reps = [];
for (let i = 0; i < 100 && reps.length < 2; i++) {
  reps = JSON.parse(await run('service', 'list', '--json')).filter((x) => x.state === 'running' && x.url);
  if (reps.length < 2) await new Promise((r) => setTimeout(r, 100));
}
// Baselines that alternate between the two engines as the gateway does (one request at a time
// ties on in-flight, so the least recently picked replica takes it): the engines directly, and a
// bare proxy in front of each.
const replicaUrls = ['rep', 'rep-2'].map((n) => reps.find((x) => x.name === n).url);
const bareProxies = replicaUrls.map((u) => spawn(process.execPath, [proxyFile, u], { stdio: ['ignore', 'pipe', 'inherit'] }));
const bareUrls = await Promise.all(bareProxies.map((p) => new Promise((resolve) => p.stdout.on('data', (d) => resolve(`http://127.0.0.1:${/port (\d+)/.exec(String(d))[1]}`)))));
const repBody = { model: 'rep', messages: [] };
for (const base of [...replicaUrls, ...bareUrls, gatewayUrl]) for (let i = 0; i < 200; i++) await post(base, repBody);
const repLat = { direct: [], bare: [], gateway: [] };
for (let i = 0; i < REQUESTS; i++) {
  repLat.direct.push((await post(replicaUrls[i % 2], repBody)).ms);
  repLat.bare.push((await post(bareUrls[i % 2], repBody)).ms);
  repLat.gateway.push((await post(gatewayUrl, repBody)).ms);
}
// The same with the replica removed (one engine behind the model, baselines on that engine only).
await run('service', 'scale', 'rep', '1');
for (let i = 0; i < 200; i++) await post(gatewayUrl, repBody);
repLat.gatewayOne = [];
repLat.directOne = [];
repLat.bareOne = [];
for (let i = 0; i < REQUESTS; i++) {
  repLat.directOne.push((await post(replicaUrls[0], repBody)).ms);
  repLat.bareOne.push((await post(bareUrls[0], repBody)).ms);
  repLat.gatewayOne.push((await post(gatewayUrl, repBody)).ms);
}
const rep50 = Object.fromEntries(Object.entries(repLat).map(([k, v]) => [k, pct(v, 50)]));
console.log(`one replica: added p50 ms: bare proxy ${(rep50.bareOne - rep50.directOne).toFixed(3)}, gateway ${(rep50.gatewayOne - rep50.directOne).toFixed(3)} -> ratio ${((rep50.gatewayOne - rep50.directOne) / (rep50.bareOne - rep50.directOne)).toFixed(2)}`);
const repAdded = { bare: rep50.bare - rep50.direct, gateway: rep50.gateway - rep50.direct };
repAdded.ratio = repAdded.gateway / repAdded.bare;
for (const p of bareProxies) p.kill('SIGTERM');
console.log(`replicas (2 engine processes behind one model) added p50 ms: bare proxy ${repAdded.bare.toFixed(3)}, gateway ${repAdded.gateway.toFixed(3)} -> ratio ${repAdded.ratio.toFixed(2)} (target <= 1.3)`);

if (LATENCY_ONLY) {
  console.log(`added p50 ms: bare proxy ${addedBare50.toFixed(3)}, gateway ${addedGw50.toFixed(3)} -> ratio ${(addedGw50 / addedBare50).toFixed(2)}; CPU per request µs: bare ${cpuPerRequestUs.bare?.toFixed(0)}, gateway ${cpuPerRequestUs.gateway?.toFixed(0)}`);
  await run('service', 'stop', 'rep');
  serve.kill('SIGTERM');
  proxy.kill('SIGTERM');
  await new Promise((r) => serve.once('exit', r));
  process.exit(0);
}

const apis = await apiLatency(REQUESTS);

// Streaming throughput: alternate direct and gateway, 3 rounds each, best of each.
const tput = { direct: [], bare: [], gateway: [] };
for (let round = 0; round < 3; round++) {
  for (const [name, base] of [['direct', upstreamUrl], ['bare', proxyUrl], ['gateway', gatewayUrl]]) {
    const r = await post(base, { model: 'm', stream: true, messages: [] });
    tput[name].push(r.bytes / 1024 / 1024 / (r.ms / 1000));
  }
}
const median = (xs) => pct(xs, 50);
const streamRatio = median(tput.gateway) / median(tput.direct);

// Token streams at engine pace: 64 concurrent streams of PACED_TOKENS tokens at PACED_RATE tokens/s each
// (6,400 tokens/s in all: a GPU server under full load), direct and through the gateway,
// alternated; throughput = tokens delivered / wall time of the whole batch.
const PACED_TOKENS = 200;
const PACED_RATE = 100; // tokens per second per stream: an 8B model decoding on one H100
async function pacedBatch(base) {
  const t0 = performance.now();
  const rs = await Promise.all(Array.from({ length: 64 }, () => post(base, { model: 'm', stream: true, paced: { tokens: PACED_TOKENS, intervalMs: 1000 / PACED_RATE }, messages: [] })));
  const ms = performance.now() - t0;
  const tokens = rs.reduce((n, r) => n + r.events - 1, 0); // minus [DONE]
  return { tokensPerS: tokens / (ms / 1000), ms, tokens };
}
const paced = { direct: [], bare: [], gateway: [] };
for (let round = 0; round < 3; round++) {
  for (const [name, base] of [['direct', upstreamUrl], ['bare', proxyUrl], ['gateway', gatewayUrl]]) paced[name].push((await pacedBatch(base)).tokensPerS);
}
const pacedRatio = median(paced.gateway) / median(paced.direct);

// 64 concurrent slow streams through the gateway.
upstreamMaxInFlight = 0;
const t64 = performance.now();
const results = await Promise.allSettled(Array.from({ length: 64 }, () => post(gatewayUrl, { model: 'm', stream: true, slow: true, messages: [] })));
const held = results.filter((r) => r.status === 'fulfilled').length;
const concurrentMs = performance.now() - t64;

const fmt = (x) => x.toFixed(3);
console.log(`latency p50 ms: direct ${fmt(p50.direct)}, bare proxy ${fmt(p50.bare)}, gateway ${fmt(p50.gateway)}`);
console.log(`latency p99 ms: direct ${fmt(p99.direct)}, bare proxy ${fmt(p99.bare)}, gateway ${fmt(p99.gateway)}`);
console.log(`added p50 ms: bare proxy ${fmt(addedBare50)}, gateway ${fmt(addedGw50)} -> ratio ${(addedGw50 / addedBare50).toFixed(2)} (target <= 1.3)`);
if (cpuPerRequestUs.bare !== null) console.log(`CPU per request (user+sys): bare proxy ${cpuPerRequestUs.bare.toFixed(0)} µs, gateway ${cpuPerRequestUs.gateway.toFixed(0)} µs`);
console.log(`added p99 ms: bare proxy ${fmt(addedBare99)}, gateway ${fmt(addedGw99)} -> ratio ${(addedGw99 / addedBare99).toFixed(2)}`);
console.log(`token streams at engine pace (64 x ${PACED_RATE} tokens/s): direct ${median(paced.direct).toFixed(0)}, bare proxy ${median(paced.bare).toFixed(0)}, gateway ${median(paced.gateway).toFixed(0)} tokens/s -> gateway/direct ${pacedRatio.toFixed(3)} (target >= 0.95)`);
console.log(`raw byte pipe at full speed (${STREAM_MB} MiB of 1 KiB events; CPU-bound on shared cores, for reference): direct ${median(tput.direct).toFixed(0)}, bare proxy ${median(tput.bare).toFixed(0)}, gateway ${median(tput.gateway).toFixed(0)} MB/s -> gateway/direct ${streamRatio.toFixed(3)}, bare/direct ${(median(tput.bare) / median(tput.direct)).toFixed(3)}, gateway/bare ${(median(tput.gateway) / median(tput.bare)).toFixed(3)}`);
printApis(apis);
console.log(`64 concurrent streams: ${held}/64 completed, upstream saw ${upstreamMaxInFlight} at once, ${concurrentMs.toFixed(0)} ms (each stream ~1 s)`);
console.log(
  JSON.stringify({
    bench: 'gateway',
    requests: REQUESTS,
    p50,
    p99,
    addedP50: { bare: addedBare50, gateway: addedGw50, ratio: addedGw50 / addedBare50 },
    cpuPerRequestUs,
    addedP99: { bare: addedBare99, gateway: addedGw99, ratio: addedGw99 / addedBare99 },
    pacedTokensPerS: { direct: median(paced.direct), bare: median(paced.bare), gateway: median(paced.gateway), ratio: pacedRatio },
    streamMBps: { direct: median(tput.direct), bare: median(tput.bare), gateway: median(tput.gateway), ratio: streamRatio, vsBare: median(tput.gateway) / median(tput.bare) },
    concurrentStreams: { held, upstreamMax: upstreamMaxInFlight, ms: concurrentMs },
    translatedApisP50: apis,
    replicas: { p50: rep50, addedP50: repAdded },
  }),
);

await run('service', 'stop', 'rep');
serve.kill('SIGTERM');
proxy.kill('SIGTERM');
upstream.close();
agent.destroy();
await new Promise((r) => serve.once('exit', r));
process.exit(0);
