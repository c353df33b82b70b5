/**
 * AIMA's embedded TTS worker: an OpenAI-compatible text-to-speech server in its own process.
 *
 *   node out/workers/tts.mjs [--engines flite,espeak-ng] [--voice-folder PATH] [--default-voice slt]
 *        [--port 0] [--host 127.0.0.1] [--threads 2] [--model-name aima-tts] [--max-input-chars 4096]
 *
 * Engines: flite (flite.wasm under node:wasi in a worker thread; always there), espeak-ng (the system program, used
 * when installed), and a sherpa-onnx voice folder (Piper/VITS, Kokoro, Matcha) via --voice-folder.
 * It fills in the shared worker contract (common/worker-server.ts): an incomplete voice folder fails
 * before listening; otherwise it prints `listening on http://HOST:PORT`, answers /health "loading"
 * (503) while the engines start and "ok" after; a fatal load error prints `tts worker: error: ...`
 * on stderr and exits 1; an optional engine that is missing prints `warning: ...` and is left out.
 *
 * POST /v1/audio/speech streams sentence by sentence: a WAV header whose sizes say "unknown"
 * (0xFFFFFFFF), then 16-bit PCM as each sentence is synthesised (or raw PCM for `pcm`).
 */
import type { ServerResponse } from 'node:http';
import { z } from 'zod';
import { floatToPcm16, wavHeader } from '../../lib/audio/wav.js';
import { HttpError, readJson, sendJson } from '../../lib/http.js';
import { StartupError, intFlag, portFlag, runWorker, type WorkerRoute } from '../common/worker-server.js';
import { EspeakNgEngine, type TtsEngine, type VoiceInfo } from './engines.js';
import { FliteThreadEngine, isFliteThread, serveFliteThread } from './flite-thread.js';
import { splitSentences } from './sentences.js';
import { SherpaTtsEngine, detectSherpaTtsFolder } from './sherpa-tts.js';

// node:wasi is still flagged experimental in Node 20; its one-time warning is noise in our logs.
process.removeAllListeners('warning');
process.on('warning', (w) => {
  if (w.name !== 'ExperimentalWarning') process.stderr.write(`${w.name}: ${w.message}\n`);
});

/** OpenAI's voice names; clients send them by habit, so they mean "the default voice". */
const OPENAI_VOICES = new Set(['alloy', 'ash', 'ballad', 'coral', 'echo', 'fable', 'onyx', 'nova', 'sage', 'shimmer', 'verse']);

const USAGE = `usage: node out/workers/tts.mjs [options]
  --engines LIST             flite and/or espeak-ng, comma-separated (default flite,espeak-ng)
  --voice-folder PATH        a sherpa-onnx voice folder (Piper/VITS, Kokoro, Matcha) to add
  --default-voice ID         voice used when a request names none (default slt, else the first)
  --model-name NAME          id clients send as "model" (default aima-tts)
  --host HOST                address to bind (default 127.0.0.1)
  --port N                   port to bind, 0 = any free port (default 0)
  --threads N                CPU threads for a sherpa-onnx voice (default 2)
  --max-input-chars N        longest input accepted per request (default 4096)`;

/** The worker's command line, one key per flag. */
const ttsOptions = z
  .object({
    engines: z
      .string()
      .default('flite,espeak-ng')
      .transform((v) => v.split(',').map((e) => e.trim()).filter(Boolean))
      .pipe(z.array(z.enum(['flite', 'espeak-ng'], { error: '--engines takes flite and/or espeak-ng' }))),
    'voice-folder': z.string().min(1).optional(),
    'default-voice': z.string().min(1).optional(),
    host: z.string().min(1).default('127.0.0.1'),
    port: portFlag.default(0),
    threads: intFlag('--threads', 1).default(2),
    'model-name': z.string().min(1).default('aima-tts'),
    'max-input-chars': intFlag('--max-input-chars', 1).default(4096),
  })
  .transform((f) => ({
    engines: f.engines,
    voiceFolder: f['voice-folder'],
    defaultVoice: f['default-voice'],
    host: f.host,
    port: f.port,
    threads: f.threads,
    modelName: f['model-name'],
    maxInputChars: f['max-input-chars'],
  }));

type Options = z.output<typeof ttsOptions>;

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
  if (engines.length === 0) throw new StartupError('no TTS engine could be loaded. Fix: pass --engines flite (always available) or a --voice-folder.');
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
  /** Speech requests begun, in progress, and cut short by their client leaving before the audio was complete (/health). */
  private requests = 0;
  private active = 0;
  private cancelled = 0;

  constructor(
    private readonly opts: Options,
    private readonly engines: TtsEngine[],
  ) {
    for (const engine of engines) for (const voice of engine.voices()) if (!this.byVoice.has(voice.id)) this.byVoice.set(voice.id, { voice, engine });
    const fallback = this.byVoice.has('slt') ? 'slt' : [...this.byVoice.keys()][0];
    this.defaultVoice = opts.defaultVoice ?? fallback;
    if (!this.byVoice.has(this.defaultVoice)) {
      throw new StartupError(`--default-voice ${this.defaultVoice} is not among the voices: ${[...this.byVoice.keys()].join(', ')}`);
    }
  }

  get engineNames(): string[] {
    return this.engines.map((e) => e.name);
  }

  get voiceCount(): number {
    return this.byVoice.size;
  }

  /** What /health adds to `{status: "ok", model}`. */
  health(): Record<string, unknown> {
    return { engines: this.engines.map((e) => e.name), voices: this.byVoice.size, requests: this.requests, active: this.active, cancelled: this.cancelled };
  }

  /** The routes it serves once its engines are up. */
  static routes(): WorkerRoute<TtsServer>[] {
    return [
      {
        method: 'GET',
        paths: ['/v1/models'],
        handle: (_req, res, app) => sendJson(res, 200, { object: 'list', data: [{ id: app.opts.modelName, object: 'model', created: app.created, owned_by: 'aima' }] }),
      },
      { method: 'GET', paths: ['/v1/audio/voices'], handle: (_req, res, app) => app.voiceList(res) },
      { method: 'POST', paths: ['/v1/audio/speech'], handle: async (req, res, app) => app.speech(app.parseRequest(await readJson(req, 1024 * 1024)), res) },
    ];
  }

  private voiceList(res: ServerResponse): void {
    sendJson(res, 200, {
      default: this.defaultVoice,
      voices: [...this.byVoice.values()].map(({ voice: v }) => ({ id: v.id, name: v.name, engine: v.engine, sample_rate: v.sampleRate, language: v.language ?? null })),
    });
  }

  close(): void {
    for (const e of this.engines) e.close();
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
    this.requests++;
    this.active++;
    try {
      if (!(await this.synthesise(r, res))) this.cancelled++;
    } finally {
      this.active--;
    }
  }

  /** Writes the speech of `r`; false when the client left before all of it was written. */
  private async synthesise(r: SpeechRequest, res: ServerResponse): Promise<boolean> {
    const sentences = splitSentences(r.input);
    let closed = false;
    res.on('close', () => (closed = true));
    // A client that leaves mid-sentence (a voice barge-in) must never take the worker down: writing
    // to a destroyed response emits 'error', which unhandled would end the process.
    res.on('error', () => (closed = true));
    for (const sentence of sentences) {
      if (closed) return false;
      const samples = await r.engine.synthesize(sentence, r.voice.id, r.speed);
      if (closed || res.destroyed) return false;
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
    return true;
  }
}

/** Opens the engines; a --default-voice none of them has is a load failure naming the voices. */
async function load(opts: Options): Promise<TtsServer> {
  const engines = await openEngines(opts);
  try {
    return new TtsServer(opts, engines);
  } catch (err) {
    for (const e of engines) e.close();
    throw err;
  }
}

// The same script is the flite worker thread when started as one (see flite-thread.ts).
if (isFliteThread()) void serveFliteThread();
else {
  void runWorker<typeof ttsOptions, TtsServer>({
    name: 'tts',
    usage: USAGE,
    options: ttsOptions,
    describe: (o) => `tts worker: engines ${o.engines.join(', ') || 'none'}${o.voiceFolder ? ` + voice folder ${o.voiceFolder}` : ''} as ${o.modelName}`,
    check: (o) => {
      if (o.voiceFolder) detectSherpaTtsFolder(o.voiceFolder, { threads: o.threads });
    },
    load,
    ready: (o, app) => `ready: ${o.modelName}, engines ${app.engineNames.join(', ')}, ${app.voiceCount} voice(s)`,
    routes: () => TtsServer.routes(),
    health: (_o, app) => app.health(),
    close: (app) => app.close(),
  });
}
