/**
 * Gapless scheduling of the assistant's audio chunks on one clock (the AudioContext's, seconds).
 * Each chunk starts at max(now, end of the previous one), so chunks that arrive early queue up
 * and chunks that arrive late start at once. It knows when a turn's playback starts (its first
 * chunk) and ends (its last chunk ended after the core's `audio.end`), which the page reports to
 * the core, and which sources to stop on `audio.stop`. Pure and generic over the source handle,
 * so it is unit-tested without Web Audio.
 */

interface TurnPlayback<S> {
  /** Scheduled and not yet ended. */
  sources: Set<S>;
  /** The core said no more audio will come. */
  audioEnded: boolean;
  /** Clock time the turn's last scheduled chunk ends. */
  endsAt: number;
}

export class PlaybackScheduler<S> {
  private endOfPrevious = 0;
  private readonly turns = new Map<string, TurnPlayback<S>>();

  /** Schedules a chunk of `duration` seconds; `startsTurn` is true for the turn's first chunk. */
  enqueue(turnId: string, source: S, duration: number, now: number): { startAt: number; startsTurn: boolean } {
    let turn = this.turns.get(turnId);
    const startsTurn = !turn;
    if (!turn) {
      turn = { sources: new Set(), audioEnded: false, endsAt: now };
      this.turns.set(turnId, turn);
    }
    const startAt = Math.max(now, this.endOfPrevious);
    this.endOfPrevious = startAt + duration;
    turn.endsAt = this.endOfPrevious;
    turn.sources.add(source);
    return { startAt, startsTurn };
  }

  /** A chunk finished playing. True when that ends the turn's playback (report `end`). */
  ended(turnId: string, source: S): boolean {
    const turn = this.turns.get(turnId);
    if (!turn || !turn.sources.delete(source)) return false;
    return this.finishIfDone(turnId, turn);
  }

  /** The core's `audio.end`. True when everything already played (report `end` now). */
  audioEnd(turnId: string): boolean {
    const turn = this.turns.get(turnId);
    if (!turn) return false;
    turn.audioEnded = true;
    return this.finishIfDone(turnId, turn);
  }

  /**
   * Stops a turn's playback (or every turn's, when `turnId` is omitted) at clock time `now`:
   * returns the sources to stop; later chunks start at once instead of after the dropped ones.
   */
  stop(now: number, turnId?: string): S[] {
    const stopped: S[] = [];
    for (const [id, turn] of this.turns) {
      if (turnId !== undefined && id !== turnId) continue;
      stopped.push(...turn.sources);
      this.turns.delete(id);
    }
    const latest = Math.max(now, ...[...this.turns.values()].map((t) => t.endsAt));
    this.endOfPrevious = this.turns.size === 0 ? now : latest;
    return stopped;
  }

  /** Whether any chunk is scheduled and not yet ended. */
  get playing(): boolean {
    for (const t of this.turns.values()) if (t.sources.size > 0) return true;
    return false;
  }

  private finishIfDone(turnId: string, turn: TurnPlayback<S>): boolean {
    if (!turn.audioEnded || turn.sources.size > 0) return false;
    this.turns.delete(turnId);
    return true;
  }
}
