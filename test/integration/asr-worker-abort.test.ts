/**
 * The ASR worker when clients abandon transcriptions (a voice session discarding a speculative
 * turn): a running one is stopped, so the next request does not wait behind it; a queued one is
 * never run; and the next transcript is right. Real worker process, real model, real HTTP.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { requirePart } from '../support/system.js';
import { PHRASES, fliteWav, haveFlite, haveSox, haveWhisper, sox, startSpeechWorker, transcribe, whisperModel, wordErrors, type SpeechWorker } from '../support/speech.js';

const LONG =
  'The quick brown fox jumps over the lazy dog while the farmer walks slowly to the market to sell his apples and pears. ' +
  'In the afternoon the children play in the park near the river, and their parents sit on the benches and talk about the weather, ' +
  'the news and the price of bread. Later that evening everyone goes home for dinner and the town becomes quiet again until the morning.';

interface Health {
  busy: boolean;
  spare: 'ready' | 'loading' | 'none';
  aborted: { dropped: number; cancelled: number };
}

let asr: SpeechWorker | undefined;
let tmp: string;
let longWav: Uint8Array;
let shortWav: Uint8Array;

function requireParts(ctx: TestContext): void {
  requirePart(ctx, 'shared-models', haveWhisper);
  requirePart(ctx, 'flite', haveFlite);
  requirePart(ctx, 'sox', haveSox);
}

function wav16k(text: string, name: string): Uint8Array {
  const raw = fliteWav(text, path.join(tmp, `${name}-raw.wav`));
  const out = path.join(tmp, `${name}.wav`);
  sox(raw, '-r', '16000', '-c', '1', '-b', '16', out);
  return readFileSync(out);
}

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'aima-asr-abort-'));
  if (!haveWhisper || !haveFlite || !haveSox) return;
  longWav = wav16k(LONG, 'long');
  shortWav = wav16k(PHRASES[0], 'short');
  asr = await startSpeechWorker('asr', ['--model', whisperModel, '--model-name', 'whisper-tiny.en', '--threads', '2']);
}, 60_000);

afterAll(async () => {
  await asr?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function health(): Promise<Health> {
  return (await (await fetch(`${asr!.url}/health`)).json()) as Health;
}

/** Waits until the worker is idle with its spare loaded, as after any abandoned run it becomes. */
async function settled(): Promise<Health> {
  for (;;) {
    const h = await health();
    if (!h.busy && h.spare === 'ready') return h;
    await sleep(50);
  }
}

async function textOf(res: Promise<Response>): Promise<string> {
  const r = await res;
  const body = (await r.json()) as { text?: string };
  expect(r.status, JSON.stringify(body)).toBe(200);
  return body.text!;
}

/** Start-to-result time of a transcription of `audio`, checking its transcript is `phrase`. */
async function timedShort(audio = shortWav, phrase: string = PHRASES[0]): Promise<number> {
  const t0 = performance.now();
  const text = await textOf(transcribe(asr!.url, audio));
  const ms = performance.now() - t0;
  expect(wordErrors(phrase, text), text).toBe(0);
  return ms;
}

/** Posts the long recording and aborts it once the worker has been running it for `runMs`. */
async function abandonLongRun(runMs: number): Promise<void> {
  const ac = new AbortController();
  const done = transcribe(asr!.url, longWav, { signal: ac.signal }).then(
    () => 'answered',
    () => 'aborted',
  );
  while (!(await health()).busy) await sleep(10);
  await sleep(runMs);
  ac.abort();
  expect(await done).toBe('aborted');
}

describe('ASR worker and abandoned transcriptions', () => {
  it('a running transcription whose client aborted is stopped: the next one takes as long as undisturbed, with the right text', async (ctx) => {
    requireParts(ctx);
    await timedShort(); // warm-up
    const before = await settled();
    const longStart = performance.now();
    await textOf(transcribe(asr!.url, longWav));
    const longMs = performance.now() - longStart;
    const undisturbed: number[] = [];
    const afterAbort: number[] = [];
    for (let round = 0; round < 5; round++) {
      await settled();
      undisturbed.push(await timedShort());
      await settled();
      await abandonLongRun(150);
      afterAbort.push(await timedShort());
    }
    const base = median(undisturbed);
    const after = median(afterAbort);
    // The bound leaves room for a loaded machine's noise; waiting behind the abandoned run would
    // add the rest of the long run, at least twice that room (so such a wait always fails the bound).
    const room = base * 0.2 + 100;
    expect(longMs - 150, 'the abandoned run must be long enough to matter').toBeGreaterThan(2 * room);
    expect(after, `after an abort ${afterAbort.map(Math.round).join(', ')} ms vs undisturbed ${undisturbed.map(Math.round).join(', ')} ms`).toBeLessThanOrEqual(base + room);
    const h = await settled();
    expect(h.aborted.cancelled - before.aborted.cancelled).toBe(5);
    expect(h.aborted.dropped).toBe(before.aborted.dropped);
    // Another phrase right after an abort: no stale text from the stopped run.
    await abandonLongRun(50);
    const other = await textOf(transcribe(asr!.url, wav16k(PHRASES[2], 'other')));
    expect(wordErrors(PHRASES[2], other), other).toBe(0);
  }, 180_000);

  it('a queued transcription whose client aborted before it started is never run', async (ctx) => {
    requireParts(ctx);
    const before = await settled();
    const running = textOf(transcribe(asr!.url, longWav));
    while (!(await health()).busy) await sleep(10);
    const ac = new AbortController();
    const queued = transcribe(asr!.url, shortWav, { signal: ac.signal }).then(
      () => 'answered',
      () => 'aborted',
    );
    await sleep(200);
    ac.abort();
    expect(await queued).toBe('aborted');
    // The running one is untouched and finishes with its whole text.
    expect(wordErrors(LONG, await running)).toBeLessThanOrEqual(3);
    const h = await settled();
    expect(h.aborted.dropped - before.aborted.dropped).toBe(1);
    expect(h.aborted.cancelled).toBe(before.aborted.cancelled);
  }, 120_000);
});
