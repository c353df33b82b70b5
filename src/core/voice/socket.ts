/**
 * The core's end of the `/api/voice` WebSocket: one live voice session per connection. The
 * messages both ways are the schemas of src/shared/contract/voice-socket.ts: what the client sends
 * is validated against them, what the session emits goes out typed by them. A client message that
 * does not fit is answered with an `error` naming its fields and the session goes on; a bad
 * `start`, or audio before the session is ready, ends it.
 */
import type { WebSocket, RawData } from 'ws';
import type { VoiceChain, VoiceTimeline } from '../../shared/contract/voice.js';
import {
  describeVoiceIssues,
  micFrameIssue,
  parseVoiceMessage,
  VoiceClientMessage,
  VoiceStartMessage,
  type VoiceCoreMessage,
  type VoiceIssue,
  type VoiceStartOptions,
} from '../../shared/contract/voice-socket.js';
import type { ChatMessage, GatewayTarget } from './gateway-client.js';
import { assertNever } from '../../shared/assert-never.js';
import { VoiceSession, type SpeculationOptions } from './session.js';
import { TurnAudioCollector, type TurnAudio } from './recording/turn-audio.js';

export interface VoiceSocketDeps {
  vadModelPath: string;
  gateway: GatewayTarget;
  speculation: SpeculationOptions | false;
  /** The chain, history and storage for a session; throws an AimaError-like message when incomplete. */
  open(start: VoiceStartOptions): {
    conversationId: string | null;
    chain: VoiceChain;
    history: ChatMessage[];
    save?: (t: { user: string; assistant: string; interrupted: boolean; timeline: VoiceTimeline }, audio: TurnAudio | null) => string | null;
    /** Collect each turn's audio for `save` (recording is on). */
    record?: boolean;
  };
  clock?: () => number;
}

const SYNC_ROUNDS = 3;

/** Serves one connection. */
export function serveVoiceSocket(ws: WebSocket, deps: VoiceSocketDeps): void {
  const clock = deps.clock ?? (() => performance.now());
  const send = (msg: VoiceCoreMessage) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg));
  };
  let session: VoiceSession | null = null;
  let start: VoiceStartOptions | null = null;
  let opened: ReturnType<VoiceSocketDeps['open']> | null = null;
  /** core time = client time − offset. */
  let offset = 0;
  let bestRtt = Infinity;
  let syncs = 0;
  const fail = (message: string, issues?: VoiceIssue[]) => {
    send({ type: 'error', message, ...(issues ? { issues } : {}) });
    ws.close(1008, message.slice(0, 120));
  };
  /** A message that does not fit the protocol: the client is told which fields, the session goes on. */
  const reject = (what: string, issues: VoiceIssue[]) => send({ type: 'error', message: `${what}: ${describeVoiceIssues(issues)}`, issues });

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
      speculation: deps.speculation,
      clock,
    });
    const recorder = o.record && o.save ? new TurnAudioCollector() : null;
    if (recorder) {
      session.on('utterance', (e) => recorder.utterance(e.turnId, e.sampleRate, e.pcm));
      session.on('audio', (e) => recorder.replyChunk(e.turnId, e.sampleRate, e.pcm));
    }
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
    session.on('speculationDiscarded', (e) => send({ type: 'speculation.discarded', ...e }));
    session.on('turn', (t) => {
      let storedId: string | null = null;
      const audio = recorder?.take(t.turnId) ?? null;
      try {
        if (t.transcript && o.save) storedId = o.save({ user: t.transcript, assistant: t.reply, interrupted: t.interrupted, timeline: t.timeline }, audio);
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
      const issue = micFrameIssue(start!.format, buf.byteLength);
      if (issue) return reject('Microphone audio was dropped', [issue]);
      if (start!.format === 'f32le') session.feedFloat32(buf, at);
      else session.feedPcm16(buf, at);
      return;
    }
    const text = String(data);
    if (!start) {
      const parsed = parseVoiceMessage(VoiceStartMessage, text);
      if (!parsed.ok) return fail(`The first message must be {"type":"start", ...}: ${describeVoiceIssues(parsed.issues)}`, parsed.issues);
      start = parsed.message;
      try {
        opened = deps.open(start);
      } catch (err) {
        return fail((err as Error).message);
      }
      return sync();
    }
    const parsed = parseVoiceMessage(VoiceClientMessage, text);
    if (!parsed.ok) return reject(`Ignored ${parsed.type === null ? 'a message' : `a ${JSON.stringify(parsed.type.slice(0, 40))} message`}`, parsed.issues);
    const m = parsed.message;
    switch (m.type) {
      case 'start':
        return reject('Ignored a second start', [{ path: ['type'], message: 'The session has started already; open a new connection for another one.' }]);
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
      default:
        return assertNever(m, 'voice client message');
    }
  });
  ws.on('close', () => void session?.close().catch(() => undefined));
  ws.on('error', () => ws.terminate());
}
