/**
 * The Dashboard in Chromium against `aima serve`, with nvidia-smi replaying the H100 recording:
 * the GPU card (name, total VRAM, temperature, power), a live chart that redraws as samples
 * arrive, the per-process VRAM list, CPU/RAM/disk/Docker cards; and the "No GPU detected" state
 * with each probe's outcome when nvidia-smi is missing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { startServe, tempHome, type ServeHandle } from '../support/cli.js';
import { launchChromium, chromiumAvailable, screenshotPath } from '../support/browser.js';
import { repoRoot, requirePart, sharedFixture } from '../support/system.js';
import { DashboardPageObject } from './pages/dashboard-page.js';

const fake = path.join(repoRoot, 'test/fixtures/bin/fake-nvidia-smi');
const h100 = sharedFixture('nvidia-smi/h100-80gb');
const busy = path.join(repoRoot, 'test/fixtures/nvidia-smi/busy');
const haveH100 = existsSync(path.join(h100, 'query.csv'));

let browser: Browser | undefined;
const serves: ServeHandle[] = [];

beforeAll(async () => {
  if (chromiumAvailable()) browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  for (const s of serves) await s.stop();
});

async function open(env: Record<string, string>) {
  const serve = await startServe({ AIMA_HOME: tempHome('aima-dash-'), AIMA_NVIDIA_SMI: fake, ...env });
  serves.push(serve);
  const page = await browser!.newPage({ viewport: { width: 1280, height: 1000 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(serve.loginUrl);
  return { page, errors, dash: new DashboardPageObject(page) };
}

describe('Dashboard', () => {
  it('shows the H100 card with live charts that update every second', async (ctx) => {
    requirePart(ctx, 'chromium', chromiumAvailable());
    requirePart(ctx, 'shared-fixtures', haveH100);
    expect(existsSync(path.join(repoRoot, 'out/renderer/index.html')), 'run `npm run build` first').toBe(true);
    const { page, errors, dash } = await open({ AIMA_NVIDIA_SMI_FIXTURE: h100 });
    await expect.poll(() => dash.gpuCards().count(), { timeout: 15_000 }).toBe(1);
    const card = dash.gpuCard(0);
    expect(await card.getByTestId('gpu-name').innerText()).toBe('NVIDIA H100 80GB HBM3');
    expect(await card.getByTestId('gpu-vram').innerText()).toBe('0 / 81559 MiB');
    expect(await dash.metric(0, 'Temperature').innerText()).toBe('34 °C');
    expect(await dash.metric(0, 'Power').innerText()).toBe('123 / 700 W');
    expect(await card.innerText()).toMatch(/driver 580\.159\.04 · CUDA 13\.0 · compute 9\.0/);
    await expect.poll(() => dash.chartPoints('GPU 0 temperature °C'), { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
    expect(await card.innerText(), 'a live sample keeps what only the report knows').toMatch(/CUDA 13\.0/);
    expect(await card.getByTestId('gpu-processes').innerText()).toMatch(/No process holds memory/);

    // The chart draws on a canvas and scrolls: more points, different pixels a few seconds later.
    const label = 'GPU 0 temperature °C';
    await expect.poll(() => dash.chartPoints(label), { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    const before = { points: await dash.chartPoints(label), pixels: await dash.chartPixels(label) };
    await expect.poll(() => dash.chartPoints(label), { timeout: 10_000 }).toBeGreaterThanOrEqual(before.points + 2);
    expect(await dash.chartPixels(label)).not.toBe(before.pixels);

    await page.getByTestId('cpu-card').waitFor();
    expect(await page.getByTestId('ram-card').innerText()).toMatch(/GiB used of .* GiB/);
    expect(await page.getByTestId('disk-card').innerText()).toMatch(/free of/);
    const docker = await dash.docker().innerText();
    expect(docker).toMatch(/Fix:|Running/); // either it runs (and GPU support is explained) or the fix is shown
    await page.screenshot({ path: screenshotPath('dashboard.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('splits a busy GPU into AIMA services and other processes, named', async (ctx) => {
    requirePart(ctx, 'chromium', chromiumAvailable());
    const { page, dash } = await open({ AIMA_NVIDIA_SMI_FIXTURE: busy });
    await expect.poll(() => dash.processRows('foreign').count(), { timeout: 15_000 }).toBe(4);
    expect(await dash.processRows('foreign').first().innerText()).toMatch(/llama-server\s+41235\s+18620 MiB/);
    expect(await dash.metric(0, 'Utilization').innerText()).toBe('87 %');
    expect(await page.getByTestId('gpu-processes').innerText()).toMatch(/unattributed 480 MiB/);
    await page.close();
  });

  it('says "No GPU detected" with each probe when nvidia-smi is missing', async (ctx) => {
    requirePart(ctx, 'chromium', chromiumAvailable());
    const { page, errors, dash } = await open({ AIMA_NVIDIA_SMI: '/nonexistent/nvidia-smi' });
    await dash.noGpu().waitFor({ timeout: 15_000 });
    expect(await dash.noGpu().innerText()).toMatch(/No GPU detected/);
    expect(await dash.probe('nvidia-smi').getAttribute('data-status')).toBe('not-present');
    expect(await dash.probe('nvidia-smi').innerText()).toMatch(/not present/);
    expect(await dash.probe('rocm-smi').innerText()).toMatch(/not present/);
    expect(await dash.gpuCards().count()).toBe(0);
    await page.getByTestId('ram-card').waitFor();
    expect(errors).toEqual([]);
    await page.close();
  });
});
