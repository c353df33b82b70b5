/** Page object for the app shell: navigation and the Settings page. */
import type { Page } from 'playwright-core';

export const PAGE_IDS = ['dashboard', 'models', 'services', 'chat', 'voice', 'settings'] as const;

export class AppShell {
  constructor(readonly page: Page) {}

  async open(page: (typeof PAGE_IDS)[number]) {
    await this.page.click(`[data-nav="${page}"]`);
    await this.page.locator(`[data-nav="${page}"][aria-current="page"]`).waitFor();
  }

  heading() {
    return this.page.locator('main h1').innerText();
  }
}

export class SettingsPageObject {
  constructor(readonly page: Page) {}

  onQuit() {
    return this.page.locator('select[name="onQuit"]');
  }
  startAtLogin() {
    return this.page.locator('input[name="startAtLogin"]');
  }
  engineLimit(engine: string, field: 'memory' | 'cpus' | 'gpus') {
    return this.page.locator(`input[name="${engine}.${field}"]`);
  }
  /** The scheduler's number settings (saved on leaving the field). */
  scheduler(name: 'servicesMemoryCapMiB' | 'onDemandIdleTtlSeconds' | 'antiThrashSeconds') {
    return this.page.locator(`input[name="${name}"]`);
  }
  status() {
    return this.page.locator('.settings [role="status"]');
  }
  engineLimitError() {
    return this.page.locator('.engine-resources [role="alert"]');
  }
  async waitSaved() {
    await this.page.locator('.settings [role="status"]', { hasText: 'Saved.' }).waitFor();
  }
}
