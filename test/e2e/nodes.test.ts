/**
 * The Dashboard's Nodes section in Chromium against `aima serve` and a second real dockerd (its
 * own network namespace, TLS): the local node listed; its cluster link edited (a bad address
 * refused with the field, a good one shown in the row); adding with a bad TLS folder shows the error
 * naming the file and adds nothing; adding with good files shows the node reachable with its
 * Docker version; a silent partition turns it unreachable live (nodes.changed), the link back
 * reachable again; Remove takes it away.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { startServe, tempHome, type ServeHandle } from '../support/cli.js';
import { launchChromium, chromiumAvailable, screenshotPath } from '../support/browser.js';
import { remoteDockerdAvailable, startRemoteDockerd, type RemoteDockerd } from '../support/remote-dockerd.js';
import { dockerAvailable, requirePart } from '../support/system.js';
import { DashboardPageObject } from './pages/dashboard-page.js';

const haveParts = dockerAvailable() && remoteDockerdAvailable();

describe('Dashboard: Nodes', () => {
  let browser: Browser | undefined;
  let serve: ServeHandle | undefined;
  let remote: RemoteDockerd | undefined;
  beforeAll(async () => {
    if (!chromiumAvailable() || !haveParts) return;
    browser = await launchChromium();
    remote = await startRemoteDockerd();
    serve = await startServe({ AIMA_HOME: tempHome('aima-e2e-nodes-') }, [], 60_000);
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await serve?.stop();
    await remote?.stop();
  }, 120_000);

  it('lists local, refuses bad TLS files, adds a node, shows it unreachable and back live, removes it', async (ctx) => {
    requirePart(ctx, 'chromium', chromiumAvailable());
    requirePart(ctx, 'docker', haveParts);
    const r = remote!;
    const page = await browser!.newPage({ viewport: { width: 1280, height: 1200 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(serve!.loginUrl);
    const dash = new DashboardPageObject(page);
    await dash.nodeRow('local').waitFor({ timeout: 20_000 });
    expect(await dash.nodeRow('local').innerText()).toMatch(/reachable/);

    // local's cluster link: a bad address shows the refusal and keeps the form; a good one is shown in the row.
    await dash.setClusterLink('local', '10.0.0.9:6379', 'eth1');
    await expect.poll(() => dash.nodes().getByRole('alert').innerText(), { timeout: 10_000 }).toContain('clusterAddress: "10.0.0.9:6379" has a port or brackets');
    await dash.setClusterLink('local', '10.0.0.9', 'eth1');
    await expect.poll(() => dash.nodeRow('local').innerText(), { timeout: 10_000 }).toMatch(/10\.0\.0\.9\s+on eth1/);
    expect(await dash.nodes().getByRole('alert').count()).toBe(0);

    const empty = mkdtempSync(path.join(tempHome('aima-e2e-tls-'), 'empty-'));
    await dash.addNode('b', r.url, empty);
    await expect.poll(() => dash.nodes().getByRole('alert').innerText(), { timeout: 15_000 }).toContain(`${path.join(empty, 'ca.pem')} does not exist`);
    expect(await dash.nodeRow('b').count()).toBe(0);

    await dash.addNode('b', r.url, r.tls.clientDir);
    await dash.nodeRow('b').waitFor({ timeout: 20_000 });
    const version = r.docker(['version', '--format', '{{.Server.Version}}']).trim();
    const row = dash.nodeRow('b');
    expect(await row.innerText()).toContain(r.url);
    expect(await row.innerText()).toContain(version);
    expect(await row.getByText('reachable', { exact: true }).count()).toBe(1);
    await page.screenshot({ path: screenshotPath('dashboard-nodes.png'), fullPage: true });

    r.linkDown();
    try {
      await expect.poll(() => row.innerText(), { timeout: 10_000 }).toMatch(/unreachable[\s\S]*stopped answering/);
    } finally {
      r.linkUp();
    }
    await expect.poll(() => row.getByText('reachable', { exact: true }).count(), { timeout: 15_000 }).toBe(1);

    await row.getByRole('button', { name: 'Remove' }).click();
    await expect.poll(() => dash.nodeRow('b').count(), { timeout: 10_000 }).toBe(0);
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);
});
