/** Page object for the Voice page: chain problems and their Start buttons, the session, the turns. */
import type { Locator, Page } from 'playwright-core';

/** The session's counters, which the page exposes as window.__aimaVoiceStats when opened with `?voice-stats`. */
export type { VoiceStats } from '../../../src/renderer/src/features/voice/voice-stats.js';
import type { VoiceStats } from '../../../src/renderer/src/features/voice/voice-stats.js';

export class VoicePageObject {
  constructor(readonly page: Page) {}

  stats(): Promise<VoiceStats> {
    return this.page.evaluate('window.__aimaVoiceStats') as Promise<VoiceStats>;
  }

  problems(): Locator {
    return this.page.getByTestId('chain-problem');
  }

  /** Clicks "Start" on every chain service the page says is stopped, then waits until none is left. */
  async startChainServices(timeoutMs: number): Promise<void> {
    // Until the config and the services list are loaded, "no problem shown" means nothing.
    await this.page.locator('[data-testid="voice-chain"][data-checked="true"]').waitFor({ timeout: 30_000 });
    const buttons = this.page.getByTestId('start-service');
    const deadline = Date.now() + timeoutMs;
    while ((await this.problems().count()) > 0) {
      if (Date.now() > deadline) throw new Error(`chain services still not running: ${(await this.problems().allInnerTexts()).join(' | ')}`);
      if ((await buttons.count()) > 0) await buttons.first().click();
      await this.page.waitForTimeout(250);
    }
  }

  setupCard(): Locator {
    return this.page.getByTestId('voice-setup');
  }

  /** The budget view's rows: one per link, then the total. */
  budgetLinks(): Locator {
    return this.page.getByTestId('budget-link');
  }

  /**
   * Sets the chain up from the page: the setup card (shown while the chain is unset; opened with
   * "Change…" otherwise), the models picked per link, then "Set up and start" once the budget
   * says the chain fits; waits until the card has gone (the services run).
   */
  async pickChain(choices: { asr?: string; llm?: string; tts?: string }): Promise<void> {
    await this.page.locator('[data-testid="voice-chain"][data-checked="true"]').waitFor({ timeout: 30_000 });
    if (!(await this.setupCard().isVisible())) await this.page.getByTestId('voice-setup-open').click();
    await this.setupCard().waitFor({ timeout: 15_000 });
    for (const [role, name] of Object.entries(choices)) await this.page.getByTestId(`voice-setup-${role}`).selectOption(name);
  }

  /** Clicks "Set up and start"; returns the first progress line shown, once the card has gone. */
  async applySetup(timeoutMs: number): Promise<string> {
    const go = this.page.getByTestId('voice-setup-start');
    await this.page.locator('[data-testid="voice-setup-start"]:not([disabled])').waitFor({ timeout: 30_000 });
    await go.click();
    const progress = this.page.getByTestId('voice-setup-progress');
    await progress.waitFor({ timeout: 15_000 });
    const line = await progress.innerText().catch(() => '');
    await this.setupCard().waitFor({ state: 'detached', timeout: timeoutMs });
    return line;
  }

  async setHandsFree(on: boolean): Promise<void> {
    const box = this.page.locator('input[name="handsFree"]');
    if ((await box.isChecked()) !== on) await box.click();
  }

  /** Starts the session and waits until the core said ready. */
  async start(): Promise<void> {
    await this.page.getByTestId('voice-start').click();
    await this.page.locator('[data-testid="voice-state"]:not([data-state="connecting"])').waitFor({ timeout: 30_000 });
  }

  turns(): Locator {
    return this.page.getByTestId('voice-turn');
  }

  /** The n-th live turn (0-based) once it has a non-empty transcript. */
  async transcript(n: number, timeoutMs: number): Promise<string> {
    const user = this.turns().nth(n).getByTestId('user-text');
    // Polled from here: the UI's CSP forbids the eval that waitForFunction with a string needs.
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const text = (await user.count()) > 0 ? (await user.innerText()).trim() : '';
      if (text && text !== '…') return text;
      if (Date.now() > deadline) throw new Error(`turn ${n} has no transcript after ${timeoutMs} ms`);
      await this.page.waitForTimeout(200);
    }
  }
}
