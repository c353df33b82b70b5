/**
 * Helpers for the speech tests and benchmark: spawn the BUILT ASR/TTS workers
 * (out/workers/{asr,tts}.mjs) as real processes, make test audio with the system's flite,
 * espeak-ng and sox (never a shell), send it, and score transcripts by word errors.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { hasCommand, repoRoot, sharedModel } from './system.js';

export const whisperModel = sharedModel('whisper-tiny-en-olive/whisper_cpu_int8_0_model.onnx');
export const sileroModel = sharedModel('silero-vad/silero_vad.onnx');
export const haveWhisper = existsSync(whisperModel);
export const haveSilero = existsSync(sileroModel);
export const haveFlite = hasCommand('flite');
export const haveEspeak = hasCommand('espeak-ng');
export const haveSox = hasCommand('sox');

/** The acceptance phrases. */
export const PHRASES = [
  'turn on the kitchen lights please',
  'what is the weather like today',
  'set a timer for ten minutes',
  'play some relaxing music',
  'call my mother on her mobile',
] as const;

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(path.join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

export type SpeechWorkerName = 'asr' | 'tts';
export const workerPath = (name: SpeechWorkerName) => path.join(repoRoot, 'out', 'workers', `${name}.mjs`);

/** Builds the workers when missing or older than their sources (src/workers and the src/lib they use). */
export function ensureSpeechWorkersBuilt(): void {
  const newest = Math.max(newestMtime(path.join(repoRoot, 'src', 'workers')), newestMtime(path.join(repoRoot, 'src', 'lib')));
  if ((['asr', 'tts'] as const).every((n) => existsSync(workerPath(n)) && statSync(workerPath(n)).mtimeMs >= newest)) return;
  execFileSync(process.execPath, [path.join(repoRoot, 'scripts', 'build-node.mjs')], { cwd: repoRoot, stdio: 'pipe' });
}

export interface SpeechWorker {
  url: string;
  child: ChildProcess;
  stderr: () => string;
  stop: () => Promise<void>;
}

/**
 * Starts a worker on --port 0; resolves with its URL once it has printed `listening on` and /health
 * says ok. `timeoutMs` covers listening and loading together, and stays under the 60 s the callers' hooks
 * allow: a worker that hangs fails with what it printed, not with a bare hook timeout.
 */
export async function startSpeechWorker(name: SpeechWorkerName, args: string[], timeoutMs = 50_000): Promise<SpeechWorker> {
  const deadline = Date.now() + timeoutMs;
  ensureSpeechWorkersBuilt();
  const child = spawn(process.execPath, [workerPath(name), '--host', '127.0.0.1', '--port', '0', ...args], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} worker not listening in ${timeoutMs} ms:\n${stdout}\n${stderr}`)), deadline - Date.now());
    const check = () => {
      const m = /listening on (http:\/\/\S+)/.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} worker exited with ${code} before listening:\n${stdout}\n${stderr}`));
    });
  });
  // The worker listens before its model loads: ready is /health answering ok.
  for (;;) {
    const res = await fetch(`${url}/health`).catch(() => null);
    if (res?.status === 200) break;
    await res?.body?.cancel();
    if (child.exitCode !== null) throw new Error(`${name} worker exited with ${child.exitCode} while loading:\n${stdout}\n${stderr}`);
    if (Date.now() > deadline) throw new Error(`${name} worker not healthy in ${timeoutMs} ms:\n${stdout}\n${stderr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    url,
    child,
    stderr: () => stderr,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Runs a worker expected to fail at startup; resolves with its exit code and stderr. */
export function runSpeechWorkerToExit(name: SpeechWorkerName, args: string[]): Promise<{ code: number | null; stderr: string; stdout: string }> {
  ensureSpeechWorkersBuilt();
  const child = spawn(process.execPath, [workerPath(name), '--port', '0', ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, stdout });
    }),
  );
}

/** `samples` without the silence around the sound (flite pads its speech with some): for pauses of an exact length. */
export function trimSilence(samples: Float32Array, level = 0.01): Float32Array {
  let a = 0;
  while (a < samples.length && Math.abs(samples[a]!) < level) a++;
  let b = samples.length;
  while (b > a && Math.abs(samples[b - 1]!) < level) b--;
  return samples.subarray(a, b);
}

/** Speaks `text` with the flite CLI (voice slt by default) into a WAV file. */
export function fliteWav(text: string, out: string, voice = 'slt'): string {
  execFileSync('flite', ['-voice', voice, '-t', text, '-o', out], { stdio: 'pipe' });
  return out;
}

/** Speaks `text` with espeak-ng into a WAV file (22.05 kHz). */
export function espeakWav(text: string, out: string): string {
  execFileSync('espeak-ng', ['-w', out, '--', text], { stdio: 'pipe' });
  return out;
}

/** Runs sox with `args` (no shell). */
export function sox(...args: string[]): void {
  execFileSync('sox', args, { stdio: 'pipe' });
}

/** POSTs audio to /v1/audio/transcriptions. */
export async function transcribe(
  url: string,
  audio: Uint8Array,
  opts: { filename?: string; type?: string; fields?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<Response> {
  const form = new FormData();
  form.set('file', new Blob([audio], { type: opts.type ?? 'audio/wav' }), opts.filename ?? 'audio.wav');
  form.set('model', 'whisper-tiny.en');
  for (const [k, v] of Object.entries(opts.fields ?? {})) form.set(k, v);
  return fetch(`${url}/v1/audio/transcriptions`, { method: 'POST', body: form, signal: opts.signal });
}

const ONES = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve', 'thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen', 'nineteen'];
const TENS = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];

function numberWords(n: number): string {
  if (n < 20) return ONES[n];
  if (n < 100) return TENS[Math.floor(n / 10)] + (n % 10 ? ` ${ONES[n % 10]}` : '');
  if (n < 1000) return `${ONES[Math.floor(n / 100)]} hundred${n % 100 ? ` ${numberWords(n % 100)}` : ''}`;
  return String(n).split('').map((d) => ONES[Number(d)]).join(' ');
}

/** Lowercase words without punctuation, digits spelled out. */
export function normaliseWords(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/(\d+)/g, (d) => ` ${numberWords(Number(d))} `)
    .replace(/[^a-z' ]+/g, ' ')
    .replace(/'/g, '')
    .split(/\s+/)
    .filter(Boolean);
}

/** Word-level edit distance (substitutions + insertions + deletions). */
export function wordErrors(reference: string, hypothesis: string): number {
  const r = normaliseWords(reference);
  const h = normaliseWords(hypothesis);
  let prev = Array.from({ length: h.length + 1 }, (_, j) => j);
  for (let i = 1; i <= r.length; i++) {
    const cur = [i];
    for (let j = 1; j <= h.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r[i - 1] === h[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[h.length];
}

/** Reads the PCM of a 16-bit mono WAV whose header may carry streaming (0xFFFFFFFF) sizes. */
export function pcmOfWav(wav: Uint8Array): { sampleRate: number; samples: Int16Array } {
  const b = Buffer.from(wav.buffer, wav.byteOffset, wav.byteLength);
  if (b.toString('ascii', 0, 4) !== 'RIFF' || b.toString('ascii', 8, 12) !== 'WAVE') throw new Error('not a WAV');
  const sampleRate = b.readUInt32LE(24);
  const data = b.subarray(44);
  return { sampleRate, samples: new Int16Array(data.buffer.slice(data.byteOffset, data.byteOffset + (data.length & ~1))) };
}

// --- Ogg Opus muxing (RFC 7845), to turn the Opus packets of a real WebM recording into the Ogg
// file Firefox's MediaRecorder would send, where this Chromium cannot record Ogg itself.

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let j = 0; j < 8; j++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    t[i] = r >>> 0;
  }
  return t;
})();

function oggCrc(page: Uint8Array): number {
  let crc = 0;
  for (const b of page) crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ b) & 0xff]) >>> 0;
  return crc;
}

/** Samples (at 48 kHz) in one Opus packet, from its TOC byte (RFC 6716 section 3.1). */
export function opusPacketSamples(p: Uint8Array): number {
  const config = p[0] >> 3;
  const ms = config < 12 ? [10, 20, 40, 60][config % 4] : config < 16 ? [10, 20][config % 2] : [2.5, 5, 10, 20][config % 4];
  const code = p[0] & 3;
  const frames = code === 0 ? 1 : code === 3 ? p[1] & 0x3f : 2;
  return frames * ms * 48;
}

/** Builds an Ogg Opus file from an OpusHead and packets, one packet per page. */
export function muxOggOpus(opusHead: Uint8Array, packets: readonly Uint8Array[]): Uint8Array {
  const serial = 0x41494d41;
  const pages: Buffer[] = [];
  const page = (packet: Uint8Array, granule: bigint, flags: number) => {
    const lacing: number[] = [];
    let n = packet.length;
    while (n >= 255) {
      lacing.push(255);
      n -= 255;
    }
    lacing.push(n);
    const h = Buffer.alloc(27 + lacing.length);
    h.write('OggS', 0, 'ascii');
    h[5] = flags;
    h.writeBigUInt64LE(granule, 6);
    h.writeUInt32LE(serial, 14);
    h.writeUInt32LE(pages.length, 18);
    h[26] = lacing.length;
    Buffer.from(lacing).copy(h, 27);
    const full = Buffer.concat([h, packet]);
    full.writeUInt32LE(oggCrc(full), 22);
    pages.push(full);
  };
  const vendor = Buffer.from('aima-test');
  const tags = Buffer.alloc(8 + 4 + vendor.length + 4);
  tags.write('OpusTags', 0, 'ascii');
  tags.writeUInt32LE(vendor.length, 8);
  vendor.copy(tags, 12);
  page(opusHead, 0n, 0x02);
  page(tags, 0n, 0);
  let granule = 0n;
  for (const [i, p] of packets.entries()) {
    granule += BigInt(opusPacketSamples(p));
    page(p, granule, i === packets.length - 1 ? 0x04 : 0);
  }
  return Buffer.concat(pages);
}
