/**
 * Turns Whisper token ids back into text, with the vocabulary the Olive export keeps in its
 * `BpeDecoder` node's attributes (GPT-2 byte-level BPE): `id_vocab` lists each token's string by
 * id, `byte_decoder` maps each printable stand-in code point back to the byte it encodes,
 * `added_tokens` names the special tokens (`<|endoftext|>`, `<|notimestamps|>`, ...).
 */

export interface WhisperVocabulary {
  id_vocab: string;
  byte_decoder: string;
  added_tokens: string;
  all_special_ids: string;
}

export class WhisperTokenizer {
  private readonly vocab: string[];
  private readonly byteOf = new Map<number, number>();
  private readonly added = new Map<number, string>();
  private readonly special = new Set<number>();

  constructor(v: WhisperVocabulary) {
    this.vocab = v.id_vocab.split('\n');
    for (const line of v.byte_decoder.split('\n')) {
      if (!line) continue;
      const [cp, byte] = line.split('\t').map(Number);
      this.byteOf.set(cp, byte);
    }
    for (const line of v.added_tokens.split('\n')) {
      if (!line) continue;
      const tab = line.indexOf('\t');
      this.added.set(Number(line.slice(0, tab)), line.slice(tab + 1));
    }
    for (const line of v.all_special_ids.split('\n')) if (line) this.special.add(Number(line));
    if (this.vocab.length < 50_000 || this.byteOf.size !== 256) {
      throw new Error(`Whisper vocabulary looks incomplete (${this.vocab.length} tokens, ${this.byteOf.size} byte mappings).`);
    }
  }

  /** Number of token ids (regular and added). */
  get size(): number {
    let max = this.vocab.length - 1;
    for (const id of this.added.keys()) max = Math.max(max, id);
    return max + 1;
  }

  /** Id of a special token by its text, e.g. `<|notimestamps|>`. */
  idOf(token: string): number | undefined {
    for (const [id, t] of this.added) if (t === token) return id;
    return undefined;
  }

  /** True for control tokens (start/end of transcript, language, task, timestamps). */
  isSpecial(id: number): boolean {
    return this.special.has(id) || this.added.has(id) || id >= this.vocab.length;
  }

  /** Decodes ids to text, dropping special tokens (as `skip_special_tokens` does). */
  decode(ids: Iterable<number>): string {
    const bytes: number[] = [];
    for (const id of ids) {
      if (this.isSpecial(id)) continue;
      const piece = this.vocab[id];
      if (piece === undefined) continue;
      for (const ch of piece) {
        const b = this.byteOf.get(ch.codePointAt(0)!);
        if (b === undefined) throw new Error(`token ${id} holds a character outside the byte map`);
        bytes.push(b);
      }
    }
    return Buffer.from(bytes).toString('utf8');
  }
}
