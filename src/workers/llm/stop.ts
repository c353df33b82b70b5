/**
 * OpenAI `stop` sequences, matched on the generated TEXT. node-llama-cpp's own customStopTriggers
 * match against single-token detokenizations, which drop a SentencePiece token's leading space:
 * with llama-family vocabularies a stop such as " girl" or "little girl" never fires. So the worker
 * matches stops itself on the text stream, holding back any tail that could be the start of a stop
 * sequence, and ends the generation through an AbortSignal once one is complete.
 */
export class StopMatcher {
  private held = '';
  /** True once a stop sequence was found; nothing more is emitted. */
  stopped = false;

  constructor(
    private readonly stops: readonly string[],
    private readonly emit: (text: string) => void,
    private readonly onStop: () => void,
  ) {}

  /** Feeds generated text; emits what is certainly not part of a stop sequence. */
  push(text: string): void {
    if (this.stopped || !text) return;
    if (this.stops.length === 0) {
      this.emit(text);
      return;
    }
    const buffer = this.held + text;
    let cut = -1;
    for (const stop of this.stops) {
      const at = buffer.indexOf(stop);
      if (at >= 0 && (cut < 0 || at < cut)) cut = at;
    }
    if (cut >= 0) {
      if (cut > 0) this.emit(buffer.slice(0, cut));
      this.held = '';
      this.stopped = true;
      this.onStop();
      return;
    }
    // Hold back the longest tail that is a proper prefix of some stop sequence.
    let keep = 0;
    for (const stop of this.stops) {
      for (let k = Math.min(stop.length - 1, buffer.length); k > keep; k--) {
        if (buffer.endsWith(stop.slice(0, k))) {
          keep = k;
          break;
        }
      }
    }
    if (buffer.length > keep) this.emit(buffer.slice(0, buffer.length - keep));
    this.held = buffer.slice(buffer.length - keep);
  }

  /** Emits the held-back tail at the end of a generation that did not stop on a sequence. */
  flush(): void {
    if (!this.stopped && this.held) this.emit(this.held);
    this.held = '';
  }
}
