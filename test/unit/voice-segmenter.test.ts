/** The streaming sentence segmenter for TTS (src/core/voice/segmenter.ts). */
import { describe, expect, it } from 'vitest';
import { SentenceSegmenter, splitSentences } from '../../src/core/voice/segmenter.js';

/** Feeds `text` in pieces of `n` characters, as tokens would arrive. */
function streamed(text: string, n: number, opts?: ConstructorParameters<typeof SentenceSegmenter>[0]): string[] {
  const s = new SentenceSegmenter(opts);
  const out: string[] = [];
  for (let i = 0; i < text.length; i += n) out.push(...s.push(text.slice(i, i + n)));
  return [...out, ...s.flush()];
}

const NO_EARLY = { firstChunkMinChars: 0 };

describe('sentence segmenter', () => {
  it('splits English sentences at . ! ? and keeps closing quotes', () => {
    expect(splitSentences('Hello there. How are you? I am fine! "Great," she said. Bye', NO_EARLY)).toEqual([
      'Hello there.',
      'How are you?',
      'I am fine!',
      '"Great," she said.',
      'Bye',
    ]);
    expect(splitSentences('He said "stop." Then he left.', NO_EARLY)).toEqual(['He said "stop."', 'Then he left.']);
    expect(splitSentences('Really?! Yes... OK.', NO_EARLY)).toEqual(['Really?!', 'Yes...', 'OK.']);
  });

  it('does not split abbreviations or initials', () => {
    expect(splitSentences('Dr. Smith met Mrs. Jones at 5 p.m. today. They talked, e.g. about the weather, i.e. rain.', NO_EARLY)).toEqual([
      'Dr. Smith met Mrs. Jones at 5 p.m. today.',
      'They talked, e.g. about the weather, i.e. rain.',
    ]);
    expect(splitSentences('J. K. Rowling wrote it. The U.S. is big.', NO_EARLY)).toEqual(['J. K. Rowling wrote it.', 'The U.S. is big.']);
  });

  it('does not split numbers: decimals, thousands, versions', () => {
    expect(splitSentences('Pi is 3.14 roughly. It costs $1,000.50 today. Use v2.1.3 now.', NO_EARLY)).toEqual([
      'Pi is 3.14 roughly.',
      'It costs $1,000.50 today.',
      'Use v2.1.3 now.',
    ]);
  });

  it('waits for the next character when a stream stops right after a dot ("3." may become "3.14")', () => {
    const s = new SentenceSegmenter(NO_EARLY);
    expect(s.push('The answer is 3.')).toEqual([]);
    expect(s.push('14 exactly. Next')).toEqual(['The answer is 3.14 exactly.']);
    expect(s.flush()).toEqual(['Next']);
  });

  it('splits Chinese at 。！？； without spaces, keeping closing quotes', () => {
    expect(splitSentences('你好。今天天气怎么样？我很好！他说：“走吧。”然后走了', NO_EARLY)).toEqual([
      '你好。',
      '今天天气怎么样？',
      '我很好！',
      '他说：“走吧。”',
      '然后走了',
    ]);
    expect(splitSentences('圆周率是3.14左右。对。', NO_EARLY)).toEqual(['圆周率是3.14左右。', '对。']);
  });

  it('gives the same chunks whatever the token size', () => {
    const text = 'Dr. Who is 3.5 m tall, or so they say. 你好。Mixed text! The end.';
    const whole = splitSentences(text);
    for (const n of [1, 2, 3, 7]) expect(streamed(text, n)).toEqual(whole);
  });

  it('ends the first chunk early at a comma once it is long enough, only the first one', () => {
    const text = 'Well, once upon a time in a faraway land, there lived a king, who had three daughters. Later, much later, they grew up, all of them.';
    expect(splitSentences(text, { firstChunkMinChars: 24 })).toEqual([
      'Well, once upon a time in a faraway land,',
      'there lived a king, who had three daughters.',
      'Later, much later, they grew up, all of them.',
    ]);
    expect(splitSentences('我们今天去公园玩，然后去吃饭。好的。', { firstChunkMinChars: 6 })).toEqual(['我们今天去公园玩，', '然后去吃饭。', '好的。']);
    // A number's comma is not a pause.
    expect(splitSentences('The population is about 1,000,000 people now.', { firstChunkMinChars: 5 })).toEqual(['The population is about 1,000,000 people now.']);
  });

  it('cuts a long run without punctuation at a space, and drops empty chunks', () => {
    const long = 'word '.repeat(100);
    const chunks = splitSentences(long, { maxChars: 50 });
    expect(chunks.every((c) => c.length <= 50)).toBe(true);
    expect(chunks.join(' ')).toBe(long.trim());
    expect(splitSentences('... !! 。 ')).toEqual([]);
  });
});
