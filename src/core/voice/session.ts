/**
 * One live voice conversation: the streaming ASR → LLM → TTS turn engine.
 *
 * Microphone audio (16 kHz mono) goes through the echo guard into the Silero VAD. When the VAD
 * ends a segment (its silence window passed), the turn starts: the padded segment is transcribed
 * through the gateway, the reply is streamed from the LLM through the gateway and cut into
 * sentences as it arrives (the first one early, at a comma), each sentence is synthesised through
 * the gateway as soon as it is complete and its PCM is sent out at once, in order. New speech
 * while a turn's work is in flight is a barge-in: the turn's AbortController aborts every
 * upstream request (the gateway passes the disconnect on), the client is told to stop playback,
 * and the new utterance becomes the next turn.
 *
 * With speculation (docs/voice.md), the VAD's segments end at the early mark instead and join into
 * the pending utterance; a frame reader counts the silence after it. At the early mark a turn starts
 * on the audio so far with its output held (speculation.ts); at the window (adapted to that turn's
 * transcript, end-of-turn.ts) it is kept and released, and speech first discards it unseen.
 *
 * Every timestamp is on one clock, the core's `performance.now()`; the client's playback reports
 * are converted by the socket layer with the offset it measured at session start.
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { emptyVoiceTimeline, type VoiceChain, type VoiceTimeline } from '../../shared/contract/voice.js';
import { isBusy, nextVoiceTurnState, type VoiceTurnEvent, type VoiceTurnState } from '../../shared/voice-turn-state.js';
import { resample } from '../../lib/audio/resample.js';
import { pcm16ToFloat } from '../../lib/audio/wav.js';
import { EchoGuard, type EchoGuardOptions } from './echo-guard.js';
import { adaptiveWindow, turnEndAction, type WindowRule } from './end-of-turn.js';
import { HeldOutput } from './speculation.js';
import { SpeechFrameReader } from './speech-frames.js';
import { chatStream, speechStream, transcribe, type ChatMessage, type ChatStreamEnd, type GatewayTarget } from './gateway-client.js';
import type { ChatToolCallDelta } from '../gateway/translate/chat.js';
import { SentenceSegmenter, type SegmenterOptions } from './segmenter.js';
import { VAD_SAMPLE_RATE, VoiceActivityDetector, type SpeechSegment } from './vad.js';

export interface VoiceSessionOptions {
  vadModelPath: string;
  gateway: GatewayTarget;
  chain: VoiceChain;
  /** Earlier turns of the conversation, oldest first. */
  history?: ChatMessage[];
  /** Whether the client plays the audio and reports playback (false: the turn ends once all audio is sent). */
  playback?: boolean;
  /** Echo guard settings; false turns it off. */
  echo?: EchoGuardOptions | false;
  /** LLM sampling (tests and the benchmark fix them for repeatable replies). */
  llm?: { temperature?: number; seed?: number };
  segmenter?: SegmenterOptions;
  /** VAD speech threshold (default 0.5). */
  vadThreshold?: number;
  /** Audio kept before the detected onset for ASR, ms (the VAD's default when unset). */
  prefixPaddingMs?: number;
  /** Speculative turns and the adaptive end of turn; false or absent: the VAD's window ends each turn. */
  speculation?: SpeculationOptions | false;
  clock?: () => number;
}

/** The settings of speculative turns (the base window is the chain's `silenceMs`, or a Realtime client's). */
export interface SpeculationOptions {
  /** Silence after which the turn starts on the audio so far, held, ms. */
  earlyMarkMs: number;
  /** The window after a complete sentence or question, ms. */
  minWindowMs: number;
  /** The window after a hesitation, ms. */
  maxWindowMs: number;
}

/** A speculative turn that ended unseen (speech came again, or the committed audio differed). */
export interface DiscardedSpeculation {
  startedAt: number;
  discardedAt: number;
  /** The audio it ran on, ms. */
  audioMs: number;
}

export interface BargeIn {
  /** The turn that was cut. */
  turnId: string;
  /** When the new speech's onset was detected. */
  detectedAt: number;
  /** When every request of the cut turn had settled and its audio had stopped going out. */
  stoppedAt: number;
  stopMs: number;
}

export interface TurnResult {
  turnId: string;
  transcript: string;
  reply: string;
  interrupted: boolean;
  error: string | null;
  timeline: VoiceTimeline;
  /** Audio sent for this turn, seconds. */
  audioSeconds: number;
  /** How the LLM's reply ended (token counts, finish reason); null when no reply was asked for or it did not finish. */
  llm: ChatStreamEnd | null;
}

/** What one turn starts from and does (the VAD's segments: the audio, a reply, spoken). */
export interface TurnInput {
  /** The user's speech (16 kHz mono) to transcribe first; null: reply to the conversation as it is. */
  audio: Float32Array | null;
  /** Whether the LLM replies (false: only transcribe and remember the user's words). */
  respond: boolean;
  /** Whether the reply is spoken (false: text only, no TTS). */
  audioOut: boolean;
  /** The system prompt for this reply only (else the session's). */
  instructions?: string;
  /** More fields of this reply's chat request (function tools); calls come as `toolCall` events. */
  llmFields?: Record<string, unknown>;
  /** A cap on this reply's tokens below the chain's (else the session's, if any). */
  maxTokens?: number;
}

/** What the session's conversation settings can be changed to while it runs. */
export interface SessionPrefs {
  systemPrompt: string;
  voice: string | null;
  /** VAD-ended speech gets a reply (false: it is transcribed and remembered only). */
  autoRespond: boolean;
  /** Replies are spoken (false: text only). */
  audioOut: boolean;
  /** More fields of every reply's chat request (function tools), unless the turn brings its own. */
  llmFields?: Record<string, unknown>;
  /** A cap on every reply's tokens below the chain's `maxTokens` (unless the turn brings its own). */
  maxTokens?: number;
}

export interface VoiceSessionEvents {
  state: [{ state: VoiceTurnState; turnId: string | null; at: number }];
  /** The user's utterance a turn transcribes (the echo-cancelled input, with its padding): for recording. */
  utterance: [{ turnId: string; sampleRate: number; pcm: Float32Array }];
  transcript: [{ turnId: string; text: string }];
  reply: [{ turnId: string; delta: string }];
  /** A piece of a function call the LLM makes (only with tools in `TurnInput.llmFields`). */
  toolCall: [{ turnId: string; delta: ChatToolCallDelta }];
  sentence: [{ turnId: string; index: number; text: string; at: number }];
  audio: [{ turnId: string; seq: number; sampleRate: number; pcm: Int16Array }];
  audioEnd: [{ turnId: string }];
  /** Stop playing this turn's audio now (barge-in). */
  audioStop: [{ turnId: string }];
  bargeIn: [BargeIn];
  speculationDiscarded: [DiscardedSpeculation];
  /** The VAD heard speech begin (`start`) or end a segment (`stop`); positions in input audio ms. */
  speech: [{ event: 'start'; audioMs: number } | { event: 'stop'; startMs: number; endMs: number }];
  /** A turn began (from a VAD segment or a manual start), before any of its other events. */
  turnStart: [{ turnId: string }];
  /** The turn's reply is about to be generated (after its transcript, if it had audio). */
  responseStart: [{ turnId: string }];
  /** The messages the turn added to the conversation history (before its `turn`). */
  remembered: [{ turnId: string; user: ChatMessage | null; assistant: ChatMessage | null }];
  turn: [TurnResult];
  /** Something failed inside the session (a bug or a listener); the session goes on. */
  internalError: [{ message: string }];
}

interface ActiveTurn {
  id: string;
  controller: AbortController;
  timeline: VoiceTimeline;
  done: Promise<void>;
  /** Open for a committed turn; holds a speculative turn's output until it is kept or discarded. */
  gate: HeldOutput;
  /** The transcript once ASR answered (read by the adaptive end of turn before it is released). */
  transcript: string | null;
  /** Resolved when the client reports the end of playback. */
  playbackEnded?: () => void;
}

/** Speech heard and not yet a turn (speculation on): VAD sample positions, padded and as detected. */
interface PendingUtterance {
  start: number;
  end: number;
  speechStart: number;
  speechEnd: number;
}

interface Speculation {
  turn: ActiveTurn;
  startedAt: number;
  /** The audio it runs on. */
  start: number;
  end: number;
  /** What the reply depends on besides the audio, as it was at the start. */
  basis: string;
}

/** Silero's window at 16 kHz, in ms: how late a count of whole windows can be. */
const SILERO_WINDOW_MS = 32;
/** The shortest silence that ends a piece of an utterance (with the shortest early marks). */
const MIN_PIECE_SILENCE_MS = 40;

/** Clean input kept for ASR: the longest segment (30 s) plus padding and the silence window. */
const CLEAN_KEEP = 35 * VAD_SAMPLE_RATE;

/** A queue with an async iterator and a close (the sentences between the LLM and TTS loops). */
class Channel<T> {
  private items: T[] = [];
  private waiter: (() => void) | null = null;
  private closed = false;
  push(x: T): void {
    this.items.push(x);
    this.waiter?.();
  }
  close(): void {
    this.closed = true;
    this.waiter?.();
  }
  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    for (;;) {
      if (this.items.length > 0) yield this.items.shift()!;
      else if (this.closed) return;
      else await new Promise<void>((r) => (this.waiter = r));
      this.waiter = null;
    }
  }
}

export class VoiceSession extends EventEmitter<VoiceSessionEvents> {
  private vad: VoiceActivityDetector;
  private readonly prefs: SessionPrefs;
  private readonly guard: EchoGuard | null;
  private readonly clock: () => number;
  private state: VoiceTurnState = 'listening';
  private current: ActiveTurn | null = null;
  private cancelling: Promise<void> | null = null;
  private history: ChatMessage[];
  /** Arrival time of fed audio: [end sample, core ms] per frame (recent ones). */
  private arrivals: [number, number][] = [];
  private closed = false;
  private clean: Float32Array[] = [];
  private cleanStart = 0;
  private cleanEnd = 0;
  /** VAD position up to which the echo guard last silenced audio. */
  private lastSuppressed = -Infinity;
  /** Turns still running (a barge-in leaves the old one settling). */
  private readonly running = new Set<Promise<void>>();
  /** The silence window the turn's end adapts (the chain's, or what configureVad set). */
  private baseWindowMs: number;
  private frames: SpeechFrameReader | null = null;
  private pending: PendingUtterance | null = null;
  private speculation: Speculation | null = null;
  /** Speculations discarded for the pending utterance, and when the last one started. */
  private discarded = { count: 0, lastStartedAt: null as number | null };
  /** Bumped whenever the history changes: a speculation built on an older one is not kept. */
  private historyVersion = 0;

  constructor(private readonly opts: VoiceSessionOptions) {
    super();
    this.clock = opts.clock ?? (() => performance.now());
    this.baseWindowMs = opts.chain.silenceMs;
    this.vad = this.newVad(opts.vadThreshold, opts.prefixPaddingMs);
    this.guard = opts.echo === false ? null : new EchoGuard(opts.echo);
    this.history = [...(opts.history ?? [])];
    this.prefs = { systemPrompt: opts.chain.systemPrompt, voice: opts.chain.voice, autoRespond: true, audioOut: true };
  }

  /** Speculation applies when its early mark comes before the window (a shorter window needs none). */
  private get speculative(): SpeculationOptions | null {
    const s = this.opts.speculation;
    return s && s.earlyMarkMs < this.baseWindowMs ? s : null;
  }

  /**
   * The segmenting VAD: its window ends the turn; with speculation its segments end one Silero
   * window before the early mark instead (so the piece is there when the frame reader's count,
   * which follows the frames, reaches the mark), and the frame reader's silence count decides the rest.
   */
  private newVad(threshold: number | undefined, prefixPaddingMs: number | undefined): VoiceActivityDetector {
    const spec = this.speculative;
    this.frames = spec ? new SpeechFrameReader({ modelPath: this.opts.vadModelPath, threshold }) : null;
    return new VoiceActivityDetector({
      modelPath: this.opts.vadModelPath,
      minSilenceSeconds: (spec ? Math.max(MIN_PIECE_SILENCE_MS, spec.earlyMarkMs - SILERO_WINDOW_MS) : this.baseWindowMs) / 1000,
      threshold,
      startPaddingSeconds: prefixPaddingMs === undefined ? undefined : prefixPaddingMs / 1000,
    });
  }

  /** Changes the conversation settings; turns started later use them. */
  configure(patch: Partial<SessionPrefs>): void {
    Object.assign(this.prefs, patch);
  }

  /**
   * Replaces the VAD's settings. Only before the first audio (positions and padding are counted
   * from the detector's start): returns false, changing nothing, once audio was fed.
   */
  configureVad(v: { threshold?: number; silenceMs: number; prefixPaddingMs?: number }): boolean {
    if (this.vad.position > 0) return false;
    this.baseWindowMs = v.silenceMs;
    this.vad = this.newVad(v.threshold, v.prefixPaddingMs);
    return true;
  }

  /** Adds a message to the conversation the next replies see. */
  appendHistory(m: ChatMessage): void {
    this.history.push(m);
    this.historyVersion++;
  }

  /** Removes a message added before (by identity); false when it is not in the history. */
  removeHistory(m: ChatMessage): boolean {
    const i = this.history.indexOf(m);
    if (i < 0) return false;
    this.history.splice(i, 1);
    this.historyVersion++;
    return true;
  }

  /** Whether the VAD is inside speech now (an utterance has begun and not ended). */
  get inSpeech(): boolean {
    return this.vad.speaking;
  }

  /** Whether a turn's work (ASR, LLM, TTS) is in flight. */
  get busy(): boolean {
    return isBusy(this.state) || this.state === 'interrupted';
  }

  /**
   * Starts a turn outside the VAD (a client's manual commit or its request for a reply): cuts a
   * turn in flight first, as new speech would. Resolves with the turn's id once it has started.
   */
  async startManualTurn(input: TurnInput): Promise<string | null> {
    const at = this.clock();
    this.discardSpeculation();
    if (this.current && isBusy(this.state)) {
      this.bargeIn(this.current, at);
      await this.cancelling;
    }
    if (this.cancelling) await this.cancelling;
    if (this.closed) return null;
    const timeline = emptyVoiceTimeline(this.opts.chain.silenceMs);
    timeline.endOfTurn = at;
    if (input.audio) timeline.speechEnd = at;
    if (this.state === 'listening') this.dispatch('speechStart');
    return this.startTurn(input, timeline);
  }

  get turnState(): VoiceTurnState {
    return this.state;
  }

  /** Feeds microphone audio: 16 kHz mono float samples that arrived at core time `at`. */
  feed(samples: Float32Array, at = this.clock()): void {
    if (this.closed) return;
    const filtered = this.guard ? this.guard.process(samples, at) : { samples, clean: samples, suppressed: 0 };
    this.keepClean(filtered.clean);
    if (filtered.suppressed > 0) this.lastSuppressed = this.vad.position + samples.length;
    const wasSpeaking = this.vad.speaking;
    const segments = this.vad.feed(filtered.samples);
    this.frames?.feed(filtered.samples);
    this.arrivals.push([this.vad.position, at]);
    if (this.arrivals.length > 4000) this.arrivals.splice(0, 2000);
    if (!wasSpeaking && this.vad.speaking) this.onSpeechStart(at);
    for (const seg of segments) this.onSegment(seg, at);
    this.stepTurnEnd(at);
  }

  /** Feeds 16-bit little-endian PCM. */
  feedPcm16(bytes: Uint8Array, at = this.clock()): void {
    const n = bytes.length >> 1;
    const view = new DataView(bytes.buffer, bytes.byteOffset, n * 2);
    const f = new Float32Array(n);
    for (let i = 0; i < n; i++) f[i] = view.getInt16(i * 2, true) / 32768;
    this.feed(f, at);
  }

  /** Feeds 32-bit little-endian float PCM. */
  feedFloat32(bytes: Uint8Array, at = this.clock()): void {
    const n = bytes.length >> 2;
    const view = new DataView(bytes.buffer, bytes.byteOffset, n * 4);
    const f = new Float32Array(n);
    for (let i = 0; i < n; i++) f[i] = view.getFloat32(i * 4, true);
    this.feed(f, at);
  }

  /** End of the input stream: the speech still open ends the turn now. */
  endOfInput(): void {
    const at = this.clock();
    for (const seg of this.vad.flush()) this.onSegment(seg, at);
    if (this.pending) this.commit(this.pending, at, { windowMs: this.baseWindowMs, rule: 'base' });
  }

  /** The client started playing `turnId`'s audio at core time `at`. */
  playbackStarted(turnId: string, at: number): void {
    if (this.current?.id !== turnId) return;
    this.current.timeline.playbackStart ??= at;
    this.guard?.playbackStarted(at);
  }

  /** The client finished playing `turnId`'s audio. */
  playbackEnded(turnId: string): void {
    if (this.current?.id === turnId) this.current.playbackEnded?.();
  }

  /** Cancels the turn in flight (as a barge-in would, without new speech). */
  async cancel(): Promise<void> {
    this.discardSpeculation();
    const t = this.current;
    if (!t) return;
    t.controller.abort();
    this.emit('audioStop', { turnId: t.id });
    this.guard?.reset();
    await t.done;
  }

  /** Resolves once every turn has finished. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.discardSpeculation();
    this.current?.controller.abort();
    await this.idle();
    this.removeAllListeners();
  }

  /** A bug or a failing listener inside the session: logged, and the client told, never thrown. */
  private reportInternal(err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    console.error(`aima: voice session: ${err instanceof Error ? (err.stack ?? message) : message}`);
    try {
      this.emit('internalError', { message });
    } catch {
      /* a listener that throws again is not called twice */
    }
  }

  private dispatch(event: VoiceTurnEvent, turnId: string | null = this.current?.id ?? null): void {
    const next = nextVoiceTurnState(this.state, event);
    if (next === this.state) return;
    this.state = next;
    this.emit('state', { state: next, turnId, at: this.clock() });
  }

  /** Keeps the echo-cancelled (never silenced) input: ASR hears this, the VAD's gated copy only decides. */
  private keepClean(samples: Float32Array): void {
    this.clean.push(samples);
    this.cleanEnd += samples.length;
    while (this.clean.length > 1 && this.cleanEnd - this.cleanStart - this.clean[0]!.length >= CLEAN_KEEP) this.cleanStart += this.clean.shift()!.length;
  }

  /** The clean input in [a, b) (VAD sample positions). */
  private cleanSlice(a: number, b: number): Float32Array {
    const out = new Float32Array(Math.max(0, b - a));
    let pos = this.cleanStart;
    for (const chunk of this.clean) {
      const cs = pos;
      pos += chunk.length;
      if (pos <= a || cs >= b) continue;
      const from = Math.max(a, cs);
      out.set(chunk.subarray(from - cs, Math.min(b, pos) - cs), from - a);
    }
    return out;
  }

  /** Core time at which sample `s` (VAD input position) arrived. */
  private timeOfSample(s: number): number {
    for (const [end, at] of this.arrivals) if (end >= s) return at - ((end - s) / VAD_SAMPLE_RATE) * 1000;
    return this.clock();
  }

  private onSpeechStart(at: number): void {
    // With speculation, speech again inside the window continues the pending utterance.
    if (this.pending) return this.discardSpeculation();
    this.emit('speech', { event: 'start', audioMs: (this.vad.position / VAD_SAMPLE_RATE) * 1000 });
    if (isBusy(this.state) && this.current) this.bargeIn(this.current, at);
    this.dispatch('speechStart');
  }

  private bargeIn(t: ActiveTurn, detectedAt: number): void {
    t.controller.abort();
    this.emit('audioStop', { turnId: t.id });
    this.guard?.reset();
    this.cancelling = t.done
      .then(() => {
        const stoppedAt = this.clock();
        this.emit('bargeIn', { turnId: t.id, detectedAt, stoppedAt, stopMs: stoppedAt - detectedAt });
        this.cancelling = null;
        this.dispatch('cancelled', null);
      })
      .catch((err: unknown) => this.reportInternal(err));
  }

  private onSegment(seg: SpeechSegment, at: number): void {
    // Speech that began over the assistant's voice reached the VAD late (its first blocks were
    // silenced as echo): ASR gets another 0.5 s of the echo-cancelled lead-in.
    const extra = this.lastSuppressed >= seg.startSample - VAD_SAMPLE_RATE ? VAD_SAMPLE_RATE / 2 : 0;
    const piece: PendingUtterance = { start: seg.startSample - extra, end: seg.endSample, speechStart: seg.speechStartSample, speechEnd: seg.speechEndSample };
    if (!this.speculative) return this.commit(piece, at, { windowMs: this.baseWindowMs, rule: null });
    // The segment ended at the early mark: it joins the utterance, whose end is still open.
    if (this.state === 'listening') this.dispatch('speechStart');
    if (this.pending) Object.assign(this.pending, { end: piece.end, speechEnd: piece.speechEnd });
    else this.pending = piece;
    this.discardSpeculation();
  }

  /** With speculation: after each frame, speculate, commit or discard (see turnEndAction). */
  private stepTurnEnd(at: number): void {
    const spec = this.speculative;
    if (!spec || !this.frames) return;
    const window = this.windowNow();
    const action = turnEndAction({
      pending: this.pending !== null,
      speaking: this.vad.speaking || this.frames.speaking,
      silenceMs: this.frames.silenceMs,
      earlyMarkMs: spec.earlyMarkMs,
      windowMs: window.windowMs,
      speculating: this.speculation !== null,
    });
    if (action === 'speculate') this.speculate(this.pending!, at);
    else if (action === 'commit') this.commit(this.pending!, at, window);
    else if (action === 'discard') this.discardSpeculation();
  }

  /** The window for the pending utterance: adapted to the speculative transcript once it is known. */
  private windowNow(): { windowMs: number; rule: WindowRule } {
    const spec = this.speculative!;
    const s = this.speculation;
    return adaptiveWindow(s?.turn.transcript ?? null, { baseMs: this.baseWindowMs, minMs: spec.minWindowMs, maxMs: spec.maxWindowMs }, s !== null && s.turn.transcript === null);
  }

  /** What a reply depends on besides the audio: a kept speculation must have seen the same. */
  private basis(): string {
    return JSON.stringify([this.historyVersion, this.prefs]);
  }

  /** Starts a held turn on the pending audio (the early mark). Not while an earlier turn still settles. */
  private speculate(u: PendingUtterance, at: number): void {
    if (this.closed || this.cancelling || isBusy(this.state)) return;
    const turn = this.newTurn(emptyVoiceTimeline(this.baseWindowMs), true);
    this.speculation = { turn, startedAt: at, start: u.start, end: u.end, basis: this.basis() };
    const audio = this.cleanSlice(Math.max(this.cleanStart, u.start), u.end);
    this.run(turn, { audio, respond: this.prefs.autoRespond, audioOut: this.prefs.audioOut });
  }

  /** Drops the speculation, if any: its requests are aborted and nothing it held is ever seen. */
  private discardSpeculation(): void {
    const s = this.speculation;
    if (!s) return;
    this.speculation = null;
    this.discarded = { count: this.discarded.count + 1, lastStartedAt: s.startedAt };
    s.turn.gate.discard();
    s.turn.controller.abort();
    this.emit('speculationDiscarded', { startedAt: s.startedAt, discardedAt: this.clock(), audioMs: ((s.end - s.start) / VAD_SAMPLE_RATE) * 1000 });
  }

  /** The user's turn ended: the speculation on exactly this audio is kept, else a turn starts on it. */
  private commit(u: PendingUtterance, at: number, window: { windowMs: number; rule: WindowRule | null }): void {
    this.pending = null;
    this.emit('speech', { event: 'stop', startMs: (u.speechStart / VAD_SAMPLE_RATE) * 1000, endMs: (u.speechEnd / VAD_SAMPLE_RATE) * 1000 });
    if (this.state === 'listening') this.dispatch('speechStart');
    const spec = this.speculation;
    const keep = spec !== null && spec.start === u.start && spec.end === u.end && spec.basis === this.basis() && !this.cancelling && !isBusy(this.state);
    if (!keep) this.discardSpeculation();
    const timeline = keep ? spec.turn.timeline : emptyVoiceTimeline(window.windowMs);
    Object.assign(timeline, {
      speechStart: this.timeOfSample(u.speechStart),
      speechEnd: this.timeOfSample(u.speechEnd),
      endOfTurn: at,
      silenceWindowMs: window.windowMs,
      windowRule: window.rule,
      speculation: keep ? 'kept' : this.discarded.count > 0 ? 'discarded' : null,
      speculationStart: keep ? spec.startedAt : this.discarded.lastStartedAt,
      speculationsDiscarded: this.discarded.count,
    } satisfies Partial<VoiceTimeline>);
    this.discarded = { count: 0, lastStartedAt: null };
    if (keep) {
      this.speculation = null;
      this.begin(spec.turn);
      spec.turn.gate.release();
      return;
    }
    const start = async () => {
      if (this.cancelling) await this.cancelling;
      if (isBusy(this.state) && this.current) {
        // A segment that ended while an earlier turn still runs (no onset was seen): barge in now.
        this.bargeIn(this.current, at);
        await this.cancelling;
      }
      if (this.closed) return;
      this.startTurn({ audio: this.cleanSlice(Math.max(this.cleanStart, u.start), u.end), respond: this.prefs.autoRespond, audioOut: this.prefs.audioOut }, timeline);
    };
    const p = start().catch((err: unknown) => this.reportInternal(err));
    this.running.add(p);
    void p.finally(() => this.running.delete(p));
  }

  private newTurn(timeline: VoiceTimeline, held: boolean): ActiveTurn {
    const gate = new HeldOutput(held, (err) => this.reportInternal(err));
    return { id: randomUUID(), controller: new AbortController(), timeline, done: Promise.resolve(), gate, transcript: null };
  }

  private startTurn(input: TurnInput, timeline: VoiceTimeline): string {
    const turn = this.newTurn(timeline, false);
    this.begin(turn);
    this.run(turn, input);
    return turn.id;
  }

  /** Makes `turn` the session's current turn (a committed one, or a speculation being kept). */
  private begin(turn: ActiveTurn): void {
    // A new turn supersedes whatever the client may still be playing (an ended or failed reply):
    // it stops, so the echo reference can be dropped with it.
    if (this.current && this.guard?.active(this.clock())) this.emit('audioStop', { turnId: this.current.id });
    this.current = turn;
    this.emit('turnStart', { turnId: turn.id });
    this.guard?.reset();
    this.dispatch('speechEnd', turn.id);
  }

  private run(turn: ActiveTurn, input: TurnInput): void {
    // A turn never rejects: a throwing listener (storage, a closed socket) is reported, and an
    // unhandled rejection would end the whole core.
    turn.done = this.runTurn(turn, input).catch((err: unknown) => this.reportInternal(err));
    this.running.add(turn.done);
    void turn.done.finally(() => this.running.delete(turn.done));
  }

  private async runTurn(turn: ActiveTurn, input: TurnInput): Promise<void> {
    const { chain, gateway } = this.opts;
    const tl = turn.timeline;
    const signal = turn.controller.signal;
    // Everything the turn tells the client or the session goes through its gate (held while speculative).
    const out = (emit: () => void) => turn.gate.run(emit);
    const step = (event: VoiceTurnEvent) => turn.gate.run(() => this.dispatch(event, turn.id));
    let transcript = '';
    let reply = '';
    let error: string | null = null;
    let audioSamples = 0;
    let audioRate = 0;
    let llmEnd: ChatStreamEnd | null = null;
    const work = async () => {
      const audio = input.audio;
      if (audio) {
        out(() => this.emit('utterance', { turnId: turn.id, sampleRate: VAD_SAMPLE_RATE, pcm: audio }));
        transcript = await transcribe(gateway, chain.asr, audio, VAD_SAMPLE_RATE, signal);
        tl.asrDone = this.clock();
        turn.transcript = transcript;
        // The adaptive window may end the turn now, before the next frame arrives.
        if (turn.gate.outcome === 'held') this.stepTurnEnd(this.clock());
        out(() => this.emit('transcript', { turnId: turn.id, text: transcript }));
        if (!/[\p{L}\p{N}]/u.test(transcript)) {
          step('emptyTranscript');
          return;
        }
      }
      step('transcript');
      if (!input.respond) return;
      out(() => this.emit('responseStart', { turnId: turn.id }));
      const systemPrompt = input.instructions ?? this.prefs.systemPrompt;
      const messages: ChatMessage[] = [
        ...(systemPrompt ? [{ role: 'system' as const, content: systemPrompt }] : []),
        ...this.history,
        ...(transcript ? [{ role: 'user' as const, content: transcript }] : []),
      ];
      const sentences = new Channel<string>();
      const segmenter = new SentenceSegmenter(this.opts.segmenter);
      let index = 0;
      const sentence = (text: string) => {
        tl.firstSentence ??= this.clock();
        out(() => this.emit('sentence', { turnId: turn.id, index: index++, text, at: this.clock() }));
        sentences.push(text);
      };
      const llm = (async () => {
        try {
          for await (const delta of chatStream(gateway, { model: chain.llm, messages, maxTokens: Math.min(chain.maxTokens, input.maxTokens ?? this.prefs.maxTokens ?? Infinity), ...this.opts.llm, fields: input.llmFields ?? this.prefs.llmFields, onEnd: (e) => (llmEnd = e) }, signal)) {
            tl.llmFirstToken ??= this.clock();
            if (typeof delta !== 'string') {
              this.emit('toolCall', { turnId: turn.id, delta });
              continue;
            }
            reply += delta;
            out(() => this.emit('reply', { turnId: turn.id, delta }));
            for (const s of segmenter.push(delta)) sentence(s);
          }
          for (const s of segmenter.flush()) sentence(s);
          tl.llmDone = this.clock();
        } finally {
          sentences.close();
        }
      })();
      const tts = (async () => {
        let seq = 0;
        let synthesised = 0;
        for await (const text of sentences) {
          if (!input.audioOut) continue;
          // A speculative turn synthesises its first sentence only, until it is kept.
          if (synthesised++ > 0 && (await turn.gate.decided) === 'discarded') return;
          for await (const chunk of speechStream(gateway, { model: chain.tts, input: text, voice: this.prefs.voice }, signal)) {
            if (signal.aborted) return;
            audioSamples += chunk.pcm.length;
            audioRate = chunk.sampleRate;
            const n = seq++;
            turn.gate.run(() => {
              if (tl.firstAudio === null) {
                tl.firstAudio = this.clock();
                this.dispatch('firstAudio', turn.id);
              }
              this.emit('audio', { turnId: turn.id, seq: n, sampleRate: chunk.sampleRate, pcm: chunk.pcm });
              if (this.guard) {
                const f = pcm16ToFloat(chunk.pcm);
                this.guard.addPlayed(chunk.sampleRate === VAD_SAMPLE_RATE ? f : resample(f, chunk.sampleRate, VAD_SAMPLE_RATE), this.clock());
              }
            });
          }
        }
      })();
      const [l, t] = await Promise.allSettled([llm, tts]);
      if (l.status === 'rejected') throw l.reason;
      if (t.status === 'rejected') throw t.reason;
      out(() => this.emit('audioEnd', { turnId: turn.id }));
      // Playback starts once a speculative turn is kept.
      await turn.gate.decided;
      if (this.opts.playback && audioSamples > 0 && !signal.aborted) {
        // Speaking lasts until the client has played it all (or it should have, plus a margin).
        const ms = (audioSamples / audioRate) * 1000 + 2000;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, ms);
          turn.playbackEnded = () => {
            clearTimeout(timer);
            resolve();
          };
          signal.addEventListener('abort', () => turn.playbackEnded?.(), { once: true });
        });
      }
    };
    try {
      await work();
    } catch (err) {
      if (!signal.aborted) error = (err as Error).message;
    }
    // A discarded speculation leaves no trace: nothing stored, no turn.
    if ((await turn.gate.decided) === 'discarded') return;
    this.finishTurn(turn, input, { transcript, reply, error, audioSeconds: audioRate ? audioSamples / audioRate : 0, llm: llmEnd });
  }

  /** Records a finished (or cut, or failed) turn: history, state, and the `remembered` and `turn` events. */
  private finishTurn(turn: ActiveTurn, input: TurnInput, r: Omit<TurnResult, 'turnId' | 'interrupted' | 'timeline'>): void {
    const tl = turn.timeline;
    const interrupted = turn.controller.signal.aborted;
    tl.turnEnd = this.clock();
    tl.voiceToVoiceMs = tl.firstAudio !== null && tl.speechEnd !== null ? tl.firstAudio - tl.speechEnd : null;
    const user: ChatMessage | null = r.transcript && (r.reply || !interrupted) ? { role: 'user', content: r.transcript } : null;
    const assistant: ChatMessage | null = r.reply && (user || !input.audio) ? { role: 'assistant', content: r.reply } : null;
    if (user) this.history.push(user);
    if (assistant) this.history.push(assistant);
    if (user || assistant) this.historyVersion++;
    if (this.current === turn) {
      if (r.error) this.dispatch('error', turn.id);
      else if (!interrupted) this.dispatch('replyDone', turn.id);
    }
    this.emit('remembered', { turnId: turn.id, user, assistant });
    this.emit('turn', { ...r, turnId: turn.id, interrupted, timeline: tl });
  }
}
