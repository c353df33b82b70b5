/**
 * Splits text into sentences so synthesis can stream: the first sentence is spoken while the rest
 * are still being synthesised. Long sentences are cut further at commas/semicolons so the first
 * chunk never waits on a whole paragraph.
 */

const MAX_PIECE_CHARS = 300;

/** Sentences (and over-long sentences' clauses) in order, trimmed, none empty. */
export function splitSentences(text: string): string[] {
  const out: string[] = [];
  // A sentence ends at . ! ? (possibly repeated, possibly followed by closing quotes/brackets)
  // followed by whitespace, or at a line break.
  const re = /[^.!?\n]*(?:[.!?]+["')\]]*(?=\s|$)|\n|$)/g;
  for (const m of text.matchAll(re)) {
    const s = m[0].trim();
    if (!s) continue;
    if (s.length <= MAX_PIECE_CHARS) {
      out.push(s);
      continue;
    }
    let rest = s;
    while (rest.length > MAX_PIECE_CHARS) {
      const window = rest.slice(0, MAX_PIECE_CHARS);
      let cut = Math.max(window.lastIndexOf(', '), window.lastIndexOf('; '), window.lastIndexOf(': '));
      if (cut < MAX_PIECE_CHARS / 3) cut = window.lastIndexOf(' ');
      if (cut <= 0) cut = MAX_PIECE_CHARS - 1;
      out.push(rest.slice(0, cut + 1).trim());
      rest = rest.slice(cut + 1).trim();
    }
    if (rest) out.push(rest);
  }
  return out;
}
