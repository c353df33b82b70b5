/**
 * AIMA's embedded ASR worker: an OpenAI-compatible speech-to-text server in its own process.
 *
 *   node out/workers/asr.mjs --model PATH [--port 0] [--host 127.0.0.1] [--threads 2]
 *        [--model-name NAME] [--max-audio-seconds 600] [--beams 2]
 *        [--sherpa-kind sense-voice|whisper|paraformer]
 *
 * PATH is the Whisper all-in-one ONNX export (a file) or a sherpa-onnx offline model folder. The
 * model loads before the port opens; `listening on http://HOST:PORT` on stdout means ready.
 * Load failures print `error: ...` on stderr and exit 1. `--beams` is Whisper's beam width: 2 fixes
 * most of greedy decoding's slips on synthetic voices for little extra time on tiny.en.
 *
 * Routes: POST /v1/audio/transcriptions, GET /v1/models, GET /health.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { AudioFormatError, decodeAudio } from '../common/audio/decode.js';
import { resample, toMono } from '../common/audio/resample.js';
import { splitAtSilences } from '../common/audio/segment.js';
import { HttpError, listenAndAnnounce, readFormData, sendError, sendJson } from '../common/http.js';
import { UploadSlots } from '../common/upload-slots.js';
import { openAsrBackend, type AsrBackend } from './backends.js';
import type { SherpaAsrKind } from './sherpa-asr.js';

const SAMPLE_RATE = 16_000;

interface Options {
  model: string;
  host: string;
  port: number;
  threads: number;
  modelName: string;
  maxAudioSeconds: number;
  sherpaKind?: SherpaAsrKind;
  beams: number;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '0' },
      threads: { type: 'string', default: '2' },
      'model-name': { type: 'string' },
      'max-audio-seconds': { type: 'string', default: '600' },
      'sherpa-kind': { type: 'string' },
      beams: { type: 'string', default: '2' },
    },
    strict: true,
  });
  if (!values.model) throw new Error('--model PATH is required (a Whisper .onnx export or a sherpa-onnx model folder)');
  const int = (name: string, v: string, min: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min} (got ${v})`);
    return n;
  };
  const kind = values['sherpa-kind'];
  if (kind !== undefined && !['sense-voice', 'whisper', 'paraformer'].includes(kind)) {
    throw new Error(`--sherpa-kind must be sense-voice, whisper or paraformer (got ${kind})`);
  }
  return {
    model: path.resolve(values.model),
    host: values.host!,
    port: int('port', values.port!, 0),
    threads: int('threads', values.threads!, 1),
    modelName: values['model-name'] ?? path.basename(values.model).replace(/\.onnx$/, ''),
    maxAudioSeconds: int('max-audio-seconds', values['max-audio-seconds']!, 1),
    sherpaKind: kind as SherpaAsrKind | undefined,
    beams: int('beams', values.beams!, 1),
  };
}

interface Segment {
  id: number;
  seek: number;
  start: number;
  end: number;
  text: string;
}

const round = (s: number) => Math.round(s * 1000) / 1000;

class AsrServer {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly created = Math.floor(Date.now() / 1000);
  private inFlight = 0;
  /**
   * Uploads read, decoded and transcribed at once: one transcribing, one read ahead. Each holds its
   * whole form and decoded audio in memory, so more would only grow memory, not throughput
   * (transcriptions run one at a time anyway).
   */
  private readonly uploads = new UploadSlots(2, 64);

  constructor(
    private readonly opts: Options,
    private readonly backend: AsrBackend,
  ) {}

  /** Largest body accepted: the maximum duration as 48 kHz stereo float WAV, plus slack. */
  private get bodyLimit(): number {
    return this.opts.maxAudioSeconds * 48_000 * 2 * 4 + 1024 * 1024;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname === '/health' && req.method === 'GET') {
        sendJson(res, 200, { status: 'ok', model: this.opts.modelName, engine: this.backend.engine, busy: this.inFlight > 0 });
      } else if (url.pathname === '/v1/models' && req.method === 'GET') {
        sendJson(res, 200, {
          object: 'list',
          data: [{ id: this.opts.modelName, object: 'model', created: this.created, owned_by: 'aima', engine: this.backend.engine }],
        });
      } else if (url.pathname === '/v1/audio/transcriptions') {
        if (req.method !== 'POST') throw new HttpError(405, 'Use POST for /v1/audio/transcriptions.', 'invalid_request_error', 'method_not_allowed');
        await this.uploads.run(() => this.transcribe(req, res));
      } else {
        throw new HttpError(404, `No route for ${req.method} ${url.pathname}.`, 'not_found_error', 'not_found');
      }
    } catch (err) {
      sendError(res, err);
    }
  }

  private async transcribe(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let form: FormData;
    try {
      form = await readFormData(req, this.bodyLimit);
    } catch (err) {
      if (err instanceof HttpError && err.code === 'body_too_large') {
        throw new HttpError(
          413,
          `${err.message} Audio of up to ${this.opts.maxAudioSeconds} s (--max-audio-seconds) is accepted; the byte limit fits that much 48 kHz stereo float WAV.`,
          'invalid_request_error',
          'body_too_large',
          'file',
        );
      }
      throw err;
    }
    const file = form.get('file');
    if (!file || typeof file === 'string') {
      throw new HttpError(400, 'The form has no `file` part holding the audio.', 'invalid_request_error', 'missing_file', 'file');
    }
    const format = (form.get('response_format') ?? 'json') as string;
    if (!['json', 'text', 'verbose_json'].includes(format)) {
      throw new HttpError(400, `response_format "${format}" is not supported; use json, text or verbose_json.`, 'invalid_request_error', 'unsupported_format', 'response_format');
    }
    const language = (form.get('language') as string | null)?.trim().toLowerCase() || undefined;
    if (language && this.backend.languages && !this.backend.languages.includes(language)) {
      throw new HttpError(
        400,
        `Model ${this.opts.modelName} transcribes ${this.backend.languages.join(', ')} only; language "${language}" is not available.`,
        'invalid_request_error',
        'unsupported_language',
        'language',
      );
    }
    const bytes = new Uint8Array(await file.arrayBuffer());
    let decoded: Awaited<ReturnType<typeof decodeAudio>>;
    try {
      decoded = await decodeAudio(bytes);
    } catch (err) {
      if (err instanceof AudioFormatError) throw new HttpError(400, `Cannot read the audio: ${err.message}.`, 'invalid_request_error', 'invalid_audio', 'file');
      throw err;
    }
    const frames = decoded.channels[0]?.length ?? 0;
    const duration = frames / decoded.sampleRate;
    if (frames === 0) throw new HttpError(400, 'The audio holds no samples.', 'invalid_request_error', 'empty_audio', 'file');
    // Checked before resampling, so an over-long upload costs no more than its decoding.
    if (duration > this.opts.maxAudioSeconds) {
      throw new HttpError(
        413,
        `Audio is ${duration.toFixed(1)} s long; this server transcribes at most ${this.opts.maxAudioSeconds} s (--max-audio-seconds) per request.`,
        'invalid_request_error',
        'audio_too_long',
        'file',
      );
    }
    const samples = resample(toMono(decoded.channels), decoded.sampleRate, SAMPLE_RATE);
    const segments = await this.serialised(() => this.run(samples));
    const text = segments.map((s) => s.text).filter(Boolean).join(' ');
    if (format === 'text') {
      const body = `${text}\n`;
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    } else if (format === 'verbose_json') {
      sendJson(res, 200, { task: 'transcribe', language: language ?? this.backend.languages?.[0] ?? 'unknown', duration: round(duration), text, segments });
    } else {
      sendJson(res, 200, { text });
    }
  }

  /** One transcription at a time: the model already uses every thread it was given. */
  private serialised<T>(fn: () => Promise<T>): Promise<T> {
    this.inFlight++;
    const next = this.queue.then(fn, fn).finally(() => this.inFlight--);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async run(samples: Float32Array): Promise<Segment[]> {
    const pieces = splitAtSilences(samples, { maxSamples: this.backend.windowSamples, sampleRate: SAMPLE_RATE });
    const segments: Segment[] = [];
    for (const p of pieces) {
      const text = await this.backend.transcribe(samples.subarray(p.start, p.end));
      if (!text) continue;
      segments.push({ id: segments.length, seek: p.start, start: round(p.start / SAMPLE_RATE), end: round(p.end / SAMPLE_RATE), text });
    }
    return segments;
  }
}

async function main(): Promise<void> {
  let opts: Options;
  let backend: AsrBackend;
  try {
    opts = parseOptions(process.argv.slice(2));
    backend = await openAsrBackend(opts.model, { threads: opts.threads, sherpaKind: opts.sherpaKind, beams: opts.beams });
  } catch (err) {
    process.stderr.write(`error: ${(err as Error).message}\n`);
    process.exit(1);
  }
  const app = new AsrServer(opts, backend);
  const server = createServer((req, res) => void app.handle(req, res));
  const stop = () => {
    server.close();
    void backend.close().finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  await listenAndAnnounce(server, opts.host, opts.port);
}

void main();
