/** Page object for the Downloads panel on the Models page. */
import type { Page } from 'playwright-core';

export class DownloadsPanelObject {
  constructor(readonly page: Page) {}

  starters() {
    return this.page.getByTestId('starters');
  }

  /** The hub the search goes to: `huggingface` or `modelscope`. */
  async chooseSource(source: 'huggingface' | 'modelscope') {
    await this.page.selectOption('select[name="hub-source"]', source);
  }

  async search(query: string) {
    await this.page.fill('input[name="hub-query"]', query);
    await this.page.click('[data-testid="hub-search"] form button[type="submit"]');
  }

  async openRepo(repo: string) {
    await this.page.click(`[data-repo="${repo}"]`);
    await this.page.getByTestId('repo-files').waitFor();
  }

  quantRow(quant: string) {
    return this.page.locator(`[data-testid="repo-files"] tr[data-quant="${quant}"]`);
  }

  async download(quant: string) {
    await this.quantRow(quant).locator('button', { hasText: 'Download' }).click();
  }

  row() {
    return this.page.locator('[data-download]').first();
  }

  async waitState(state: string, timeout = 30_000) {
    await this.page.locator(`[data-download][data-state="${state}"]`).first().waitFor({ timeout });
  }

  async click(label: 'Pause' | 'Resume' | 'Cancel') {
    await this.row().locator('button', { hasText: label }).click();
  }
}
