/**
 * Collects the audio of a voice session's turns while they run, for recording: the user's
 * utterance (the echo-cancelled input the ASR heard) and every reply chunk sent to the client, in
 * order. The session adapter attaches it to a session's `utterance` and `audio` events and takes a
 * turn's audio when the turn ends.
 */
import { resample } from '../../../lib/audio/resample.js';
import { pcm16ToFloat } from '../../../lib/audio/wav.js';

/** Float samples to 16-bit (the inverse of the session's s16 / 32768, so 16-bit input comes back bit-exact). */
function floatToInt16(f: Float32Array): Int16Array {
  const out = new Int16Array(f.length);
  for (let i = 0; i < f.length; i++) out[i] = Math.max(-32768, Math.min(32767, Math.round(f[i]! * 32768)));
  return out;
}

/** A turn's audio, 16-bit mono, one rate per side. */
export interface TurnAudio {
  user: { sampleRate: number; pcm: Int16Array } | null;
  reply: { sampleRate: number; pcm: Int16Array } | null;
}

interface Pending {
  user: { sampleRate: number; pcm: Int16Array } | null;
  replyRate: number;
  reply: Int16Array[];
}

/** Keeps at most this many turns' audio (a turn whose end was never reported is dropped oldest first). */
const MAX_PENDING = 8;

export class TurnAudioCollector {
  private readonly turns = new Map<string, Pending>();

  private pending(turnId: string): Pending {
    let p = this.turns.get(turnId);
    if (!p) {
      p = { user: null, replyRate: 0, reply: [] };
      this.turns.set(turnId, p);
      if (this.turns.size > MAX_PENDING) this.turns.delete(this.turns.keys().next().value!);
    }
    return p;
  }

  /** The user's utterance of `turnId` (float samples in [-1, 1]). */
  utterance(turnId: string, sampleRate: number, pcm: Float32Array): void {
    this.pending(turnId).user = { sampleRate, pcm: floatToInt16(pcm) };
  }

  /** One reply chunk as sent; a chunk at another rate than the first is resampled to it. */
  replyChunk(turnId: string, sampleRate: number, pcm: Int16Array): void {
    const p = this.pending(turnId);
    if (p.replyRate === 0) p.replyRate = sampleRate;
    if (sampleRate === p.replyRate) {
      p.reply.push(pcm.slice());
      return;
    }
    p.reply.push(floatToInt16(resample(pcm16ToFloat(pcm), sampleRate, p.replyRate)));
  }

  /** Takes (and forgets) the turn's audio; null when nothing was collected. */
  take(turnId: string): TurnAudio | null {
    const p = this.turns.get(turnId);
    this.turns.delete(turnId);
    if (!p) return null;
    const n = p.reply.reduce((a, c) => a + c.length, 0);
    let reply: TurnAudio['reply'] = null;
    if (n > 0) {
      const pcm = new Int16Array(n);
      let at = 0;
      for (const c of p.reply) {
        pcm.set(c, at);
        at += c.length;
      }
      reply = { sampleRate: p.replyRate, pcm };
    }
    return p.user || reply ? { user: p.user && p.user.pcm.length > 0 ? p.user : null, reply } : null;
  }
}
