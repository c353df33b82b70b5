/**
 * The Services page against a real `aima serve` in Debian's Chromium: create a service from the
 * dialog (stories260K on the embedded llama.cpp worker), switch it on and off, and watch the state
 * badge and the log viewer follow the core's events. Restart and remove from the row.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { runAima, startServe, tempHome, type ServeHandle } from '../support/cli.js';
import { launchChromium, chromiumAvailable } from '../support/browser.js';
import { repoRoot, requirePart, sharedModel } from '../support/system.js';
import { AppShell } from './pages/app-shell.js';
import { ServicesPageObject } from './pages/services-page.js';

const GGUF = sharedModel('stories260K/stories260K.gguf');
const workerBuilt = () => existsSync(path.join(repoRoot, 'out', 'workers', 'llm.mjs'));
let serve: ServeHandle | undefined;
let browser: Browser | undefined;
let env: Record<string, string>;

beforeAll(async () => {
  if (!chromiumAvailable() || !existsSync(GGUF)) return;
  env = { AIMA_HOME: tempHome('aima-e2e-services-') };
  serve = await startServe(env);
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  if (serve) await runAima(['service', 'rm', 'stories-svc'], env).catch(() => {});
  await serve?.stop();
});

describe('Services page', () => {
  it('creates a service from the dialog, toggles it on and off, and follows its state and log', async (ctx) => {
    requirePart(ctx, 'chromium', chromiumAvailable());
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    if (!workerBuilt()) throw new Error('out/workers/llm.mjs is missing: run `npm run build` first');
    const imported = await runAima(['model', 'import', GGUF, '--name', 'stories'], env);
    expect(imported.code, imported.stderr).toBe(0);

    const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('dialog', (d) => void d.accept());
    await page.goto(serve!.loginUrl);
    await new AppShell(page).open('services');
    const services = new ServicesPageObject(page);
    await page.getByText('No services yet').waitFor();

    // The dialog offers only engines that load a GGUF LLM, and shows the fit verdict.
    await page.getByTestId('new-service').click();
    await services.dialog().locator('select[name="model"]').selectOption('stories');
    await services.dialog().locator('select[name="engine"] option[value="aima-llm"]').waitFor({ state: 'attached' });
    const engines = await services.dialog().locator('select[name="engine"] option').evaluateAll((os) => os.map((o) => o.getAttribute('value') ?? ''));
    expect(engines).toContain('aima-llm');
    expect(engines).not.toContain('aima-asr');
    expect(engines).not.toContain('vllm');
    await services.fitVerdict().waitFor();
    expect(await services.fitVerdict().innerText()).toMatch(/fits|partial-offload|does-not-fit|no-estimate/);
    await services.dialog().getByRole('button', { name: 'Cancel' }).click();

    await services.create({ model: 'stories', engine: 'aima-llm', name: 'stories-svc' });
    await services.row('stories-svc').waitFor();
    expect(await services.state('stories-svc').innerText()).toBe('stopped');
    expect(await services.toggle('stories-svc').isChecked()).toBe(false);

    // On: the toggle follows the core (starting → loading → running), the log fills in.
    await services.openLogs('stories-svc');
    await services.toggle('stories-svc').click();
    await services.waitState('stories-svc', 'running', 60_000);
    expect(await services.toggle('stories-svc').isChecked()).toBe(true);
    expect(await services.row('stories-svc').innerText()).toMatch(/http:\/\/127\.0\.0\.1:\d+/);
    await expect.poll(() => services.logText(), { timeout: 10_000 }).toContain('--- aima');
    const cli = JSON.parse((await runAima(['service', 'list', '--json'], env)).stdout) as { name: string; state: string }[];
    expect(cli.find((s) => s.name === 'stories-svc')?.state).toBe('running');

    // A change made elsewhere (the CLI) shows up live: stop from the CLI, the toggle goes off.
    const stopped = await runAima(['service', 'stop', 'stories-svc'], env);
    expect(stopped.code, stopped.stderr).toBe(0);
    await services.waitState('stories-svc', 'stopped', 15_000);
    expect(await services.toggle('stories-svc').isChecked()).toBe(false);

    // On again from the page, then off from the page.
    await services.toggle('stories-svc').click();
    await services.waitState('stories-svc', 'running', 60_000);
    const linesWhileRunning = (await services.logText()).split('\n').filter((l) => l.startsWith('--- aima')).length;
    expect(linesWhileRunning).toBeGreaterThanOrEqual(2); // two starts, each with its header line
    await services.toggle('stories-svc').click();
    await services.waitState('stories-svc', 'stopped', 15_000);

    // Restart from the row starts it; Remove deletes it.
    await services.row('stories-svc').getByRole('button', { name: 'Restart' }).click();
    await services.waitState('stories-svc', 'running', 60_000);
    await services.row('stories-svc').getByRole('button', { name: 'Remove' }).click();
    await services.row('stories-svc').waitFor({ state: 'detached', timeout: 20_000 });
    await page.getByText('No services yet').waitFor();
    await page.close();
  });

  it('shows a refused create with the reason and the fix, and creates nothing', async (ctx) => {
    requirePart(ctx, 'chromium', chromiumAvailable());
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(serve!.loginUrl);
    await new AppShell(page).open('services');
    const services = new ServicesPageObject(page);
    // Two services may not be given the same port: the second create is refused before anything is stored.
    await services.create({ model: 'stories', engine: 'aima-llm', name: 'first', port: 45931 });
    await services.row('first').waitFor();
    await services.create({ model: 'stories', engine: 'aima-llm', name: 'second', port: 45931 });
    await services.error().waitFor();
    expect(await services.error().innerText()).toContain('Port 45931 is already assigned to service "first"');
    expect(await services.row('second').count()).toBe(0);
    await runAima(['service', 'rm', 'first'], env);
    await page.close();
  });

  it('lists replicas under their primary, marked as replicas', async (ctx) => {
    requirePart(ctx, 'chromium', chromiumAvailable());
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    await runAima(['model', 'import', GGUF, '--name', 'stories'], env); // already there when the first test ran
    // "a-1x" sorts between "a" and "a-2" by name; the replicas still come right after their primary.
    for (const args of [
      ['service', 'create', 'a', '--model', 'stories', '--engine', 'aima-llm', '--replicas', '3'],
      ['service', 'create', 'a-1x', '--model', 'stories', '--engine', 'aima-llm'],
    ]) {
      const r = await runAima(args, env);
      expect(r.code, r.stderr).toBe(0);
    }
    const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(serve!.loginUrl);
    await new AppShell(page).open('services');
    const services = new ServicesPageObject(page);
    await services.row('a-3').waitFor();
    const order = await page.locator('[data-testid="services-table"] tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-service')));
    expect(order).toEqual(['a', 'a-2', 'a-3', 'a-1x']);
    expect(await services.row('a-2').locator('td').nth(1).innerText()).toBe('↳ a-2 replica of a');
    expect(await services.row('a').locator('td').nth(1).innerText()).toBe('a');
    expect((await runAima(['service', 'rm', 'a'], env)).code).toBe(0);
    await runAima(['service', 'rm', 'a-1x'], env);
    await services.row('a-2').waitFor({ state: 'detached', timeout: 10_000 });
    await page.close();
  });

  it('shows the placement decision and, on the evicted service, the eviction reason', async (ctx) => {
    requirePart(ctx, 'chromium', chromiumAvailable());
    requirePart(ctx, 'shared-models', existsSync(GGUF));
    ctx.skip(process.platform !== 'linux', 'sizes the memory cap from /proc (Linux)');
    const aima = async (...args: string[]) => {
      const r = await runAima(args, env, 120_000);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout;
    };
    // Two services on two copies of the model (the library imports a file once).
    for (const n of ['old', 'new']) {
      const copy = path.join(env.AIMA_HOME!, `stories-${n}.gguf`);
      copyFileSync(GGUF, copy);
      await aima('model', 'import', copy, '--name', `stories-${n}`);
      await aima('service', 'create', `svc-${n}`, '--model', `stories-${n}`, '--engine', 'aima-llm', '--threads', '1');
    }
    await aima('settings', 'set', 'antiThrashSeconds', '0');
    await aima('service', 'start', 'svc-old', '--wait');
    const pid = (JSON.parse(await aima('service', 'list', '--json')) as { name: string; pid: number }[]).find((s) => s.name === 'svc-old')!.pid;
    const rss = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
    // Room for one worker, not two.
    await aima('settings', 'set', 'servicesMemoryCapMiB', String(Math.floor((rss * 1.5) / (1024 * 1024))));

    const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(serve!.loginUrl);
    await new AppShell(page).open('services');
    const services = new ServicesPageObject(page);
    await services.waitState('svc-old', 'running');
    await services.toggle('svc-new').click();
    await services.waitState('svc-new', 'running', 60_000);
    await services.waitState('svc-old', 'stopped', 15_000);
    expect(await services.reason('svc-old').innerText()).toMatch(/^stopped to make room for "svc-new" \(it needs [\d.]+ MiB of RAM\); "svc-old" was idle for \d+s, the least recently used$/);
    expect(await services.row('svc-old').innerText()).toContain('evicted 1×');
    // Pin from the row: the core stores it (and the row says so).
    await services.row('svc-new').getByRole('button', { name: 'Pin' }).click();
    await services.row('svc-new').getByRole('button', { name: 'Unpin' }).waitFor();
    expect((JSON.parse(await aima('service', 'list', '--json')) as { name: string; pinned: boolean }[]).find((s) => s.name === 'svc-new')?.pinned).toBe(true);
    expect(await services.placement('svc-new').innerText()).toMatch(/^Placed on the CPU: needs [\d.]+ MiB of RAM, .*stopping "svc-old" \(idle, [\d.]+ MiB\) first/);
    await aima('settings', 'set', 'servicesMemoryCapMiB', 'null');
    await aima('service', 'rm', 'svc-new');
    await aima('service', 'rm', 'svc-old');
    await page.close();
  }, 180_000);
});
