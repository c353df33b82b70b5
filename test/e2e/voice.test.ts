/**
 * The Voice page end to end: `aima serve` with the embedded chain (Whisper on aima-asr,
 * stories260K on aima-llm, flite on aima-tts), Debian's Chromium with a fake microphone that
 * plays a WAV spoken by flite. The models are imported into the library; the chain is set up from
 * the page (models picked per link, the budget view, then its services created and started), and
 * a stopped chain service is started from the page's own "… is stopped — Start" button. Asserted: the captured audio is not silence (a
 * wrong fake-capture path records silence without complaint), the user's words, the reply, its
 * playback to the end (playback events), the timeline; barge-in over a playing reply; and that
 * push-to-talk sends nothing while the button is up. The set-up card on its own servers: an empty
 * library (the starter set offered), a GPU filled by another process (fake-nvidia-smi: the budget
 * refuses the LLM there and moves it to the CPU), and the starter LLM fetched from a local Hub with
 * progress and cancel.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readWav, writeWav } from '../../src/lib/audio/wav.js';
import { resample, rms, toMono } from '../../src/lib/audio/resample.js';
import { chromiumAvailable, launchChromium, screenshotPath } from '../support/browser.js';
import { runAima, startServe, tempHome, type ServeHandle } from '../support/cli.js';
import { fliteWav, trimSilence, whisperModel, wordErrors } from '../support/speech.js';
import { repoRoot, requirePart } from '../support/system.js';
import { haveVoiceChain, storiesModel } from '../support/voice.js';
import { FakeHub } from '../support/fake-hub.js';
import { AppShell } from './pages/app-shell.js';
import { VoicePageObject } from './pages/voice-page.js';

/** The fake microphone's rate: what a real one typically runs at, so the page really resamples. */
const MIC_RATE = 48_000;
const Q1 = 'what is the weather like today';
const Q2 = 'please stop and tell me a joke';
const Q_PTT = 'set a timer for ten minutes';
const ready = chromiumAvailable() && haveVoiceChain;

let serve: ServeHandle | undefined;
let home = '';
let dir = '';
const browsers: Browser[] = [];

beforeAll(async () => {
  if (!ready) return;
  dir = mkdtempSync(path.join(os.tmpdir(), 'aima-voice-ui-'));
  home = tempHome('aima-voice-ui-');
  serve = await startServe({ AIMA_HOME: home });
  // The library has the models; the chain is empty: the page sets it up.
  for (const [file, kind] of [
    [whisperModel, 'asr'],
    [storiesModel, 'llm'],
  ]) {
    const r = await runAima(['model', 'import', file!, '--kind', kind!, '--name', `lib-${kind}`], { AIMA_HOME: home }, 180_000);
    if (r.code !== 0) throw new Error(r.stderr);
  }
}, 240_000);
afterAll(async () => {
  for (const b of browsers) await b.close().catch(() => undefined);
  await serve?.stop();
});

/** `trim`: without the silence flite pads the utterance with (for pauses of an exact length). */
type Part = { silence: number } | { say: string; trim?: boolean };

/** Writes the fake microphone's WAV (48 kHz mono): silences and flite utterances in order. */
function micWav(name: string, parts: Part[]): { file: string; speechRms: number; seconds: Record<string, [number, number]> } {
  const chunks: Float32Array[] = [];
  const seconds: Record<string, [number, number]> = {};
  let at = 0;
  let speech: Float32Array[] = [];
  for (const p of parts) {
    let samples: Float32Array;
    if ('silence' in p) samples = new Float32Array(Math.round(p.silence * MIC_RATE));
    else {
      const w = readWav(readFileSync(fliteWav(p.say, path.join(dir, `${name}-${chunks.length}.wav`))));
      samples = resample(toMono(w.channels), w.sampleRate, MIC_RATE);
      if (p.trim) samples = trimSilence(samples);
      seconds[p.say] = [at, at + samples.length / MIC_RATE];
      speech = [...speech, samples];
    }
    chunks.push(samples);
    at += samples.length / MIC_RATE;
  }
  const all = new Float32Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    all.set(c, o);
    o += c.length;
  }
  const file = path.join(dir, `${name}.wav`);
  writeFileSync(file, writeWav(all, MIC_RATE));
  return { file, speechRms: rms(speech[0]!), seconds };
}

/** A Chromium whose microphone plays `wav` (absolute path), logged in, on the Voice page. */
async function openVoicePage(wav: string | null): Promise<{ page: Page; voice: VoicePageObject; errors: string[] }> {
  // No autoplay flag: the page must start its AudioContext from the Start click itself.
  // null: a fake device but no auto-accepted permission prompt (headless denies it).
  const browser = await launchChromium(
    wav === null ? ['--use-fake-device-for-media-stream'] : ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-audio-capture=${wav}`],
  );
  browsers.push(browser);
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  await page.goto(serve!.loginUrl);
  // ?voice-stats: the page exposes its session counters (VoicePageObject.stats reads them).
  await page.goto(`${serve!.url}/?voice-stats#/voice`);
  await new AppShell(page).open('voice');
  return { page, voice: new VoicePageObject(page), errors };
}

async function failureShot(page: Page, name: string, errors: string[], err: unknown): Promise<never> {
  await page.screenshot({ path: path.join(os.tmpdir(), `aima-voice-${name}-failure.png`), fullPage: true }).catch(() => undefined);
  const core = serve!.child.exitCode !== null || serve!.child.signalCode !== null ? `\naima serve exited (${serve!.child.exitCode ?? serve!.child.signalCode}): ${serve!.output().slice(-3000)}` : '';
  throw new Error(`${(err as Error).message}${core}\npage errors: ${errors.slice(0, 5).join(' | ')}\nturns: ${(await page.getByTestId('voice-transcript').innerText().catch(() => '?')).slice(0, 2000)}`);
}

describe('Voice page', () => {
  it('sets the empty chain up from the page (budget of three links and a total), hears the question, shows and plays the reply, with its timeline; the stored turn\'s recording plays in the page', async (ctx) => {
    requirePart(ctx, 'chromium', chromiumAvailable());
    requirePart(ctx, 'shared-models', haveVoiceChain);
    // Leading silence, the question, then silence long enough that the looping fake device does not ask again.
    const mic = micWav('question', [{ silence: 1 }, { say: Q1 }, { silence: 90 }]);
    expect(path.isAbsolute(mic.file)).toBe(true);
    expect(mic.speechRms).toBeGreaterThan(0.01);
    const { page, voice, errors } = await openVoicePage(mic.file);
    try {
      // No chain: the page offers to set one up, with the library's compatible models per link.
      await voice.pickChain({ asr: 'lib-asr', llm: 'lib-llm' });
      expect(await page.getByTestId('voice-setup-llm').locator('option').allInnerTexts()).toEqual(['Automatic', expect.stringMatching(/^lib-llm \(gguf, /)]);
      // The budget before anything starts: three links with device and memory, a total against what is free.
      await expect.poll(() => voice.budgetLinks().count(), { timeout: 30_000 }).toBe(3);
      await expect.poll(() => voice.budgetLinks().nth(1).innerText(), { timeout: 30_000 }).toMatch(/LLM\s+lib-llm.*new service voice-llm \(aima-llm\)\s+CPU\s+[\d.]+ (KiB|MiB) RAM/s);
      expect(await voice.budgetLinks().nth(0).innerText()).toMatch(/ASR\s+lib-asr.*CPU\s+[\d.]+ MiB RAM/s);
      expect(await voice.budgetLinks().nth(2).innerText()).toMatch(/TTS\s+voice-tts.*CPU\s+[\d.]+ MiB RAM/s);
      expect(await page.getByTestId('budget-total').innerText()).toMatch(/Total.*[\d.]+ MiB RAM.*free: .*RAM/s);
      expect(await page.locator('[data-testid="voice-budget"]').getAttribute('data-verdict')).toBe('fits');
      expect(await page.getByTestId('budget-verdict').innerText()).toMatch(/^Fits\./);
      await page.screenshot({ path: screenshotPath('voice-setup.png') });
      // Progress while the services are created and started, with a Cancel button.
      expect(await voice.applySetup(300_000)).toMatch(/(Setting up|Creating|Starting|voice-\w+:).*Cancel/s);
      const chain = async () => ((await (await page.request.post(`${serve!.url}/api/call/voice.config.get`, { data: {} })).json()) as { result: { asr: string; llm: string; tts: string } }).result;
      expect(await chain()).toMatchObject({ asr: 'lib-asr', llm: 'lib-llm', tts: 'voice-tts' });
      expect(await voice.problems().count()).toBe(0);
      // Recording on: the stored turn gets a player per side (checked below).
      expect((await page.request.post(`${serve!.url}/api/call/settings.update`, { data: { voiceRecording: true } })).status()).toBe(200);
      await voice.start();
      const turn = voice.turns().first();
      expect(wordErrors(Q1, await voice.transcript(0, 60_000))).toBeLessThanOrEqual(2);
      // The reply streams in, is played to its end (the page's playback report), and the turn gets its timeline.
      await turn.locator('[data-playback="ended"]').or(page.locator('[data-testid="voice-turn"][data-playback="ended"]')).first().waitFor({ timeout: 120_000 });
      await turn.getByTestId('timeline').waitFor({ timeout: 10_000 });
      expect((await turn.getByTestId('assistant-text').innerText()).trim().length).toBeGreaterThan(0);
      expect(await turn.getByTestId('v2v').innerText()).toMatch(/^\d+ ms$/);
      const stats = await voice.stats();
      expect(stats.captureRms).toBeGreaterThan(0.01);
      expect(stats.framesSent).toBeGreaterThan(50);
      expect(stats.playbackStarts).toBeGreaterThanOrEqual(1);
      expect(stats.playbackEnds).toBeGreaterThanOrEqual(1);
      expect(stats.chunksPlayed).toBeGreaterThan(0);
      // The conversation was stored and is listed.
      await expect.poll(() => page.getByTestId('conversations').locator('li').count()).toBeGreaterThanOrEqual(1);
      // For the README: mid-conversation, the reply and its timeline on screen.
      await page.screenshot({ path: screenshotPath('voice.png') });
      // Ending the session and opening the conversation shows its stored turn, timeline included.
      await page.getByTestId('voice-end').click();
      await page.getByTestId('conversations').locator('li button.link').first().click();
      const stored = page.getByTestId('stored-turn');
      await stored.first().waitFor();
      expect(wordErrors(Q1, await stored.first().locator('.msg.user').innerText())).toBeLessThanOrEqual(2);
      await stored.first().getByTestId('timeline').waitFor();
      // Its recording plays in the page: the browser decodes each FLAC to the length the turn records.
      const convId = await page.getByTestId('conversations').locator('li').first().getAttribute('data-conversation');
      const detail = ((await (await page.request.post(`${serve!.url}/api/call/voice.conversations.get`, { data: { id: convId } })).json()) as { result: { turns: { recording: { userSeconds: number; replySeconds: number } | null }[] } }).result;
      const rec = detail.turns[0]!.recording!;
      expect(rec.userSeconds).toBeGreaterThan(1);
      expect(rec.replySeconds).toBeGreaterThan(0.5);
      for (const [side, want] of [['user', rec.userSeconds], ['reply', rec.replySeconds]] as const) {
        const audio = stored.first().getByTestId(`recording-${side}`).locator('audio');
        const duration = await audio.evaluate(
          (node) =>
            new Promise<number>((resolve, reject) => {
              // The test's TypeScript has no DOM types: the element's few members used here.
              const el = node as unknown as { duration: number; preload: string; error: { code: number; message: string } | null; load(): void; addEventListener(t: string, f: () => void, o: { once: boolean }): void };
              el.addEventListener('loadedmetadata', () => resolve(el.duration), { once: true });
              el.addEventListener('error', () => reject(new Error(`audio error ${el.error?.code}: ${el.error?.message}`)), { once: true });
              el.preload = 'metadata';
              el.load();
            }),
        );
        expect(duration, side).toBeCloseTo(want, 1);
      }
      await expect.poll(() => page.getByTestId('recording-usage').innerText()).toMatch(/^Recording on: [\d.]+ KiB of 1\.00 GiB used/);
      const zip = await page.request.get(`${serve!.url}${await page.getByTestId('voice-export').getAttribute('href')}`);
      expect(zip.status()).toBe(200);
      expect(zip.headers()['content-type']).toBe('application/zip');
      // The TTS service runs: the voice is picked from its list, and the choice is stored.
      const picker = page.getByTestId('voice-picker');
      await picker.waitFor({ timeout: 15_000 });
      expect(await picker.locator('option').allInnerTexts()).toEqual(expect.arrayContaining([expect.stringContaining('(slt)'), expect.stringContaining('(awb)')]));
      await picker.selectOption('awb');
      const cfg = async () => ((await (await page.request.post(`${serve!.url}/api/call/voice.config.get`, { data: {} })).json()) as { result: { voice: string | null } }).result.voice;
      await expect.poll(cfg).toBe('awb');
      expect(errors).toEqual([]);
    } catch (err) {
      await failureShot(page, 'conversation', errors, err);
    }
  }, 600_000);

  // Real time: a schedule slipped on 2 loaded cores (a pause heard longer than it is) is retried.
  it('speculation on: a sentence with a 400 ms pause is one turn with the whole sentence, the dropped speculation a faint mark above it', { timeout: 600_000, retry: 1 }, async (ctx) => {
    requirePart(ctx, 'chromium', chromiumAvailable());
    requirePart(ctx, 'shared-models', haveVoiceChain);
    const settings = await fetch(`${serve!.url}/api/call/settings.update`, {
      method: 'POST',
      headers: { authorization: `Bearer ${serve!.token}`, 'content-type': 'application/json' },
      // The shortest window stays above the 400 ms pause: Whisper may hear the first half as a
      // complete sentence ("Set a timer."), and this test is about what the page shows, not the rule.
      body: JSON.stringify({ voiceSpeculation: true, voiceEarlyMarkMs: 200, voiceWindowMinMs: 500, voiceWindowMaxMs: 1200 }),
    });
    expect(settings.status).toBe(200);
    const mic = micWav('speculation', [{ silence: 1 }, { say: 'set a timer for', trim: true }, { silence: 0.4 }, { say: 'ten minutes', trim: true }, { silence: 90 }]);
    const { page, voice, errors } = await openVoicePage(mic.file);
    try {
      await voice.startChainServices(300_000);
      await voice.start();
      expect(wordErrors(Q_PTT, await voice.transcript(0, 60_000))).toBeLessThanOrEqual(1);
      const turn = voice.turns().first();
      await expect.poll(() => turn.getAttribute('data-status'), { timeout: 90_000 }).toMatch(/^(done|played)$/);
      expect(await voice.turns().count()).toBe(1);
      const mark = turn.getByTestId('speculation-discarded');
      await mark.waitFor();
      expect(Number(await mark.getAttribute('data-count'))).toBeGreaterThanOrEqual(1);
      expect(await mark.innerText()).toMatch(/dropped/);
      expect(await turn.getByTestId('v2v').innerText()).toMatch(/^\d+ ms$/);
      expect((await voice.stats()).playbackStarts).toBeGreaterThanOrEqual(1);
      expect(errors).toEqual([]);
    } catch (err) {
      await failureShot(page, 'speculation', errors, err);
    }
  });

  // Real time: the fake microphone plays the second utterance at a fixed point of the file, which
  // must fall while the reply plays; on 2 loaded cores the reply can start late, so a slipped
  // schedule is retried. A page that does not stop playback or start the new turn fails every try.
  it('barge-in: a second utterance over the playing reply stops it and starts a new turn', { timeout: 600_000, retry: 2 }, async (ctx) => {
    requirePart(ctx, 'chromium', chromiumAvailable());
    requirePart(ctx, 'shared-models', haveVoiceChain);
    // The first reply starts ~1-4 s after the question and plays for many seconds (stories260K
    // tells stories up to maxTokens); the second utterance comes 7 s after the first ends.
    const mic = micWav('barge-in', [{ silence: 1 }, { say: Q1 }, { silence: 7 }, { say: Q2 }, { silence: 90 }]);
    const { page, voice, errors } = await openVoicePage(mic.file);
    try {
      await voice.startChainServices(300_000);
      await voice.start();
      expect(wordErrors(Q1, await voice.transcript(0, 60_000))).toBeLessThanOrEqual(2);
      expect(wordErrors(Q2, await voice.transcript(1, 90_000))).toBeLessThanOrEqual(2);
      const first = voice.turns().nth(0);
      // The first turn was cut while it played: stopped by the core's audio.stop, not played to its end.
      await expect.poll(() => first.getAttribute('data-interrupted'), { timeout: 30_000 }).toBe('true');
      expect(await first.getAttribute('data-playback')).toBe('stopped');
      await first.getByTestId('interrupted').waitFor();
      const stats = await voice.stats();
      expect(stats.audioStops).toBeGreaterThanOrEqual(1);
      expect(stats.playbackStarts).toBeGreaterThanOrEqual(1);
      expect(stats.chunksStopped, 'the reply was playing when the user spoke').toBeGreaterThan(0);
      expect(errors).toEqual([]);
    } catch (err) {
      await failureShot(page, 'barge-in', errors, err);
    }
  });

  it('push-to-talk: sends nothing while the button is up, streams while it is held, and the release ends the turn', async (ctx) => {
    requirePart(ctx, 'chromium', chromiumAvailable());
    requirePart(ctx, 'shared-models', haveVoiceChain);
    // 3 s of silence (the button stays up), the request, silence.
    const mic = micWav('push-to-talk', [{ silence: 3 }, { say: Q_PTT }, { silence: 90 }]);
    const [, speechEnd] = mic.seconds[Q_PTT]!;
    const { page, voice, errors } = await openVoicePage(mic.file);
    try {
      await voice.startChainServices(300_000);
      await voice.setHandsFree(false);
      await voice.start();
      const started = Date.now();
      // Frames are counted as the microphone delivers them (50 a second): they track the file.
      const framesAt = (seconds: number) => Math.round(seconds * 50);
      for (;;) {
        const s = await voice.stats();
        expect(s.framesSent).toBe(0);
        if (s.framesCaptured >= framesAt(2.5) && Date.now() - started >= 1500) break;
        await page.waitForTimeout(100);
      }
      expect((await voice.stats()).captureRms).toBe(0);
      const talk = page.getByTestId('talk');
      await talk.hover();
      await page.mouse.down();
      await expect.poll(async () => (await voice.stats()).framesSent, { timeout: 10_000 }).toBeGreaterThan(10);
      // Hold until just after the request ends in the file, then release.
      await expect.poll(async () => (await voice.stats()).framesCaptured, { timeout: 30_000, interval: 100 }).toBeGreaterThanOrEqual(framesAt(speechEnd + 0.3));
      await page.mouse.up();
      const sentAtRelease = (await voice.stats()).framesSent;
      expect(wordErrors(Q_PTT, await voice.transcript(0, 60_000))).toBeLessThanOrEqual(2);
      const s = await voice.stats();
      expect(s.captureRms).toBeGreaterThan(0.01);
      expect(s.framesSent).toBe(sentAtRelease);
      // The reply plays; Stop cuts it at once and marks the turn interrupted.
      await page.locator('[data-testid="voice-state"][data-state="speaking"]').waitFor({ timeout: 60_000 });
      await expect.poll(async () => (await voice.stats()).playbackStarts, { timeout: 30_000 }).toBeGreaterThanOrEqual(1);
      await page.getByTestId('voice-stop').click();
      const turn = voice.turns().first();
      await expect.poll(() => turn.getAttribute('data-playback')).toBe('stopped');
      expect(await turn.getAttribute('data-interrupted')).toBe('true');
      expect((await voice.stats()).chunksStopped).toBeGreaterThan(0);
      expect(errors).toEqual([]);
    } catch (err) {
      await failureShot(page, 'push-to-talk', errors, err);
    }
  }, 600_000);

  it('a denied microphone says what to do, and no session is left open', async (ctx) => {
    requirePart(ctx, 'chromium', chromiumAvailable());
    requirePart(ctx, 'shared-models', haveVoiceChain);
    // A stopped chain service is named with a Start button.
    expect((await runAima(['service', 'stop', 'voice-tts'], { AIMA_HOME: home })).code).toBe(0);
    const { page, voice, errors } = await openVoicePage(null);
    try {
      await expect.poll(() => voice.problems().count(), { timeout: 15_000 }).toBe(1);
      expect(await voice.problems().first().innerText()).toMatch(/TTS service 'voice-tts' is stopped\s+—\s+Start/);
      await voice.startChainServices(300_000);
      await page.getByTestId('voice-start').click();
      const banner = page.getByTestId('voice-error');
      await banner.waitFor({ timeout: 15_000 });
      expect(await banner.innerText()).toMatch(/Microphone access was denied\. Allow the microphone .* then press Start again/);
      expect(await page.getByTestId('voice-start').isEnabled()).toBe(true);
      expect((await voice.stats()).framesCaptured).toBe(0);
      expect(errors).toEqual([]);
    } catch (err) {
      await failureShot(page, 'denied', errors, err);
    }
  }, 600_000);

  it('with an empty library the set-up card offers the starter set and says what is missing', async (ctx) => {
    requirePart(ctx, 'chromium', chromiumAvailable());
    const emptyHome = tempHome('aima-voice-empty-');
    const empty = await startServe({ AIMA_HOME: emptyHome });
    const browser = await launchChromium();
    browsers.push(browser);
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    try {
      await page.goto(empty.loginUrl);
      await page.goto(`${empty.url}/#/voice`);
      await new AppShell(page).open('voice');
      const voice = new VoicePageObject(page);
      await voice.setupCard().waitFor({ timeout: 15_000 });
      // The same starters as the Models page, each with its Download button (progress lands in the downloads' rows).
      const starters = page.getByTestId('voice-starters').locator('[data-starter]');
      await expect.poll(() => starters.count(), { timeout: 15_000 }).toBeGreaterThanOrEqual(2);
      expect(await page.getByTestId('voice-starters').innerText()).toMatch(/no ASR or LLM model the embedded engines can run/);
      expect(await starters.first().getByRole('button', { name: 'Download' }).isVisible()).toBe(true);
      // Nothing to plan with: the plan's refusal names what to import, and nothing can be started.
      await page.getByTestId('voice-setup-error').waitFor({ timeout: 15_000 });
      expect(await page.getByTestId('voice-setup-error').innerText()).toMatch(/No ASR model or service found for voice/);
      expect(await page.getByTestId('voice-setup-start').isDisabled()).toBe(true);
      expect(await page.locator('body').innerText()).not.toMatch(/terminal|aima voice setup/i);
      expect(errors).toEqual([]);
    } finally {
      await empty.stop();
    }
  }, 120_000);

  it('on a GPU someone else has filled, the budget refuses the LLM there, names the holder, and "Use this" moves it to the CPU', async (ctx) => {
    requirePart(ctx, 'chromium', chromiumAvailable());
    requirePart(ctx, 'shared-models', haveVoiceChain);
    const fullEnv = {
      AIMA_HOME: tempHome('aima-voice-full-'),
      AIMA_NVIDIA_SMI: path.join(repoRoot, 'test/fixtures/bin/fake-nvidia-smi'),
      AIMA_NVIDIA_SMI_FIXTURE: path.join(repoRoot, 'test/fixtures/nvidia-smi/full'),
    };
    const full = await startServe(fullEnv);
    const browser = await launchChromium();
    browsers.push(browser);
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    try {
      expect((await runAima(['model', 'import', storiesModel, '--kind', 'llm'], fullEnv, 120_000)).code).toBe(0);
      expect((await runAima(['model', 'import', whisperModel, '--kind', 'asr'], fullEnv, 120_000)).code).toBe(0);
      await page.goto(full.loginUrl);
      await page.goto(`${full.url}/#/voice`);
      await new AppShell(page).open('voice');
      const voice = new VoicePageObject(page);
      await voice.setupCard().waitFor({ timeout: 15_000 });
      const budget = page.locator('[data-testid="voice-budget"]');
      // Automatic: the full GPU leaves the LLM on the CPU, and the chain fits.
      await expect.poll(() => budget.getAttribute('data-verdict'), { timeout: 30_000 }).toBe('fits');
      expect(await voice.budgetLinks().nth(1).getAttribute('data-device')).toBe('cpu');
      expect(await page.getByTestId('budget-holders').innerText()).toMatch(/\/usr\/bin\/python3 \(pid 39001, 78\.42 GiB on GPU 0\)/);
      // On the GPU, as asked: does not fit; nothing can be started but by force; the ways out are offered.
      await page.locator('select[name="llmDevice"]').selectOption('gpu');
      await expect.poll(() => budget.getAttribute('data-verdict'), { timeout: 30_000 }).toBe('does-not-fit');
      expect(await voice.budgetLinks().nth(1).getAttribute('data-device')).toBe('gpu');
      expect(await page.getByTestId('budget-verdict').innerText()).toMatch(/^Does not fit\. The voice stack needs .* but NVIDIA H100 80GB HBM3 has 0\.0 KiB usable/);
      expect(await page.getByTestId('budget-total').innerText()).toMatch(/Total.*GPU \+ .* RAM.*free: 0\.0 KiB usable on GPU 0 \(NVIDIA H100 80GB HBM3\)/s);
      expect(await page.getByTestId('voice-setup-start').isDisabled()).toBe(true);
      expect(await page.getByTestId('voice-setup-force').isVisible()).toBe(true);
      const cpuWay = page.getByTestId('budget-alternatives').locator('li', { hasText: 'on the CPU' });
      await cpuWay.getByRole('button', { name: 'Use this' }).click();
      await expect.poll(() => budget.getAttribute('data-verdict'), { timeout: 30_000 }).toBe('fits');
      expect(await page.locator('select[name="llmDevice"]').inputValue()).toBe('cpu');
      expect(await voice.budgetLinks().nth(1).getAttribute('data-device')).toBe('cpu');
      expect(await page.getByTestId('voice-setup-start').isEnabled()).toBe(true);
      expect(errors).toEqual([]);
    } finally {
      await full.stop();
    }
  }, 180_000);

  it('fetches the starter LLM from the page with progress and cancel (a local Hub), and the chain plans with it', async (ctx) => {
    requirePart(ctx, 'chromium', chromiumAvailable());
    requirePart(ctx, 'shared-models', haveVoiceChain);
    // The starter's repository and file as resources/starter-models.json names them, holding stories260K (padded, so a throttled download takes seconds).
    const hub = await FakeHub.start({
      'bartowski/Qwen2.5-0.5B-Instruct-GGUF': [{ path: 'Qwen2.5-0.5B-Instruct-Q4_K_M.gguf', content: Buffer.concat([readFileSync(storiesModel), randomBytes(3 * 1024 * 1024)]), lfs: true }],
    });
    const hubEnv = { AIMA_HOME: tempHome('aima-voice-starter-'), HF_ENDPOINT: hub.url };
    const withHub = await startServe(hubEnv);
    const browser = await launchChromium();
    browsers.push(browser);
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    try {
      await page.goto(withHub.loginUrl);
      await page.goto(`${withHub.url}/#/voice`);
      await new AppShell(page).open('voice');
      const starters = page.getByTestId('voice-starters');
      await starters.locator('[data-starter="llm"]').waitFor({ timeout: 15_000 });
      // A slow download shows its progress and can be cancelled.
      hub.faults.throttleBps = 256 * 1024;
      await starters.locator('[data-starter="llm"]').getByRole('button', { name: 'Download' }).click();
      const row = starters.locator('[data-download]');
      await row.locator('[data-field="bytes"]', { hasText: /^(?!0\.0 KiB)/ }).waitFor({ timeout: 30_000 });
      expect(await row.getAttribute('data-state')).toBe('downloading');
      expect(await row.locator('[data-field="bytes"]').innerText()).toMatch(/ \/ 4\.1 MiB$/);
      await row.getByRole('button', { name: 'Cancel' }).click();
      await row.waitFor({ state: 'detached', timeout: 15_000 });
      // Again at full speed: it completes, is imported, and the LLM picker offers it.
      hub.faults.throttleBps = null;
      await starters.locator('[data-starter="llm"]').getByRole('button', { name: 'Download' }).click();
      await starters.locator('[data-download][data-state="completed"]').waitFor({ timeout: 60_000 });
      const llmOptions = page.getByTestId('voice-setup-llm').locator('option');
      await expect.poll(() => llmOptions.count(), { timeout: 15_000 }).toBe(2);
      const llmName = (await llmOptions.nth(1).getAttribute('value'))!;
      // Named from its GGUF header; the library says it came from the starter's file.
      const models = ((await (await page.request.post(`${withHub.url}/api/call/models.list`, { data: {} })).json()) as { result: { name: string; path: string }[] }).result;
      expect(models.find((m) => m.name === llmName)?.path).toMatch(/Qwen2\.5-0\.5B-Instruct-Q4_K_M\.gguf$/);
      // The ASR is still missing until one is imported; then the chain plans with the fetched LLM.
      expect(await page.getByTestId('voice-setup-error').innerText()).toMatch(/No ASR model or service found/);
      expect((await runAima(['model', 'import', whisperModel, '--kind', 'asr'], hubEnv, 120_000)).code).toBe(0);
      await expect.poll(() => page.locator('[data-testid="voice-budget"]').getAttribute('data-verdict'), { timeout: 30_000 }).toBe('fits');
      expect(await new VoicePageObject(page).budgetLinks().nth(1).innerText()).toContain(llmName);
      expect(errors).toEqual([]);
    } finally {
      await withHub.stop();
      await hub.close();
    }
  }, 180_000);
});
