/**
 * One live voice session in the page: the microphone (AudioWorklet), the link to the core
 * (`openVoiceLink`: WebSocket in a browser, MessagePort in the desktop app), the protocol client
 * and Web Audio playback, wired together. It counts frames and playback events (numbers only;
 * nothing is sent anywhere); a page opened with `?voice-stats` in its URL shows the counters to its
 * scripts as `window.__aimaVoiceStats`, which is how the end-to-end tests read them.
 */
import { openVoiceLink, type VoiceLink } from '../../api/voice-link.js';
import { openMicrophone, type Microphone } from './capture.js';
import { WebAudioPlayer } from './playback.js';
import { VoiceClient, type StartOptions } from './voice-client.js';
import type { VoiceStats } from './voice-stats.js';

declare global {
  interface Window {
    /** Set only when the page's URL has `?voice-stats`. */
    __aimaVoiceStats?: VoiceStats;
  }
}

const zeroStats = (): VoiceStats => ({
  framesCaptured: 0,
  framesSent: 0,
  captureRms: 0,
  playbackStarts: 0,
  playbackEnds: 0,
  audioStops: 0,
  chunksStopped: 0,
  chunksPlayed: 0,
});

/** The current (or last) session's counters. */
const voiceStats: VoiceStats = zeroStats();
if (new URLSearchParams(window.location.search).has('voice-stats')) window.__aimaVoiceStats = voiceStats;

export interface LiveSessionOptions extends StartOptions {
  deviceId: string;
  transmitting: boolean;
  /** The client's view changed (turns, state, phase). */
  onChange(client: VoiceClient): void;
  /** Input level of the latest frame (RMS). */
  onLevel(rms: number): void;
  /** The link closed without this page closing it. */
  onClosed(message: string | null): void;
}

export class LiveSession {
  private closing = false;
  private released = false;

  private constructor(
    readonly client: VoiceClient,
    private readonly ctx: AudioContext,
    private readonly mic: Microphone,
    private readonly link: VoiceLink,
    private readonly player: WebAudioPlayer,
  ) {}

  /** Call from a click: the AudioContext may only start on a user gesture. */
  static async open(opts: LiveSessionOptions): Promise<LiveSession> {
    Object.assign(voiceStats, zeroStats());
    const ctx = new AudioContext();
    void ctx.resume();
    let mic: Microphone | null = null;
    let link: VoiceLink | null = null;
    try {
      // Microphone first: a denied permission should not leave a session open on the core.
      const frames: ((pcm: ArrayBuffer) => void)[] = [];
      mic = await openMicrophone(ctx, opts.deviceId, (f) => {
        voiceStats.framesCaptured++;
        voiceStats.captureRms = Math.max(voiceStats.captureRms, f.rms);
        opts.onLevel(f.rms);
        for (const send of frames) send(f.pcm);
      });
      link = await openVoiceLink();
      const l = link;
      let player: WebAudioPlayer | null = null;
      const client = new VoiceClient({
        send: (d) => l.send(d),
        now: () => performance.now(),
        play: (turnId, rate, pcm) => {
          voiceStats.chunksPlayed++;
          player!.play(turnId, rate, pcm);
        },
        audioEnd: (turnId) => player!.audioEnd(turnId),
        stopPlayback: (turnId) => {
          voiceStats.chunksStopped += player!.stop(turnId);
        },
        changed: () => opts.onChange(client),
      });
      player = new WebAudioPlayer(ctx, {
        report: (turnId, event, clientTime) => {
          if (event === 'start') voiceStats.playbackStarts++;
          else voiceStats.playbackEnds++;
          client.reportPlayback(turnId, event, clientTime);
        },
      });
      client.transmitting = opts.transmitting;
      const session = new LiveSession(client, ctx, mic, l, player);
      l.onMessage((d) => {
        const stopsBefore = client.audioStops;
        client.receive(d);
        voiceStats.audioStops += client.audioStops - stopsBefore;
      });
      l.onClose((code, reason) => {
        client.closed(null);
        if (!session.closing) opts.onClosed(code === 1000 ? 'The voice session ended.' : `The voice session closed${reason ? `: ${reason}` : ` (code ${code})`}. Press Start to begin again.`);
        session.release();
      });
      frames.push((pcm) => {
        if (client.sendFrame(pcm)) voiceStats.framesSent++;
      });
      client.start(opts);
      return session;
    } catch (err) {
      mic?.stop();
      link?.close();
      void ctx.close();
      throw err;
    }
  }

  get micLabel(): string {
    return this.mic.label;
  }

  setTransmitting(on: boolean): void {
    this.client.transmitting = on;
  }

  /** Push-to-talk pressed: whatever is still playing is cut, like a barge-in. */
  interruptIfPlaying(): void {
    if (this.player.playing) this.client.cancel();
  }

  endInput(): void {
    this.client.endInput();
  }

  cancel(): void {
    this.client.cancel();
    voiceStats.chunksStopped += this.player.stop();
  }

  close(): void {
    if (this.closing) return;
    this.closing = true;
    this.link.close();
    this.release();
  }

  private release(): void {
    if (this.released) return;
    this.released = true;
    this.player.stop();
    this.mic.stop();
    void this.ctx.close().catch(() => {});
  }
}
