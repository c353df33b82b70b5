/**
 * The page's side of the `/api/voice` protocol (src/shared/contract/voice-socket.ts), without
 * I/O: it parses every core message against the contract, answers the core's clock probes, gates
 * microphone frames (push-to-talk), pairs each `audio` header with the binary chunk that follows
 * and hands chunks to playback in `seq` order, drops the chunks of a turn the core stopped
 * (`audio.stop`, barge-in), and keeps one record per turn for the page (what was heard, the reply
 * as it streams, interrupted, the timeline). The socket/port, the microphone and Web Audio are
 * plugged in through `VoiceClientSink`, so this is unit-tested.
 */
import { assertNever } from '../../../../shared/assert-never.js';
import type { VoiceChain, VoiceTimeline } from '../../../../shared/contract/voice.js';
import {
  audioFrameBytes,
  describeVoiceIssues,
  parseVoiceMessage,
  VOICE_INPUT_SAMPLE_RATE,
  VoiceCoreMessage,
  type VoiceAudioMessage,
  type VoiceClientMessage,
} from '../../../../shared/contract/voice-socket.js';
import type { VoiceTurnState } from '../../../../shared/voice-turn-state.js';

export interface TurnView {
  id: string;
  user: string;
  assistant: string;
  /** The `turn` record arrived: nothing more will change. */
  done: boolean;
  interrupted: boolean;
  error: string | null;
  timeline: Partial<VoiceTimeline> | null;
  /** The core stopped its playback (barge-in, cancel, a new turn). */
  audioStopped: boolean;
  /** Barge-in: onset detected → the turn's work stopped, ms. */
  stopMs: number | null;
  /** Playback of all its audio finished. */
  playbackEnded: boolean;
}

export interface VoiceClientSink {
  send(data: string | ArrayBuffer): void;
  /** performance.now() of this page. */
  now(): number;
  /** Play a chunk of s16le PCM; called in `seq` order per turn. */
  play(turnId: string, sampleRate: number, pcm: ArrayBuffer): void;
  /** No more audio for the turn. */
  audioEnd(turnId: string): void;
  /** Stop the turn's playback now and forget its queued chunks. */
  stopPlayback(turnId: string): void;
  /** Something the page shows changed. */
  changed(): void;
}

export interface StartOptions {
  conversationId?: string;
  chain?: { voice?: string | null };
}

type Phase = 'syncing' | 'ready' | 'closed';

export class VoiceClient {
  phase: Phase = 'syncing';
  coreState: VoiceTurnState = 'listening';
  conversationId: string | null = null;
  chain: VoiceChain | null = null;
  turns: TurnView[] = [];
  /** The last `error` message from the core. */
  error: string | null = null;
  /** Whether microphone frames go out: hands-free, or push-to-talk with the button held. */
  transmitting = false;
  framesSent = 0;
  audioStops = 0;
  /** Speculative turns discarded since the last turn began (the page shows them as a faint mark). */
  speculationsDiscarded = 0;

  private header: VoiceAudioMessage | null = null;
  /** Per turn: the next seq to play and chunks that came early (null: a chunk skipped). */
  private readonly order = new Map<string, { next: number; held: Map<number, { sampleRate: number; pcm: ArrayBuffer } | null> }>();
  private readonly stopped = new Set<string>();

  constructor(private readonly sink: VoiceClientSink) {}

  /** The first message: 16 kHz s16le, and this page plays and reports playback. */
  start(opts: StartOptions = {}): void {
    const chain = opts.chain?.voice ? { voice: opts.chain.voice } : undefined;
    this.send({ type: 'start', format: 's16le', sampleRate: VOICE_INPUT_SAMPLE_RATE, playback: true, ...(opts.conversationId ? { conversationId: opts.conversationId } : {}), ...(chain ? { chain } : {}) });
  }

  /** A 20 ms microphone frame; sent only when ready and transmitting. Returns whether it went out. */
  sendFrame(pcm: ArrayBuffer): boolean {
    if (this.phase !== 'ready' || !this.transmitting) return false;
    this.sink.send(pcm);
    this.framesSent++;
    return true;
  }

  /** End of input (push-to-talk released): the core ends the open utterance now. */
  endInput(): void {
    if (this.phase === 'ready') this.send({ type: 'end' });
  }

  /** Stop button: cut the turn in flight, and stop playing at once (the core's audio.stop follows). */
  cancel(): void {
    if (this.phase !== 'ready') return;
    this.send({ type: 'cancel' });
    for (const t of this.turns) if (!t.done || !t.playbackEnded) this.stopTurn(t.id);
  }

  /** Playback started/ended for a turn, at this page's performance.now() time. */
  reportPlayback(turnId: string, event: 'start' | 'end', clientTime: number): void {
    if (this.phase === 'ready') this.send({ type: 'playback', turnId, event, clientTime });
    if (event === 'end') {
      this.patch(turnId, { playbackEnded: true });
      this.sink.changed();
    }
  }

  closed(reason: string | null): void {
    this.phase = 'closed';
    if (reason) this.error = reason;
    this.sink.changed();
  }

  receive(data: string | ArrayBuffer): void {
    if (typeof data !== 'string') return this.receiveAudio(data);
    const parsed = parseVoiceMessage(VoiceCoreMessage, data);
    if (!parsed.ok) {
      // A core of another version, or a bug: say so, and go on with the messages that fit.
      this.error = `The core sent a voice message this page does not understand (${parsed.type ?? 'no type'}): ${describeVoiceIssues(parsed.issues)}`;
      this.sink.changed();
      return;
    }
    const m = parsed.message;
    switch (m.type) {
      case 'sync':
        this.send({ type: 'sync', coreTime: m.coreTime, clientTime: this.sink.now() });
        return;
      case 'ready':
        this.phase = 'ready';
        this.conversationId = m.conversationId;
        this.chain = m.chain;
        break;
      case 'state':
        this.coreState = m.state;
        if (m.state === 'transcribing') this.speculationsDiscarded = 0;
        break;
      case 'transcript':
        this.patch(m.turnId, { user: m.text });
        break;
      case 'reply':
        this.patch(m.turnId, (t) => ({ assistant: t.assistant + m.delta }));
        break;
      case 'sentence':
      case 'idle':
        return;
      case 'audio':
        this.header = m;
        return;
      case 'audio.end':
        if (!this.stopped.has(m.turnId)) this.sink.audioEnd(m.turnId);
        return;
      case 'audio.stop':
        this.audioStops++;
        this.stopTurn(m.turnId);
        break;
      case 'barge-in':
        this.patch(m.turnId, { interrupted: true, stopMs: m.stopMs });
        break;
      case 'speculation.discarded':
        this.speculationsDiscarded++;
        break;
      case 'turn':
        this.order.delete(m.turnId);
        // An utterance that held no words and got no reply is not a turn worth showing.
        if (!m.transcript && !m.reply && !m.error) {
          this.turns = this.turns.filter((t) => t.id !== m.turnId);
          break;
        }
        this.patch(m.turnId, { user: m.transcript, assistant: m.reply, interrupted: m.interrupted, error: m.error, timeline: m.timeline, done: true });
        break;
      case 'error':
        this.error = m.message;
        break;
      default:
        return assertNever(m, 'voice core message');
    }
    this.sink.changed();
  }

  private send(m: VoiceClientMessage): void {
    this.sink.send(JSON.stringify(m));
  }

  private receiveAudio(pcm: ArrayBuffer): void {
    const h = this.header;
    this.header = null;
    if (!h || this.stopped.has(h.turnId)) return;
    // A chunk whose size is not what its header announced is skipped (its place in the order kept,
    // so the chunks after it still play).
    const whole = pcm.byteLength === audioFrameBytes(h);
    if (!whole) {
      this.error = `The core announced ${h.samples} samples of audio and sent ${pcm.byteLength} bytes; the chunk was skipped.`;
      this.sink.changed();
    }
    let o = this.order.get(h.turnId);
    if (!o) {
      o = { next: 0, held: new Map() };
      this.order.set(h.turnId, o);
    }
    o.held.set(h.seq, whole ? { sampleRate: h.sampleRate, pcm } : null);
    for (let c = o.held.get(o.next); c !== undefined; c = o.held.get(o.next)) {
      o.held.delete(o.next);
      o.next++;
      if (c) this.sink.play(h.turnId, c.sampleRate, c.pcm);
    }
  }

  private stopTurn(turnId: string): void {
    this.stopped.add(turnId);
    this.order.delete(turnId);
    this.sink.stopPlayback(turnId);
    if (this.turns.some((t) => t.id === turnId)) this.patch(turnId, { audioStopped: true });
  }

  /** Updates (or creates) a turn's record; a new object, so the page sees the change. */
  private patch(turnId: string, change: Partial<TurnView> | ((t: TurnView) => Partial<TurnView>)): void {
    let found = false;
    this.turns = this.turns.map((t) => {
      if (t.id !== turnId) return t;
      found = true;
      return { ...t, ...(typeof change === 'function' ? change(t) : change) };
    });
    if (!found) {
      const t = newTurn(turnId);
      this.turns = [...this.turns, { ...t, ...(typeof change === 'function' ? change(t) : change) }];
    }
  }
}

function newTurn(id: string): TurnView {
  return { id, user: '', assistant: '', done: false, interrupted: false, error: null, timeline: null, audioStopped: false, stopMs: null, playbackEnded: false };
}
