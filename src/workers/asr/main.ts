/**
 * AIMA's embedded ASR worker: an OpenAI-compatible speech-to-text server in its own process.
 *
 *   node out/workers/asr.mjs --model PATH [--port 0] [--host 127.0.0.1] [--threads 2]
 *        [--model-name NAME] [--max-audio-seconds 600] [--beams 2]
 *        [--sherpa-kind sense-voice|whisper|paraformer]
 *
 * PATH is the Whisper all-in-one ONNX export (a file) or a sherpa-onnx offline model folder.
 * `--beams` is Whisper's beam width: 2 fixes most of greedy decoding's slips on synthetic voices for
 * little extra time on tiny.en. It fills in the shared worker contract (common/worker-server.ts): a
 * missing, incomplete or non-ONNX model fails before listening; otherwise it prints
 * `listening on http://HOST:PORT`, answers /health "loading" (503) while the model loads and "ok"
 * after; a load failure prints `asr worker: error: ...` on stderr and exits 1.
 *
 * Routes: POST /v1/audio/transcriptions, GET /v1/models, GET /health.
 *
 * This process holds no model: transcriptions run one at a time in an inference child process
 * with a loaded spare beside it (inference-process.ts), so a request whose client closes the
 * connection is dropped if it waits and its process killed if it runs (abortable-inference.ts);
 * /health counts both.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { AudioFormatError, decodeAudio } from '../../lib/audio/decode.js';
import { resample, toMono } from '../../lib/audio/resample.js';
import { splitAtSilences } from '../../lib/audio/segment.js';
import { HttpError, readFormData, sendJson } from '../../lib/http.js';
import { UploadSlots } from '../common/upload-slots.js';
import { intFlag, portFlag, runWorker } from '../common/worker-server.js';
import { AbortableInference, TranscriptionAborted } from './abortable-inference.js';
import { checkAsrModel } from './backends.js';
import { InferenceProcess, isInferenceChild, serveInferenceChild, type AsrModelOptions, type BackendInfo } from './inference-process.js';

const SAMPLE_RATE = 16_000;

const USAGE = `usage: node out/workers/asr.mjs --model PATH [options]
  --model PATH               Whisper all-in-one .onnx export or sherpa-onnx model folder (required)
  --model-name NAME          id clients send as "model" (default: file name without .onnx)
  --host HOST                address to bind (default 127.0.0.1)
  --port N                   port to bind, 0 = any free port (default 0)
  --threads N                CPU threads for the model (default 2)
  --max-audio-seconds N      longest audio accepted per request (default 600)
  --beams N                  Whisper beam width, 1 = greedy (default 2)
  --sherpa-kind KIND         sense-voice, whisper or paraformer (default: detected from the folder)`;

/** The worker's command line, one key per flag. */
const asrOptions = z
  .object({
    model: z
      .string({ error: '--model PATH is required (a Whisper .onnx export or a sherpa-onnx model folder)' })
      .min(1, '--model PATH is required (a Whisper .onnx export or a sherpa-onnx model folder)'),
    'model-name': z.string().min(1).optional(),
    host: z.string().min(1).default('127.0.0.1'),
    port: portFlag.default(0),
    threads: intFlag('--threads', 1).default(2),
    'max-audio-seconds': intFlag('--max-audio-seconds', 1).default(600),
    'sherpa-kind': z.enum(['sense-voice', 'whisper', 'paraformer'], { error: '--sherpa-kind must be sense-voice, whisper or paraformer' }).optional(),
    beams: intFlag('--beams', 1).default(2),
  })
  .transform((f) => ({
    model: path.resolve(f.model),
    modelName: f['model-name'] ?? path.basename(f.model).replace(/\.onnx$/, ''),
    host: f.host,
    port: f.port,
    threads: f.threads,
    maxAudioSeconds: f['max-audio-seconds'],
    sherpaKind: f['sherpa-kind'],
    beams: f.beams,
  }));

type Options = z.output<typeof asrOptions>;

interface Segment {
  id: number;
  seek: number;
  start: number;
  end: number;
  text: string;
}

const round = (s: number) => Math.round(s * 1000) / 1000;

class AsrServer {
  private readonly created = Math.floor(Date.now() / 1000);
  /** Requests whose transcription started on an inference process (/health). */
  private transcribed = 0;
  /**
   * Uploads read, decoded and transcribed at once: one transcribing, one read ahead. Each holds its
   * whole form and decoded audio in memory, so more would only grow memory, not throughput
   * (transcriptions run one at a time anyway).
   */
  private readonly uploads = new UploadSlots(2, 64);

  constructor(
    private readonly opts: Options,
    private readonly backend: BackendInfo,
    private readonly inference: AbortableInference<InferenceProcess>,
  ) {}

  get engine(): BackendInfo['engine'] {
    return this.backend.engine;
  }

  close(): void {
    this.inference.close();
  }

  /** Largest body accepted: the maximum duration as 48 kHz stereo float WAV, plus slack. */
  private get bodyLimit(): number {
    return this.opts.maxAudioSeconds * 48_000 * 2 * 4 + 1024 * 1024;
  }

  /** What /health adds to `{status: "ok", model}`. */
  health(): Record<string, unknown> {
    return { engine: this.backend.engine, busy: this.inference.busy, transcribed: this.transcribed, aborted: { ...this.inference.aborts }, spare: this.inference.spareState };
  }

  models(res: ServerResponse): void {
    sendJson(res, 200, {
      object: 'list',
      data: [{ id: this.opts.modelName, object: 'model', created: this.created, owned_by: 'aima', engine: this.backend.engine }],
    });
  }

  /** POST /v1/audio/transcriptions, holding an upload slot while the body is read and transcribed. */
  transcription(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // A client that closes the connection before its answer abandons the transcription, even
    // while it still waits for an upload slot.
    const gone = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) gone.abort();
    });
    return this.uploads.run(() => this.transcribe(req, res, gone.signal));
  }

  private async transcribe(req: IncomingMessage, res: ServerResponse, gone: AbortSignal): Promise<void> {
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
    const segments = await this.inference
      .run(gone, (unit) => {
        this.transcribed++;
        return this.run(unit, samples);
      })
      .catch((err: unknown) => {
        if (err instanceof TranscriptionAborted) throw new HttpError(499, err.message, 'invalid_request_error', 'client_closed');
        throw err;
      });
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

  private async run(unit: InferenceProcess, samples: Float32Array): Promise<Segment[]> {
    const pieces = splitAtSilences(samples, { maxSamples: this.backend.windowSamples, sampleRate: SAMPLE_RATE });
    const segments: Segment[] = [];
    for (const p of pieces) {
      const text = await unit.transcribe(samples.subarray(p.start, p.end));
      if (!text) continue;
      segments.push({ id: segments.length, seek: p.start, start: round(p.start / SAMPLE_RATE), end: round(p.end / SAMPLE_RATE), text });
    }
    return segments;
  }
}

/** Opens the model in an inference process; a spare loads beside it once it is up. */
async function openServer(o: Options): Promise<AsrServer> {
  const entry = fileURLToPath(import.meta.url);
  const model: AsrModelOptions = { model: o.model, threads: o.threads, sherpaKind: o.sherpaKind, beams: o.beams };
  const first = await InferenceProcess.start(entry, model);
  return new AsrServer(o, first.info, new AbortableInference(first, () => InferenceProcess.launch(entry, model)));
}

if (isInferenceChild()) serveInferenceChild();
else void runWorker<typeof asrOptions, AsrServer>({
  name: 'asr',
  usage: USAGE,
  options: asrOptions,
  describe: (o) => `asr worker: model ${o.model} as ${o.modelName} (threads ${o.threads}, beams ${o.beams}, max audio ${o.maxAudioSeconds} s)`,
  check: (o) => checkAsrModel(o.model, { threads: o.threads, sherpaKind: o.sherpaKind }),
  load: openServer,
  ready: (o, app) => `ready: ${o.modelName}, engine ${app.engine}`,
  routes: () => [
    { method: 'GET', paths: ['/v1/models'], handle: (_req, res, app) => app.models(res) },
    { method: 'POST', paths: ['/v1/audio/transcriptions'], handle: (req, res, app) => app.transcription(req, res) },
  ],
  health: (_o, app) => app.health(),
  close: (app) => app.close(),
});
