/**
 * The Chat page while its request waits in the gateway's queue (real Chromium, `aima serve`, a
 * real engine process with one slot held by another client): it shows "queued: position 1, about
 * N s" from the live `gateway.queue` event, then the reply streams once the slot frees up.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { runAima, startServe, tempHome, type ServeHandle } from '../support/cli.js';
import { launchChromium, chromiumAvailable } from '../support/browser.js';
import { requirePart } from '../support/system.js';
import { writeFakeEngine } from '../support/services.js';
import { AppShell } from './pages/app-shell.js';

let serve: ServeHandle | undefined;
let browser: Browser | undefined;

beforeAll(async () => {
  if (!chromiumAvailable()) return;
  const home = tempHome();
  // Each streamed answer takes about 3 s (300 chunks, 10 ms apart).
  writeFakeEngine(home, 'slow', ['--tokens', '300', '--token-ms', '10']);
  serve = await startServe({ AIMA_HOME: home });
  const created = await runAima(['service', 'create', 'slowchat', '--engine', 'slow', '--concurrency', '1'], { AIMA_HOME: home });
  if (created.code !== 0) throw new Error(created.stderr);
  const started = await runAima(['service', 'start', 'slowchat', '--wait'], { AIMA_HOME: home });
  if (started.code !== 0) throw new Error(started.stderr);
  browser = await launchChromium();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await serve?.stop();
});

describe('Chat page queue position', () => {
  it('shows the position and ETA while the reply waits for the one slot, then streams it', async (ctx) => {
    requirePart(ctx, 'chromium', chromiumAvailable());
    const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(serve!.loginUrl);
    await page.goto(`${serve!.url}/?#/chat`);
    await new AppShell(page).open('chat');
    await expect.poll(() => page.locator('select[name="model"]').inputValue()).toBe('slowchat');

    // Another client holds the only slot with a ~3 s stream.
    const blocker = await fetch(`${serve!.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${serve!.token}` },
      body: JSON.stringify({ model: 'slowchat', stream: true, messages: [{ role: 'user', content: 'hold' }] }),
    });
    expect(blocker.status).toBe(200);
    const drained = blocker.text();

    await page.fill('input[name="message"]', 'hello');
    await page.click('form button[type="submit"]');
    const queued = page.getByTestId('queue-position');
    await queued.waitFor({ timeout: 5000 });
    // No service-time samples yet: the ETA is the chat endpoint's default (5 s).
    expect(await queued.innerText()).toBe('queued: position 1, about 5 s');
    expect(await page.getByTestId('requests-waiting').innerText()).toContain('slowchat /v1/chat/completions: waiting, position 1 of 1');

    await drained;
    await page.getByTestId('timings').waitFor({ timeout: 30_000 });
    expect(await queued.count()).toBe(0);
    expect(await page.locator('.msg.assistant .bubble').innerText()).toMatch(/t0 .*t299/s);
    expect(errors).toEqual([]);
  });
});
