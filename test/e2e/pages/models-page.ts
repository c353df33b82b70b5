/** Page object for the Models page. */
import type { Page } from 'playwright-core';

export class ModelsPageObject {
  constructor(readonly page: Page) {}

  async importPath(p: string, opts: { name?: string; mode?: 'link' | 'copy' } = {}) {
    await this.page.fill('input[name="path"]', p);
    await this.page.fill('input[name="name"]', opts.name ?? '');
    await this.page.selectOption('select[name="mode"]', opts.mode ?? 'link');
    await this.page.click('form button[type="submit"]');
  }

  row(name: string) {
    return this.page.locator(`tr[data-model="${name}"]`);
  }

  fact(key: string) {
    return this.page.locator(`[data-testid="model-details"] dd[data-fact="${key}"]`);
  }

  error() {
    return this.page.getByTestId('model-error');
  }
}
