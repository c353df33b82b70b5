/**
 * Plays the assistant's PCM chunks through Web Audio, gapless, in the order the protocol client
 * hands them over (PlaybackScheduler decides when each starts), and reports when a turn's playback
 * starts and ends on this page's performance.now() clock. `stop` cuts a turn at once: every
 * source of it is stopped in the same call (the barge-in budget is the core's 100 ms).
 */
import { PlaybackScheduler } from './playback-scheduler.js';
import { s16leToFloat } from './pcm.js';

export interface PlaybackEvents {
  report(turnId: string, event: 'start' | 'end', clientTime: number): void;
}

export class WebAudioPlayer {
  private readonly scheduler = new PlaybackScheduler<AudioBufferSourceNode>();

  constructor(
    private readonly ctx: AudioContext,
    private readonly events: PlaybackEvents,
  ) {}

  play(turnId: string, sampleRate: number, pcm: ArrayBuffer): void {
    const samples = s16leToFloat(pcm);
    if (samples.length === 0) return;
    const buffer = this.ctx.createBuffer(1, samples.length, sampleRate);
    buffer.copyToChannel(samples, 0);
    const source = this.ctx.createBufferSource();
    source.buffer = buffer;
    source.connect(this.ctx.destination);
    const { startAt, startsTurn } = this.scheduler.enqueue(turnId, source, buffer.duration, this.ctx.currentTime);
    source.onended = () => {
      source.disconnect();
      if (this.scheduler.ended(turnId, source)) this.events.report(turnId, 'end', performance.now());
    };
    source.start(startAt);
    if (startsTurn) this.events.report(turnId, 'start', this.clientTimeOf(startAt));
  }

  audioEnd(turnId: string): void {
    if (this.scheduler.audioEnd(turnId)) this.events.report(turnId, 'end', performance.now());
  }

  /** Stops one turn's playback (all of it when omitted); returns how many chunks were cut. */
  stop(turnId?: string): number {
    const sources = this.scheduler.stop(this.ctx.currentTime, turnId);
    for (const s of sources) {
      s.onended = null;
      s.stop();
      s.disconnect();
    }
    return sources.length;
  }

  get playing(): boolean {
    return this.scheduler.playing;
  }

  /** An AudioContext time as performance.now(): now plus how far ahead it is, plus the output latency. */
  private clientTimeOf(contextTime: number): number {
    const latency = this.ctx.outputLatency || this.ctx.baseLatency || 0;
    return performance.now() + (contextTime - this.ctx.currentTime + latency) * 1000;
  }
}
