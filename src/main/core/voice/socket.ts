/**
 * The `/api/voice` WebSocket: one live voice session per connection (protocol in docs/voice.md).
 * Client → core: a JSON `start`, answers to the clock `sync` probes, then binary PCM frames
 * (16 kHz mono, s16le or f32le) and JSON control (`playback`, `end`, `cancel`). Core → client:
 * JSON events (`ready`, `state`, `transcript`, `reply`, `sentence`, `audio`, `audio.end`,
 * `audio.stop`, `barge-in`, `turn`, `error`); each `audio` event is followed by exactly one binary
 * message holding its 16-bit PCM.
 */
import type { WebSocket, RawData } from 'ws';
import { z } from 'zod';
import type { VoiceTimeline } from '../../../shared/contract/voice.js';
import type { ChatMessage, GatewayTarget } from './gateway-client.js';
import { VoiceSession, type VoiceChain } from './session.js';

export const VoiceStartMessage = z
  .object({
    type: z.literal('start'),
    /** Resume this conversation (its models, prompt and history); omitted: a new one. */
    conversationId: z.string().optional(),
    /** false: do not store the turns (benchmarks). Default true. */
    persist: z.boolean().optional(),
    format: z.enum(['s16le', 'f32le']).default('s16le'),
    sampleRate: z.literal(16000).default(16000),
    /** The client plays the audio and sends playback reports (a browser); false for files (the CLI). */
    playback: z.boolean().default(false),
    /** Overrides of the chain for this session. */
    chain: z
      .object({
        asr: z.string().min(1),
        llm: z.string().min(1),
        tts: z.string().min(1),
        voice: z.string().nullable(),
        systemPrompt: z.string(),
        silenceMs: z.number().int().min(100).max(5000),
        maxTokens: z.number().int().min(1).max(8192),
      })
      .partial()
      .optional(),
    llm: z.object({ temperature: z.number().min(0).max(2).optional(), seed: z.number().int().optional() }).optional(),
    echo: z.boolean().default(true),
  })
  .strict();
export type VoiceStartMessage = z.input<typeof VoiceStartMessage>;

const ControlMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('sync'), coreTime: z.number(), clientTime: z.number() }),
  z.object({ type: z.literal('playback'), turnId: z.string(), event: z.enum(['start', 'end']), clientTime: z.number() }),
  z.object({ type: z.literal('end') }),
  z.object({ type: z.literal('cancel') }),
]);

export interface VoiceSocketDeps {
  vadModelPath: string;
  gateway: GatewayTarget;
  /** The chain, history and storage for a session; throws an AimaError-like message when incomplete. */
  open(start: z.output<typeof VoiceStartMessage>): {
    conversationId: string | null;
    chain: VoiceChain;
    history: ChatMessage[];
    save?: (t: { user: string; assistant: string; interrupted: boolean; timeline: VoiceTimeline }) => string | null;
  };
  clock?: () => number;
}

const SYNC_ROUNDS = 3;

/** Serves one connection. */
export function serveVoiceSocket(ws: WebSocket, deps: VoiceSocketDeps): void {
  const clock = deps.clock ?? (() => performance.now());
  const send = (msg: Record<string, unknown>) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg));
  };
  let session: VoiceSession | null = null;
  let start: z.output<typeof VoiceStartMessage> | null = null;
  let opened: ReturnType<VoiceSocketDeps['open']> | null = null;
  /** core time = client time − offset. */
  let offset = 0;
  let bestRtt = Infinity;
  let syncs = 0;
  const fail = (message: string) => {
    send({ type: 'error', message });
    ws.close(1008, message.slice(0, 120));
  };

  const begin = () => {
    const s = start!;
    const o = opened!;
    session = new VoiceSession({
      vadModelPath: deps.vadModelPath,
      gateway: deps.gateway,
      chain: o.chain,
      history: o.history,
      playback: s.playback,
      echo: s.echo ? {} : false,
      llm: s.llm,
      clock,
    });
    session.on('state', (e) => send({ type: 'state', ...e }));
    session.on('transcript', (e) => send({ type: 'transcript', ...e }));
    session.on('reply', (e) => send({ type: 'reply', ...e }));
    session.on('sentence', (e) => send({ type: 'sentence', ...e }));
    session.on('audio', (e) => {
      if (ws.readyState !== ws.OPEN) return;
      send({ type: 'audio', turnId: e.turnId, seq: e.seq, sampleRate: e.sampleRate, format: 's16le', samples: e.pcm.length });
      ws.send(Buffer.from(e.pcm.buffer, e.pcm.byteOffset, e.pcm.byteLength));
    });
    session.on('audioEnd', (e) => send({ type: 'audio.end', ...e }));
    session.on('audioStop', (e) => send({ type: 'audio.stop', ...e }));
    session.on('bargeIn', (e) => send({ type: 'barge-in', ...e }));
    session.on('turn', (t) => {
      let storedId: string | null = null;
      try {
        if (t.transcript && o.save) storedId = o.save({ user: t.transcript, assistant: t.reply, interrupted: t.interrupted, timeline: t.timeline });
      } catch (err) {
        // E.g. the conversation was deleted mid-turn: the turn still reaches the client.
        send({ type: 'error', message: `The turn could not be stored: ${(err as Error).message}. The conversation goes on unsaved; start a new one to keep it.` });
      }
      send({ type: 'turn', ...t, storedTurnId: storedId });
    });
    session.on('internalError', (e) => send({ type: 'error', message: `Voice session error: ${e.message}` }));
    send({ type: 'ready', conversationId: o.conversationId, chain: o.chain, clockOffsetMs: offset, rttMs: bestRtt, coreTime: clock() });
  };

  const sync = () => send({ type: 'sync', coreTime: clock() });

  ws.on('message', (data: RawData, isBinary: boolean) => {
    const at = clock();
    if (isBinary) {
      if (!session) return fail('Send {"type":"start"} and answer the sync messages before audio.');
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      if (start!.format === 'f32le') session.feedFloat32(buf, at);
      else session.feedPcm16(buf, at);
      return;
    }
    let msg: unknown;
    try {
      msg = JSON.parse(String(data));
    } catch {
      return fail('Control messages are JSON objects.');
    }
    if (!start) {
      const parsed = VoiceStartMessage.safeParse(msg);
      if (!parsed.success) return fail(`The first message must be {"type":"start", ...}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
      start = parsed.data;
      try {
        opened = deps.open(start);
      } catch (err) {
        return fail((err as Error).message);
      }
      return sync();
    }
    const parsed = ControlMessage.safeParse(msg);
    if (!parsed.success) return send({ type: 'error', message: `Unknown control message: ${String(data).slice(0, 200)}` });
    const m = parsed.data;
    switch (m.type) {
      case 'sync': {
        // NTP-style: the client's clock read half-way through the round trip.
        const rtt = at - m.coreTime;
        if (rtt < bestRtt) {
          bestRtt = rtt;
          offset = m.clientTime - (m.coreTime + at) / 2;
        }
        if (++syncs < SYNC_ROUNDS) sync();
        else if (!session) begin();
        return;
      }
      case 'playback':
        if (!session) return;
        if (m.event === 'start') session.playbackStarted(m.turnId, m.clientTime - offset);
        else session.playbackEnded(m.turnId);
        return;
      case 'end':
        session?.endOfInput();
        void session?.idle().then(() => send({ type: 'idle' }), () => undefined);
        return;
      case 'cancel':
        void session?.cancel().catch(() => undefined);
        return;
    }
  });
  ws.on('close', () => void session?.close().catch(() => undefined));
  ws.on('error', () => ws.terminate());
}
