/**
 * Splits a streamed LLM reply into sentences for TTS, as the tokens arrive. English and Chinese
 * punctuation; abbreviations ("Dr.", "e.g.", "a.m.") and numbers ("3.14", "1,000") are not split.
 * The first chunk may end early, at a comma once it is long enough, so speech starts sooner.
 *
 * A Western terminator (. ! ? …) only ends a sentence when the next character is whitespace (or
 * the stream ends): "3." may still become "3.14". CJK terminators (。！？) need no space but wait
 * for one more character so closing quotes stay with their sentence.
 */

export interface SegmenterOptions {
  /** The first chunk may end at a comma once it has this many characters (default 24; 0 = off). */
  firstChunkMinChars?: number;
  /** A chunk without any punctuation is cut at a space past this length (default 220). */
  maxChars?: number;
}

const ABBREVIATIONS = new Set([
  'mr', 'mrs', 'ms', 'dr', 'prof', 'sr', 'jr', 'st', 'mt', 'vs', 'etc', 'e.g', 'i.e', 'a.m', 'p.m', 'no', 'fig', 'inc', 'ltd',
  'co', 'corp', 'approx', 'dept', 'est', 'u.s', 'u.k', 'jan', 'feb', 'mar', 'apr', 'jun', 'jul', 'aug', 'sep', 'sept', 'oct', 'nov', 'dec',
]);
const WESTERN_END = new Set(['.', '!', '?', '…']);
const CJK_END = new Set(['。', '！', '？', '；']);
const CLOSERS = new Set(['"', "'", '”', '’', ')', ']', '」', '』', '）', '》']);
const COMMAS = new Set([',', ';', ':', '，', '、', '：']);
const SPACE = /\s/;

export class SentenceSegmenter {
  private buf = '';
  private emitted = 0;
  private readonly firstMin: number;
  private readonly maxChars: number;

  constructor(opts: SegmenterOptions = {}) {
    this.firstMin = opts.firstChunkMinChars ?? 24;
    this.maxChars = opts.maxChars ?? 220;
  }

  /** Adds streamed text; returns the chunks it completed, in order. */
  push(text: string): string[] {
    this.buf += text;
    const out: string[] = [];
    for (;;) {
      const cut = this.findCut();
      if (cut < 0) break;
      this.take(cut, out);
    }
    return out;
  }

  /** The stream ended: returns what is left (at most one chunk). */
  flush(): string[] {
    const out: string[] = [];
    this.take(this.buf.length, out);
    return out;
  }

  private take(cut: number, out: string[]): void {
    const chunk = this.buf.slice(0, cut).trim();
    this.buf = this.buf.slice(cut);
    // Nothing speakable (only punctuation or space): drop it.
    if (/[\p{L}\p{N}]/u.test(chunk)) {
      out.push(chunk);
      this.emitted++;
    }
  }

  /** Index just past the next chunk's end, or -1 when more text is needed. */
  private findCut(): number {
    const b = this.buf;
    for (let i = 0; i < b.length; i++) {
      const c = b[i]!;
      if (WESTERN_END.has(c) || CJK_END.has(c)) {
        // Runs like "?!" or "..." end together.
        let j = i + 1;
        while (j < b.length && (WESTERN_END.has(b[j]!) || CJK_END.has(b[j]!))) j++;
        while (j < b.length && CLOSERS.has(b[j]!)) j++;
        if (j >= b.length) return -1; // need a look-ahead character
        const cjk = CJK_END.has(c);
        if (!cjk && !SPACE.test(b[j]!)) {
          i = j - 1;
          continue; // "3.14", "e.g.x", "U.S.A"
        }
        if (c === '.' && j === i + 1 && this.isAbbreviation(i)) continue;
        return j;
      }
      if (COMMAS.has(c) && this.emitted === 0 && this.firstMin > 0 && i + 1 >= this.firstMin) {
        if (i + 1 >= b.length) return -1;
        // "1,000" is a number, not a pause.
        const numeric = /\d/.test(b[i - 1] ?? '') && /\d/.test(b[i + 1]!);
        if (!numeric && (SPACE.test(b[i + 1]!) || c.charCodeAt(0) > 0x2e7f)) return i + 1;
      }
    }
    if (b.length > this.maxChars) {
      const space = b.lastIndexOf(' ', this.maxChars);
      return space > 0 ? space + 1 : this.maxChars;
    }
    return -1;
  }

  /** True when the "." at `dot` ends an abbreviation or an initial ("J. Smith"). */
  private isAbbreviation(dot: number): boolean {
    const before = this.buf.slice(0, dot);
    const m = /([A-Za-z.]+)$/.exec(before);
    if (!m) return false;
    const word = m[1]!.toLowerCase().replace(/^\.+/, '');
    if (ABBREVIATIONS.has(word)) return true;
    // A single capital letter: an initial.
    return /^[A-Z]$/.test(m[1]!);
  }
}

/** Splits a whole text (tests, non-streaming use). */
export function splitSentences(text: string, opts?: SegmenterOptions): string[] {
  const s = new SentenceSegmenter(opts);
  return [...s.push(text), ...s.flush()];
}
