/**
 * Use from another machine, in Debian's Chromium: a name that is not localhost (aima.test, mapped
 * to 127.0.0.1 by Chromium's host-resolver rules) reaching `aima serve` bound beyond loopback.
 * Over plain HTTP the Voice page says the microphone needs HTTPS and where to turn it on; over
 * HTTPS with the install CA trusted (its SPKI given to Chromium) the fake-microphone voice turn
 * runs end to end. The Settings page creates a key, listens on the network, shows the URLs and
 * the CA, and revokes the key (refused for the last one while listening on the network).
 */
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { readWav, writeWav } from '../../src/lib/audio/wav.js';
import { resample, rms, toMono } from '../../src/lib/audio/resample.js';
import { chromiumAvailable, launchChromium } from '../support/browser.js';
import { runAima, startServe, tempHome, type ServeHandle } from '../support/cli.js';
import { fliteWav, whisperModel, wordErrors } from '../support/speech.js';
import { requirePart } from '../support/system.js';
import { haveVoiceChain, storiesModel } from '../support/voice.js';
import { AppShell } from './pages/app-shell.js';
import { VoicePageObject } from './pages/voice-page.js';

const NAME = 'aima.test';
const RESOLVE = `--host-resolver-rules=MAP ${NAME} 127.0.0.1`;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function browser(args: string[]): Promise<Browser> {
  const b = await launchChromium(args);
  cleanups.push(() => b.close());
  return b;
}

async function serveOn(home: string, args: string[] = []): Promise<ServeHandle> {
  const serve = await startServe({ AIMA_HOME: home }, args);
  cleanups.push(() => serve.stop());
  return serve;
}

async function createKey(home: string): Promise<string> {
  const r = await runAima(['key', 'create', 'laptop', '--json'], { AIMA_HOME: home });
  if (r.code !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout).key as string;
}

/** base64 SHA-256 of a certificate's SubjectPublicKeyInfo: what --ignore-certificate-errors-spki-list takes. */
const spki = (pem: string) => createHash('sha256').update(new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' })).digest('base64');

/** The login screen's form for another machine: the API key, posted (never in a URL). */
async function logInWithKey(page: Page, key: string): Promise<void> {
  await page.getByText('not logged in').waitFor();
  await page.locator('input[name="key"]').fill(key);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('[data-nav="voice"]').waitFor();
}

describe('remote access in the browser', () => {
  it('over plain HTTP at a non-localhost name, the Voice page says the microphone needs HTTPS and how to turn it on', async (ctx) => {
    requirePart(ctx, 'chromium', chromiumAvailable());
    const home = tempHome('aima-remote-ui-');
    const key = await createKey(home);
    await runAima(['stop'], { AIMA_HOME: home });
    const serve = await serveOn(home, ['--host', '0.0.0.0', '--name', NAME]);
    const port = new URL(serve.url).port;
    const page = await (await browser([RESOLVE])).newPage();
    await page.goto(`http://${NAME}:${port}/#/voice`);
    await logInWithKey(page, key);
    await new AppShell(page).open('voice');
    const hint = page.getByTestId('voice-needs-https');
    await hint.waitFor();
    const text = await hint.innerText();
    expect(text).toContain('The microphone needs HTTPS');
    expect(text).toContain(`https://${NAME}:${port}/`);
    expect(text).toContain('Settings → Remote access');
    expect(text).not.toContain('127.0.0.1');
  }, 120_000);

  it('the Settings page creates a key, listens on the network, shows the URLs and the CA, and revokes the key', async (ctx) => {
    requirePart(ctx, 'chromium', chromiumAvailable());
    const home = tempHome('aima-remote-ui-');
    const serve = await serveOn(home);
    const port = new URL(serve.url).port;
    const page = await (await browser([])).newPage({ viewport: { width: 1280, height: 1400 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(serve.loginUrl);
    await new AppShell(page).open('settings');
    const section = page.getByTestId('remote-access');
    await section.getByTestId('no-keys').waitFor();
    const listenButton = section.getByRole('button', { name: 'Listen on the network' });
    // No key yet: listening on the network is not offered.
    expect(await listenButton.isDisabled()).toBe(true);

    await section.locator('input[name="keyName"]').fill('laptop');
    await section.getByRole('button', { name: 'Create key' }).click();
    const secret = (await section.getByTestId('created-key-secret').innerText()).trim();
    expect(secret.length).toBeGreaterThan(20);
    await expect.poll(() => section.getByTestId('api-key').count()).toBe(1);
    // The key shown works against /v1.
    expect((await fetch(`${serve.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(200);

    await section.locator('input[name="serverNames"]').fill(NAME);
    await listenButton.click();
    await section.getByTestId('remote-urls').waitFor({ timeout: 20_000 });
    expect(await section.getByTestId('remote-urls').innerText()).toContain(`https://${NAME}:${port}/`);
    expect(await section.getByTestId('listen-state').innerText()).toMatch(/On the network \(0\.0\.0\.0, port \d+\), HTTPS and HTTP/);
    const trust = section.getByTestId('trust-ca');
    const ca = await (await fetch(`${serve.url}/aima-ca.pem`)).text();
    expect(await trust.innerText()).toContain(new X509Certificate(ca).fingerprint256);
    expect(await trust.locator('a[download]').getAttribute('href')).toBe('/aima-ca.pem');
    // The same process kept running: nothing restarted.
    expect(serve.child.exitCode).toBeNull();

    // The last key while listening on the network: refused, with the reason.
    await section.getByTestId('api-key').getByRole('button', { name: 'Revoke' }).click();
    await expect.poll(() => section.getByTestId('remote-error').innerText().catch(() => '')).toMatch(/last API key/);
    expect(await section.getByTestId('api-key').count()).toBe(1);

    // Back to this machine only; then the key can go.
    await section.getByRole('button', { name: 'This machine only' }).click();
    await expect.poll(() => section.getByTestId('listen-state').innerText(), { timeout: 20_000 }).toMatch(/This machine only/);
    await section.getByTestId('api-key').getByRole('button', { name: 'Revoke' }).click();
    await section.getByTestId('no-keys').waitFor();
    const keys = JSON.parse((await runAima(['key', 'list', '--json'], { AIMA_HOME: home })).stdout) as { name: string; revokedAt: string | null }[];
    expect(keys).toEqual([expect.objectContaining({ name: 'laptop', revokedAt: expect.any(String) })]);
    expect(errors).toEqual([]);
  }, 180_000);

  it('over HTTPS with the install CA trusted, the fake-microphone voice turn runs end to end', async (ctx) => {
    requirePart(ctx, 'chromium', chromiumAvailable());
    requirePart(ctx, 'shared-models', haveVoiceChain);
    const home = tempHome('aima-remote-voice-');
    const serve = await serveOn(home);
    const aima = (...args: string[]) => runAima(args, { AIMA_HOME: home }, 180_000);
    const setup = await aima('voice', 'setup', '--asr-model', whisperModel, '--llm-model', storiesModel, '--json');
    expect(setup.code, setup.stderr).toBe(0);
    for (const s of ['voice-asr', 'voice-llm', 'voice-tts']) {
      const r = await aima('service', 'start', s, '--wait', '--timeout', '170');
      expect(r.code, r.stderr).toBe(0);
    }
    const key = await createKey(home);
    // Listening on the network moves the listener; the services keep running.
    const listen = await aima('settings', 'listen', '0.0.0.0', '--name', NAME);
    expect(listen.code, listen.stderr).toBe(0);
    const port = new URL(serve.url).port;
    const ca = await (await fetch(`${serve.url}/aima-ca.pem`)).text();

    // The fake microphone: a second of silence, the question, then long silence (48 kHz, as real ones run).
    const dir = mkdtempSync(path.join(os.tmpdir(), 'aima-remote-voice-'));
    const question = 'what is the weather like today';
    const spoken = readWav(readFileSync(fliteWav(question, path.join(dir, 'q.wav'))));
    const speech = resample(toMono(spoken.channels), spoken.sampleRate, 48_000);
    const all = new Float32Array(48_000 + speech.length + 90 * 48_000);
    all.set(speech, 48_000);
    const wav = path.join(dir, 'mic.wav');
    writeFileSync(wav, writeWav(all, 48_000));
    expect(rms(speech)).toBeGreaterThan(0.01);

    const b = await browser([RESOLVE, `--ignore-certificate-errors-spki-list=${spki(ca)}`, '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-audio-capture=${wav}`]);
    const page = await b.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const origin = `https://${NAME}:${port}`;
    // The laptop's way in: the login screen's API key form.
    await page.goto(`${origin}/`);
    await logInWithKey(page, key);
    expect(await page.evaluate(() => (globalThis as unknown as { isSecureContext: boolean }).isSecureContext)).toBe(true);
    await page.goto(`${origin}/?voice-stats#/voice`);
    await new AppShell(page).open('voice');
    const voice = new VoicePageObject(page);
    expect(await page.getByTestId('voice-needs-https').count()).toBe(0);
    await voice.startChainServices(120_000);
    await voice.start();
    expect(wordErrors(question, await voice.transcript(0, 90_000))).toBeLessThanOrEqual(2);
    const turn = voice.turns().first();
    await turn.locator('[data-playback="ended"]').or(page.locator('[data-testid="voice-turn"][data-playback="ended"]')).first().waitFor({ timeout: 120_000 });
    expect((await turn.getByTestId('assistant-text').innerText()).trim().length).toBeGreaterThan(0);
    const stats = await voice.stats();
    expect(stats.captureRms).toBeGreaterThan(0.01);
    expect(stats.playbackEnds).toBeGreaterThanOrEqual(1);
    expect(errors).toEqual([]);
  }, 600_000);
});
