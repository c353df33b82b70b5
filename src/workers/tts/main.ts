/**
 * AIMA's embedded TTS worker: an OpenAI-compatible text-to-speech server in its own process.
 *
 *   node out/workers/tts.mjs [--engines flite,espeak-ng] [--voice-folder PATH] [--default-voice slt]
 *        [--port 0] [--host 127.0.0.1] [--threads 2] [--model-name aima-tts] [--max-input-chars 4096]
 *
 * Engines: flite (flite.wasm under node:wasi in a worker thread; always there), espeak-ng (the system program, used
 * when installed), and a sherpa-onnx voice folder (Piper/VITS, Kokoro, Matcha) via --voice-folder.
 * `listening on http://HOST:PORT` on stdout means ready; a fatal load error prints `error: ...` on
 * stderr and exits 1; an optional engine that is missing prints `warning: ...` and is left out.
 *
 * POST /v1/audio/speech streams sentence by sentence: a WAV header whose sizes say "unknown"
 * (0xFFFFFFFF), then 16-bit PCM as each sentence is synthesised (or raw PCM for `pcm`).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';
import { floatToPcm16, wavHeader } from '../common/audio/wav.js';
import { HttpError, listenAndAnnounce, readJson, sendError, sendJson } from '../common/http.js';
import { EspeakNgEngine, type TtsEngine, type VoiceInfo } from './engines.js';
import { FliteThreadEngine, isFliteThread, serveFliteThread } from './flite-thread.js';
import { splitSentences } from './sentences.js';
import { SherpaTtsEngine } from './sherpa-tts.js';

// node:wasi is still flagged experimental in Node 20; its one-time warning is noise in our logs.
process.removeAllListeners('warning');
process.on('warning', (w) => {
  if (w.name !== 'ExperimentalWarning') process.stderr.write(`${w.name}: ${w.message}\n`);
});

/** OpenAI's voice names; clients send them by habit, so they mean "the default voice". */
const OPENAI_VOICES = new Set(['alloy', 'ash', 'ballad', 'coral', 'echo', 'fable', 'onyx', 'nova', 'sage', 'shimmer', 'verse']);

interface Options {
  engines: string[];
  voiceFolder?: string;
  defaultVoice?: string;
  host: string;
  port: number;
  threads: number;
  modelName: string;
  maxInputChars: number;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      engines: { type: 'string', default: 'flite,espeak-ng' },
      'voice-folder': { type: 'string' },
      'default-voice': { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '0' },
      threads: { type: 'string', default: '2' },
      'model-name': { type: 'string', default: 'aima-tts' },
      'max-input-chars': { type: 'string', default: '4096' },
    },
    strict: true,
  });
  const int = (name: string, v: string, min: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min} (got ${v})`);
    return n;
  };
  const engines = values.engines!.split(',').map((e) => e.trim()).filter(Boolean);
  for (const e of engines) if (e !== 'flite' && e !== 'espeak-ng') throw new Error(`--engines takes flite and/or espeak-ng (got ${e})`);
  return {
    engines,
    voiceFolder: values['voice-folder'],
    defaultVoice: values['default-voice'],
    host: values.host!,
    port: int('port', values.port!, 0),
    threads: int('threads', values.threads!, 1),
    modelName: values['model-name']!,
    maxInputChars: int('max-input-chars', values['max-input-chars']!, 1),
  };
}

async function openEngines(opts: Options): Promise<TtsEngine[]> {
  const engines: TtsEngine[] = [];
  if (opts.voiceFolder) engines.push(await SherpaTtsEngine.create(opts.voiceFolder, { threads: opts.threads }));
  for (const name of opts.engines) {
    if (name === 'flite') engines.push(await FliteThreadEngine.create(new URL(import.meta.url)));
    else {
      try {
        engines.push(await EspeakNgEngine.create());
      } catch (err) {
        process.stderr.write(`warning: espeak-ng voices left out: ${(err as Error).message}\n`);
      }
    }
  }
  if (engines.length === 0) throw new Error('no TTS engine could be loaded');
  return engines;
}

interface SpeechRequest {
  input: string;
  voice: VoiceInfo;
  engine: TtsEngine;
  format: 'wav' | 'pcm';
  speed: number;
}

class TtsServer {
  private readonly created = Math.floor(Date.now() / 1000);
  private readonly byVoice = new Map<string, { voice: VoiceInfo; engine: TtsEngine }>();
  private readonly defaultVoice: string;

  constructor(
    private readonly opts: Options,
    private readonly engines: TtsEngine[],
  ) {
    for (const engine of engines) for (const voice of engine.voices()) if (!this.byVoice.has(voice.id)) this.byVoice.set(voice.id, { voice, engine });
    const fallback = this.byVoice.has('slt') ? 'slt' : [...this.byVoice.keys()][0];
    this.defaultVoice = opts.defaultVoice ?? fallback;
    if (!this.byVoice.has(this.defaultVoice)) {
      throw new Error(`--default-voice ${this.defaultVoice} is not among the voices: ${[...this.byVoice.keys()].join(', ')}`);
    }
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname === '/health' && req.method === 'GET') {
        sendJson(res, 200, { status: 'ok', model: this.opts.modelName, engines: this.engines.map((e) => e.name), voices: this.byVoice.size });
      } else if (url.pathname === '/v1/models' && req.method === 'GET') {
        sendJson(res, 200, { object: 'list', data: [{ id: this.opts.modelName, object: 'model', created: this.created, owned_by: 'aima' }] });
      } else if (url.pathname === '/v1/audio/voices' && req.method === 'GET') {
        sendJson(res, 200, {
          default: this.defaultVoice,
          voices: [...this.byVoice.values()].map(({ voice: v }) => ({ id: v.id, name: v.name, engine: v.engine, sample_rate: v.sampleRate, language: v.language ?? null })),
        });
      } else if (url.pathname === '/v1/audio/speech') {
        if (req.method !== 'POST') throw new HttpError(405, 'Use POST for /v1/audio/speech.', 'invalid_request_error', 'method_not_allowed');
        await this.speech(this.parseRequest(await readJson(req, 1024 * 1024)), res);
      } else {
        throw new HttpError(404, `No route for ${req.method} ${url.pathname}.`, 'not_found_error', 'not_found');
      }
    } catch (err) {
      sendError(res, err);
    }
  }

  private parseRequest(body: unknown): SpeechRequest {
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'Send a JSON object with at least `input`.');
    const b = body as Record<string, unknown>;
    if (typeof b.input !== 'string' || !b.input.trim()) throw new HttpError(400, '`input` must be a non-empty string.', 'invalid_request_error', 'invalid_input', 'input');
    if (b.input.length > this.opts.maxInputChars) {
      throw new HttpError(400, `\`input\` is ${b.input.length} characters; the limit is ${this.opts.maxInputChars}.`, 'invalid_request_error', 'input_too_long', 'input');
    }
    const requested = b.voice === undefined ? this.defaultVoice : b.voice;
    if (typeof requested !== 'string') throw new HttpError(400, '`voice` must be a string.', 'invalid_request_error', 'invalid_voice', 'voice');
    const voiceId = OPENAI_VOICES.has(requested) && !this.byVoice.has(requested) ? this.defaultVoice : requested;
    const entry = this.byVoice.get(voiceId);
    if (!entry) {
      throw new HttpError(400, `Unknown voice "${requested}". Voices: ${[...this.byVoice.keys()].join(', ')}.`, 'invalid_request_error', 'unknown_voice', 'voice');
    }
    const format = b.response_format ?? 'wav';
    if (format !== 'wav' && format !== 'pcm') {
      throw new HttpError(400, `response_format "${String(format)}" is not supported; use wav or pcm.`, 'invalid_request_error', 'unsupported_format', 'response_format');
    }
    const speed = b.speed ?? 1;
    if (typeof speed !== 'number' || !(speed >= 0.25 && speed <= 4)) {
      throw new HttpError(400, '`speed` must be a number from 0.25 to 4.0.', 'invalid_request_error', 'invalid_speed', 'speed');
    }
    return { input: b.input, voice: entry.voice, engine: entry.engine, format, speed };
  }

  /** Synthesises sentence by sentence, writing each as soon as it exists. */
  private async speech(r: SpeechRequest, res: ServerResponse): Promise<void> {
    const sentences = splitSentences(r.input);
    let closed = false;
    res.on('close', () => (closed = true));
    // A client that leaves mid-sentence (a voice barge-in) must never take the worker down: writing
    // to a destroyed response emits 'error', which unhandled would end the process.
    res.on('error', () => (closed = true));
    for (const sentence of sentences) {
      if (closed) return;
      const samples = await r.engine.synthesize(sentence, r.voice.id, r.speed);
      if (closed || res.destroyed) return;
      if (!res.headersSent) {
        const rate = r.voice.sampleRate;
        res.writeHead(200, {
          'content-type': r.format === 'wav' ? 'audio/wav' : `audio/pcm`,
          'x-sample-rate': String(rate),
          'x-channels': '1',
          'x-sample-format': 's16le',
          'cache-control': 'no-cache',
        });
        if (r.format === 'wav') res.write(wavHeader(rate, 1));
      }
      if (!res.write(floatToPcm16(samples))) {
        await new Promise<void>((ok) => {
          res.once('drain', ok);
          res.once('close', ok);
        });
      }
    }
    res.end();
  }
}

async function main(): Promise<void> {
  let app: TtsServer;
  let engines: TtsEngine[];
  let opts: Options;
  try {
    opts = parseOptions(process.argv.slice(2));
    engines = await openEngines(opts);
    app = new TtsServer(opts, engines);
  } catch (err) {
    process.stderr.write(`error: ${(err as Error).message}\n`);
    process.exit(1);
  }
  const server = createServer((req, res) => void app.handle(req, res));
  const stop = () => {
    server.close();
    for (const e of engines) e.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  await listenAndAnnounce(server, opts.host, opts.port);
}

// The same script is the flite worker thread when started as one (see flite-thread.ts).
if (isFliteThread()) void serveFliteThread();
else void main();
