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
  /** The Nodes section: a row per node, its add form and its error banner. */
  nodes() {
    return this.page.getByTestId('nodes-card');
  }
  nodeRow(name: string) {
    return this.nodes().locator(`tr[data-node="${name}"]`);
  }
  async addNode(name: string, docker: string, tlsDir: string): Promise<void> {
    const card = this.nodes();
    await card.getByLabel('Node name').fill(name);
    await card.getByLabel('Docker endpoint').fill(docker);
    await card.getByLabel('TLS folder').fill(tlsDir);
    await card.getByRole('button', { name: 'Add node' }).click();
  }
  /** Opens a node's cluster link form, fills it and saves (an empty address clears the link). */
  async setClusterLink(name: string, address: string, iface: string): Promise<void> {
    const row = this.nodeRow(name);
    const edit = row.getByRole('button', { name: `Edit the cluster link of ${name}` });
    if (await edit.count()) await edit.click();
    await row.getByLabel('Cluster address').fill(address);
    await row.getByLabel('Cluster interface').fill(iface);
    await row.getByRole('button', { name: 'Save' }).click();
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
