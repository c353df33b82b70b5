/**
 * Voice tests: an `aima serve` with the embedded voice chain (Whisper on aima-asr, stories260K on
 * aima-llm, flite on aima-tts) set up by `aima voice setup` and running, plus flite-spoken audio.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { runAima, startServe, tempHome, type ServeHandle } from './cli.js';
import { sharedModel } from './system.js';
import { fliteWav, haveFlite, haveSilero, haveWhisper, whisperModel } from './speech.js';
import { readWav } from '../../src/lib/audio/wav.js';
import { resample, toMono } from '../../src/lib/audio/resample.js';

export const storiesModel = sharedModel('stories260K/stories260K.gguf');
export const haveVoiceChain = existsSync(storiesModel) && haveWhisper && haveSilero && haveFlite;

export interface VoiceServe {
  serve: ServeHandle;
  home: string;
  chain: { asr: string; llm: string; tts: string };
}

/** A running service's worker's own address (its /health has request counters). */
export async function workerUrl(serve: ServeHandle, service: string): Promise<string> {
  const res = await fetch(`${serve.url}/api/call/services.list`, {
    method: 'POST',
    headers: { authorization: `Bearer ${serve.token}`, 'content-type': 'application/json' },
    body: '{}',
  });
  const s = ((await res.json()) as { result: { name: string; url: string | null }[] }).result.find((x) => x.name === service);
  if (!s?.url) throw new Error(`${service} is not running`);
  return s.url;
}

/** A running service's worker's /health body. */
export async function workerHealth<T>(serve: ServeHandle, service: string): Promise<T> {
  return (await (await fetch(`${await workerUrl(serve, service)}/health`)).json()) as T;
}

/** Starts `aima serve`, sets up the voice chain (with more `voice setup` flags, if any) and starts its three services. */
export async function startVoiceServe(prefix = 'aima-voice-', setupFlags: string[] = []): Promise<VoiceServe> {
  const home = tempHome(prefix);
  const serve = await startServe({ AIMA_HOME: home });
  const aima = (...args: string[]) => runAima(args, { AIMA_HOME: home }, 180_000);
  const setup = await aima('voice', 'setup', '--asr-model', whisperModel, '--llm-model', storiesModel, ...setupFlags, '--json');
  if (setup.code !== 0) throw new Error(setup.stderr);
  const chain = JSON.parse(setup.stdout) as VoiceServe['chain'];
  for (const s of ['voice-asr', 'voice-llm', 'voice-tts']) {
    const r = await aima('service', 'start', s, '--wait', '--timeout', '170');
    if (r.code !== 0) throw new Error(r.stderr);
  }
  return { serve, home, chain };
}

/** `text` spoken by flite, as 16 kHz mono float. */
export function spoken16k(text: string, dir: string, voice = 'slt'): Float32Array {
  const file = fliteWav(text, path.join(dir, `${text.replace(/\W+/g, '-').slice(0, 40)}-${voice}.wav`), voice);
  const w = readWav(readFileSync(file));
  return resample(toMono(w.channels), w.sampleRate, 16_000);
}

/** `text` spoken by flite, as 16 kHz mono s16le PCM (what a microphone client streams). */
export function spokenPcm16(text: string, dir: string, voice = 'slt'): Buffer {
  const audio = spoken16k(text, dir, voice);
  const pcm = Buffer.alloc(audio.length * 2);
  for (let i = 0; i < audio.length; i++) pcm.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(audio[i]! * 32767))), i * 2);
  return pcm;
}
