/**
 * The startup contract every embedded worker fills in (src/workers/common/worker-server.ts), tested
 * on the BUILT workers as real processes: listen first, `/health` 503 "loading" while the model
 * loads and 200 "ok" after, other routes 503 `model_loading` with Retry-After meanwhile, and a bad
 * option exits 2 naming the option as the last stderr line. AIMA_WORKER_LOAD_DELAY_MS holds each
 * load back long enough to observe the loading phase deterministically. Each phase is also judged
 * by the supervisor's own probe with the catalog's health spec for that worker's engine entry.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/core/engines/catalog.js';
import { probeHttp } from '../../src/core/runtimes/probe.js';
import { ensureWorkerBuilt, workerScript } from '../support/llm-worker.js';
import { ensureSpeechWorkersBuilt, haveWhisper, whisperModel, workerPath } from '../support/speech.js';
import { repoRoot, requirePart, sharedModel, type SystemPart } from '../support/system.js';

const LLM_MODEL = sharedModel('stories260K/stories260K.gguf');
const haveLlmModel = existsSync(LLM_MODEL);
const DELAY_MS = 1500;

type Name = 'llm' | 'asr' | 'tts';
const script = (name: Name) => (name === 'llm' ? workerScript : workerPath(name));

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}

function run(name: Name, args: string[], env: Record<string, string> = {}): Run {
  const child = spawn(process.execPath, [script(name), '--host', '127.0.0.1', '--port', '0', ...args], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  void exit.then(() => clearTimeout(killer));
  return { child, stdout: () => stdout, stderr: () => stderr, exit };
}

async function listeningUrl(r: Run, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = /^listening on (http:\/\/\S+)$/m.exec(r.stdout());
    if (m) return m[1];
    if (r.child.exitCode !== null) throw new Error(`worker exited (${r.child.exitCode}) before listening:\n${r.stdout()}\n${r.stderr()}`);
    if (Date.now() > deadline) throw new Error(`no listening line within ${timeoutMs} ms:\n${r.stdout()}\n${r.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function healthyWithin(url: string, timeoutMs: number): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${url}/health`);
    const body = (await res.json()) as Record<string, unknown>;
    if (res.status === 200) return body;
    if (Date.now() > deadline) throw new Error(`not healthy within ${timeoutMs} ms: ${JSON.stringify(body)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function stop(r: Run): Promise<number | null> {
  if (r.child.exitCode === null) r.child.kill('SIGTERM');
  return r.exit;
}

const lastLine = (text: string) => text.trim().split('\n').at(-1)!;

const catalog = loadCatalog({ builtin: path.join(repoRoot, 'resources', 'engines'), user: '/nonexistent' });
/** The supervisor's verdict on the worker at `url`, with the catalog's health spec for `aima-NAME`. */
function probe(name: Name, url: string) {
  const { hostname, port } = new URL(url);
  return probeHttp(hostname, Number(port), catalog.items.get(`aima-${name}`)!.entry.health);
}

/** What each worker needs to start, and one request that needs the model. */
const workers: { name: Name; have: () => boolean; args: string[]; part: SystemPart | null; request: (url: string) => Promise<Response>; okFields: Record<string, unknown> }[] = [
  {
    name: 'llm',
    have: () => haveLlmModel,
    part: 'shared-models',
    args: ['--model', LLM_MODEL, '--model-name', 'stories', '--threads', '1'],
    request: (url) => fetch(`${url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'Once', max_tokens: 2 }) }),
    okFields: { status: 'ok', model: 'stories', backend: 'cpu' },
  },
  {
    name: 'asr',
    have: () => haveWhisper,
    part: 'shared-models',
    args: ['--model', whisperModel, '--model-name', 'whisper-tiny.en'],
    request: (url) => {
      const form = new FormData();
      form.set('file', new Blob([new Uint8Array(44)], { type: 'audio/wav' }), 'a.wav');
      return fetch(`${url}/v1/audio/transcriptions`, { method: 'POST', body: form });
    },
    okFields: { status: 'ok', model: 'whisper-tiny.en', engine: 'whisper-onnx' },
  },
  {
    name: 'tts',
    // flite.wasm ships with the worker: nothing to install.
    have: () => true,
    part: null,
    args: ['--engines', 'flite'],
    request: (url) => fetch(`${url}/v1/audio/speech`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: 'Hello.' }) }),
    okFields: { status: 'ok', model: 'aima-tts', engines: ['flite'] },
  },
];

beforeAll(() => {
  ensureWorkerBuilt();
  ensureSpeechWorkersBuilt();
});

describe('worker startup contract', () => {
  for (const w of workers) {
    it(`${w.name}: listens first, /health says loading (503) until the model is loaded, then ok (200)`, async (ctx) => {
      if (w.part) requirePart(ctx, w.part, w.have());
      const r = run(w.name, w.args, { AIMA_WORKER_LOAD_DELAY_MS: String(DELAY_MS) });
      try {
        const url = await listeningUrl(r);
        const loading = await fetch(`${url}/health`);
        expect(loading.status).toBe(503);
        expect(loading.headers.get('retry-after')).toBe('1');
        const body = (await loading.json()) as Record<string, unknown>;
        expect(body).toMatchObject({ status: 'loading', model: w.okFields.model });
        if (w.name === 'llm') expect(body.progress).toBe(0);
        expect(await probe(w.name, url)).toEqual({ kind: 'not-ready', status: 503, progress: w.name === 'llm' ? 0 : null });

        const early = await w.request(url);
        expect(early.status).toBe(503);
        expect(early.headers.get('retry-after')).toBe('1');
        expect(await early.json()).toMatchObject({ error: { type: 'server_error', code: 'model_loading', message: expect.stringContaining('still loading') } });

        expect(await healthyWithin(url, 30_000)).toMatchObject(w.okFields);
        expect(await probe(w.name, url)).toEqual({ kind: 'ready' });
        const out = r.stdout();
        expect(out.indexOf('ready:')).toBeGreaterThan(out.indexOf('listening on'));
        expect(await stop(r)).toBe(0);
      } finally {
        await stop(r);
      }
    });

    it(`${w.name}: a bad option exits 2 with the usage, naming the option and the fix on the last stderr line`, async () => {
      const r = run(w.name, [...(w.name === 'tts' ? [] : ['--model', '/nonexistent/model']), '--threads', 'zero']);
      expect(await r.exit).toBe(2);
      expect(r.stderr()).toContain('usage:');
      const last = lastLine(r.stderr());
      expect(last).toMatch(new RegExp(`^${w.name} worker: error: --threads`));
      expect(last).toContain('(got "zero")');
      expect(last).toContain('Fix:');
      expect(r.stdout()).not.toContain('listening on');
    });

    it(`${w.name}: an unknown option exits 2 naming it`, async () => {
      const r = run(w.name, ['--frobnicate', '1']);
      expect(await r.exit).toBe(2);
      expect(lastLine(r.stderr())).toMatch(new RegExp(`^${w.name} worker: error: .*--frobnicate`));
    });
  }

  it('a bad AIMA_WORKER_LOAD_DELAY_MS exits 2 naming the variable', async () => {
    const r = run('tts', ['--engines', 'flite'], { AIMA_WORKER_LOAD_DELAY_MS: 'soon' });
    expect(await r.exit).toBe(2);
    expect(lastLine(r.stderr())).toContain('AIMA_WORKER_LOAD_DELAY_MS must be a whole number of milliseconds');
  });
});

describe('worker startup failures', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'aima-worker-startup-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('asr: a file that is not ONNX fails before listening, naming the file', async () => {
    const junk = path.join(dir, 'junk.onnx');
    writeFileSync(junk, '<html>not found</html>');
    const r = run('asr', ['--model', junk]);
    expect(await r.exit).toBe(1);
    expect(lastLine(r.stderr())).toBe(`asr worker: error: ${junk} is not an ONNX model (it does not start with an ONNX ModelProto header); re-download or re-export it`);
    expect(r.stdout()).not.toContain('listening on');
  });

  it('tts: a --default-voice no engine has is a load failure after listening, exit 1 with the voices', async () => {
    const r = run('tts', ['--engines', 'flite', '--default-voice', 'nobody']);
    expect(await r.exit).toBe(1);
    expect(r.stdout()).toContain('listening on');
    const last = lastLine(r.stderr());
    expect(last).toMatch(/^tts worker: error: --default-voice nobody is not among the voices: .*slt/);
  });
});
