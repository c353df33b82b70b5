/** Page object for the Dashboard: GPU cards with live charts, host cards, the no-GPU state. */
import type { Page } from 'playwright-core';

export class DashboardPageObject {
  constructor(readonly page: Page) {}

  gpuCards() {
    return this.page.getByTestId('gpu-card');
  }
  gpuCard(index: number) {
    return this.page.locator(`[data-testid="gpu-card"][data-gpu="${index}"]`);
  }
  metric(index: number, label: string) {
    return this.gpuCard(index).locator(`[data-metric="${label}"] strong`);
  }
  /** The chart wrapper (its data-points attribute counts the samples drawn) and its canvas. */
  chart(label: string) {
    return this.page.locator(`[data-chart="${label}"]`);
  }
  async chartPoints(label: string): Promise<number> {
    return Number(await this.chart(label).getAttribute('data-points'));
  }
  async chartPixels(label: string): Promise<string> {
    return this.chart(label)
      .locator('canvas')
      .evaluate((c) => (c as unknown as { toDataURL(): string }).toDataURL());
  }
  processRows(owner: 'aima' | 'foreign') {
    return this.page.locator(`[data-testid="gpu-processes"] tr[data-owner="${owner}"]`);
  }
  noGpu() {
    return this.page.getByTestId('no-gpu');
  }
  probe(tool: string) {
    return this.page.locator(`[data-probe="${tool}"]`);
  }
  docker() {
    return this.page.getByTestId('docker-card');
  }
}
