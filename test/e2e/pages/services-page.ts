/** Page object for the Services page: the list with its toggles, the create dialog, the log viewer. */
import type { Page } from 'playwright-core';

export class ServicesPageObject {
  constructor(readonly page: Page) {}

  /** Fills and submits the create dialog. */
  async create(opts: { model: string; engine: string; device?: 'cpu' | 'gpu'; port?: number; name: string }) {
    await this.page.getByTestId('new-service').click();
    const dialog = this.page.getByTestId('create-service');
    await dialog.locator('select[name="model"]').selectOption(opts.model);
    await dialog.locator(`select[name="engine"] option[value="${opts.engine}"]`).waitFor({ state: 'attached' });
    await dialog.locator('select[name="engine"]').selectOption(opts.engine);
    await dialog.locator('select[name="device"]').selectOption(opts.device ?? 'cpu');
    await dialog.locator('input[name="port"]').fill(String(opts.port ?? 0));
    await dialog.locator('input[name="name"]').fill(opts.name);
    await dialog.locator('button[type="submit"]').click();
  }

  dialog() {
    return this.page.getByTestId('create-service');
  }

  fitVerdict() {
    return this.dialog().getByTestId('fit-verdict');
  }

  row(name: string) {
    return this.page.locator(`tr[data-service="${name}"]`);
  }

  toggle(name: string) {
    return this.row(name).getByRole('switch');
  }

  state(name: string) {
    return this.row(name).getByTestId('state');
  }

  async waitState(name: string, state: string, timeoutMs = 30_000) {
    await this.row(name).locator(`[data-testid="state"]`, { hasText: new RegExp(`^${state}$`) }).waitFor({ timeout: timeoutMs });
  }

  async openLogs(name: string) {
    await this.row(name).getByRole('button', { name: 'Logs' }).click();
    await this.page.getByTestId('log-viewer').waitFor();
  }

  logText() {
    return this.page.getByTestId('log-lines').innerText();
  }

  /** Why it is in its state (a crash, an eviction, an idle unload). */
  reason(name: string) {
    return this.row(name).getByTestId('reason');
  }

  /** The scheduler's decision at its last start. */
  placement(name: string) {
    return this.row(name).getByTestId('placement');
  }

  error() {
    return this.page.getByTestId('service-error');
  }
}
