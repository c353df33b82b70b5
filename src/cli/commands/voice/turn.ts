/**
 * `aima voice --in question.wav --out answer.wav [--json] [--conversation ID]`: one voice turn
 * through the configured ASR → LLM → TTS chain, over the same `/api/voice` session a browser uses.
 * The WAV is streamed as a microphone would (20 ms frames in real time, then silence until the
 * core hears the end of the turn; --fast sends it at once), and the answer's audio is written as
 * it arrives.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type WebSocket from 'ws';
import type { VoiceTimeline } from '../../../shared/contract/voice.js';
import type { VoiceAudioMessage, VoiceClientMessage } from '../../../shared/contract/voice-socket.js';
import { VOICE_INPUT_SAMPLE_RATE } from '../../../shared/contract/enums.js';
import { AimaError } from '../../../shared/errors.js';
import { action, cliContext, connect, output } from '../../context.js';
import { ensureRunning } from './services.js';

interface Opts {
  in?: string;
  out?: string;
  json?: boolean;
  conversation?: string;
  fast?: boolean;
  temperature?: string;
  seed?: string;
}

export interface VoiceTurnOutput {
  conversationId: string | null;
  transcript: string;
  reply: string;
  /** ms on the core's clock; `relative`: ms after the end of speech. */
  timeline: VoiceTimeline & { relative: Record<string, number | null> };
  audioSeconds: number;
  sampleRate: number;
  out: string | null;
}

const RATE = VOICE_INPUT_SAMPLE_RATE;
const FRAME = 320;

function toPcm16(f: Float32Array): Buffer {
  const b = Buffer.alloc(f.length * 2);
  for (let i = 0; i < f.length; i++) b.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(f[i]! * 32767))), i * 2);
  return b;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function runTurn(opts: Opts): Promise<void> {
  if (!opts.in) throw new AimaError('bad-request', 'Give the question with --in FILE.wav.', 'e.g. `aima voice --in question.wav --out answer.wav`, or `aima voice setup` first.');
  // Loaded here, not with the CLI: only a voice turn needs them.
  const [{ default: WebSocketClass }, { audioFrameBytes, describeVoiceIssues, parseVoiceMessage, VoiceCoreMessage }, { voiceTimelineNonTimes }, { readWav, wavHeader }, { resample, toMono }] = await Promise.all([
    import('ws'),
    import('../../../shared/contract/voice-socket.js'),
    import('../../../shared/contract/voice.js'),
    import('../../../lib/audio/wav.js'),
    import('../../../lib/audio/resample.js'),
  ]);
  let audio: Float32Array;
  try {
    const wav = readWav(readFileSync(opts.in));
    audio = resample(toMono(wav.channels), wav.sampleRate, RATE);
  } catch (err) {
    throw new AimaError('bad-request', `Cannot read ${opts.in}: ${(err as Error).message}`, 'Give a WAV file (any rate, mono or stereo).');
  }
  const conn = await connect(cliContext());
  try {
    const conv = opts.conversation ? await conn.api['voice.conversations.get']({ id: opts.conversation }) : null;
    const cfg = await conn.api['voice.config.get']({});
    const models = [conv?.asr ?? cfg.asr, conv?.llm ?? cfg.llm, conv?.tts ?? cfg.tts];
    if (models.some((m) => !m)) throw new AimaError('bad-request', 'The voice chain is not set up.', 'Run `aima voice setup` first.');
    await ensureRunning(conn, models as string[]);

    const ws = new WebSocketClass(`${conn.info.url.replace(/^http/, 'ws')}/api/voice`, { headers: { authorization: `Bearer ${conn.token}` } });
    const pcm: Buffer[] = [];
    let sampleRate = 0;
    let heard = false;
    let conversationId: string | null = null;
    const send = (m: VoiceClientMessage) => ws.send(JSON.stringify(m));
    const result = await new Promise<VoiceTurnOutput>((resolve, reject) => {
      let header: VoiceAudioMessage | null = null;
      ws.on('error', reject);
      ws.on('close', (code, reason) => reject(new AimaError('unavailable', `The voice session closed (${code}${reason.length ? `: ${reason}` : ''}).`, 'See the core log.')));
      ws.on('open', () => {
        const seed = opts.seed !== undefined ? Number(opts.seed) : undefined;
        const temperature = opts.temperature !== undefined ? Number(opts.temperature) : undefined;
        send({ type: 'start', conversationId: opts.conversation, format: 's16le', playback: false, ...(seed !== undefined || temperature !== undefined ? { llm: { seed, temperature } } : {}) });
      });
      ws.on('message', (data, isBinary) => {
        if (isBinary) {
          const chunk = Buffer.from(data as Buffer);
          if (header && chunk.byteLength !== audioFrameBytes(header)) {
            reject(new AimaError('unavailable', `The core announced ${header.samples} samples of audio and sent ${chunk.byteLength} bytes.`, 'Use the same aima version for the CLI and the core.'));
          } else if (header) pcm.push(chunk);
          header = null;
          return;
        }
        const parsed = parseVoiceMessage(VoiceCoreMessage, String(data));
        if (!parsed.ok) {
          return reject(new AimaError('unavailable', `The core sent a voice message this CLI does not understand (${parsed.type ?? 'no type'}): ${describeVoiceIssues(parsed.issues)}`, 'Use the same aima version for the CLI and the core.'));
        }
        const m = parsed.message;
        switch (m.type) {
          case 'sync':
            send({ type: 'sync', coreTime: m.coreTime, clientTime: performance.now() });
            break;
          case 'ready':
            conversationId = m.conversationId;
            process.stderr.write(`Listening (chain: ${JSON.stringify(m.chain.asr)} → ${JSON.stringify(m.chain.llm)} → ${JSON.stringify(m.chain.tts)})…\n`);
            void stream(ws, audio, !!opts.fast, () => heard).catch(reject);
            break;
          case 'state':
            if (m.state === 'transcribing') heard = true;
            if (m.state !== 'listening') process.stderr.write(`${m.state}…\n`);
            break;
          case 'transcript':
            process.stderr.write(`Heard: ${m.text}\n`);
            break;
          case 'audio':
            sampleRate = m.sampleRate;
            header = m;
            break;
          case 'error':
            reject(new AimaError('unavailable', m.message, 'Check the chain with `aima voice setup` and the services with `aima service list`.'));
            break;
          case 'turn': {
            if (m.error) return reject(new AimaError('unavailable', `The voice turn failed: ${m.error}`, 'See `aima service logs` for the failing service.'));
            const tl = m.timeline;
            const relative: Record<string, number | null> = {};
            for (const [k, v] of Object.entries(tl)) {
              if ((voiceTimelineNonTimes as readonly string[]).includes(k)) continue;
              relative[k] = typeof v === 'number' && tl.speechEnd !== null ? Math.round((v - tl.speechEnd) * 10) / 10 : null;
            }
            resolve({
              conversationId: null,
              transcript: m.transcript,
              reply: m.reply,
              timeline: { ...tl, relative },
              audioSeconds: m.audioSeconds,
              sampleRate,
              out: opts.out ?? null,
            });
            break;
          }
          default:
            // The rest (the reply as it streams, sentences, audio.end, ...) a file does not need.
            break;
        }
      });
    }).finally(() => {
      ws.removeAllListeners('close');
      ws.close();
    });
    if (!result.transcript) throw new AimaError('bad-request', `No speech recognised in ${opts.in}.`, 'Speak louder or closer, or check the ASR model.');
    if (opts.out) {
      // The 16-bit samples exactly as the core sent them.
      const all = Buffer.concat(pcm);
      writeFileSync(opts.out, Buffer.concat([wavHeader(sampleRate || RATE, 1, all.length), all]));
    }
    result.conversationId = conversationId;
    output(opts.json, result, (r) => {
      const v2v = r.timeline.voiceToVoiceMs;
      return [
        `You:  ${r.transcript}`,
        `AIMA: ${r.reply}`,
        `Voice-to-voice ${v2v === null ? '-' : `${v2v.toFixed(0)} ms`} (of which the silence window ${r.timeline.silenceWindowMs} ms); ${r.audioSeconds.toFixed(1)} s of audio${r.out ? ` in ${r.out}` : ''}.`,
      ].join('\n');
    });
  } finally {
    conn.close();
  }
}

/** Sends the audio as a microphone would, then silence until the turn starts (or `end` when fast). */
async function stream(ws: WebSocket, audio: Float32Array, fast: boolean, heard: () => boolean): Promise<void> {
  if (fast) {
    ws.send(toPcm16(audio));
    ws.send(JSON.stringify({ type: 'end' } satisfies VoiceClientMessage));
    return;
  }
  const t0 = performance.now();
  let sent = 0;
  const silence = toPcm16(new Float32Array(FRAME));
  const maxSilence = 5 * RATE;
  while (ws.readyState === ws.OPEN && !heard()) {
    const frame = sent < audio.length ? toPcm16(audio.subarray(sent, sent + FRAME)) : silence;
    ws.send(frame);
    sent += FRAME;
    if (sent > audio.length + maxSilence) {
      ws.send(JSON.stringify({ type: 'end' } satisfies VoiceClientMessage));
      return;
    }
    const due = t0 + (sent / RATE) * 1000 - performance.now();
    if (due > 0) await sleep(due);
  }
}

export function registerTurn(voice: Command): void {
  voice
    .option('--in <wav>', 'what you say: a WAV file (required)')
    .option('--out <wav>', 'where to write the spoken answer')
    .option('--json', 'print transcript, reply and timeline as JSON')
    .option('--conversation <id>', 'continue this conversation (see voice.conversations.list)')
    .option('--fast', 'send the audio at once instead of in real time (the turn then ends at the end of the file)')
    .option('--temperature <t>', 'LLM temperature for this turn')
    .option('--seed <n>', 'LLM seed for this turn')
    .action(action(async (opts: Opts) => runTurn(opts)));
}
