/**
 * A speculative turn's output gate. A turn started at the early mark runs exactly like a committed
 * one (ASR, LLM, TTS of the first sentence) but everything it would tell the client or the session
 * (events, state changes, held audio) waits here: at the end of turn it is released in order and
 * the turn goes on live; on new speech it is discarded, unseen. A committed turn's gate is open
 * from the start.
 *
 * ```
 *  held ──release()──► kept      (queued output runs now, later output runs at once)
 *    └───discard()───► discarded (queued output dropped, later output dropped)
 * ```
 */

export type SpeculationOutcome = 'kept' | 'discarded';

export class HeldOutput {
  private queue: (() => void)[] = [];
  private state: 'held' | SpeculationOutcome;
  private settle!: (o: SpeculationOutcome) => void;
  /** Resolves once the speculation is kept or discarded (at once for a gate that never held). */
  readonly decided: Promise<SpeculationOutcome>;

  /** `onError`: a queued step that throws on release (the others still run). */
  constructor(
    held: boolean,
    private readonly onError: (err: unknown) => void,
  ) {
    this.state = held ? 'held' : 'kept';
    this.decided = new Promise((resolve) => (this.settle = resolve));
    if (!held) this.settle('kept');
  }

  get outcome(): 'held' | SpeculationOutcome {
    return this.state;
  }

  /** Runs `step` now (open gate), later (held) or never (discarded). */
  run(step: () => void): void {
    if (this.state === 'kept') step();
    else if (this.state === 'held') this.queue.push(step);
  }

  /** The turn is committed: what was held runs now, in order. */
  release(): void {
    if (this.state !== 'held') return;
    this.state = 'kept';
    for (const step of this.queue.splice(0)) {
      try {
        step();
      } catch (err) {
        this.onError(err);
      }
    }
    this.settle('kept');
  }

  /** New speech came first: nothing held is ever seen. */
  discard(): void {
    if (this.state !== 'held') return;
    this.state = 'discarded';
    this.queue = [];
    this.settle('discarded');
  }
}
