/**
 * Restart backoff against real crashing processes: the waits between restarts grow (1 s, 2 s, 4 s
 * at the real delays) and the supervisor gives up into `failed` after MAX_CONSECUTIVE_CRASHES.
 * The pure delay function is tested in test/unit/service-state.test.ts; what these tests pin down is
 * the supervisor's choice of n (the count of consecutive crashes) and that the measured waits follow
 * it. A supervisor that always asked for the first delay would pass every test that crashes once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createCore, type Core } from '../../src/core/core.js';
import { ServicesRepo } from '../../src/core/store/repositories/services-repo.js';
import { MAX_CONSECUTIVE_CRASHES } from '../../src/shared/service-state.js';
import { tempHome } from '../support/cli.js';
import { waitFor, writeFakeEngine } from '../support/services.js';

const cores: Core[] = [];
afterEach(async () => {
  for (const c of cores.splice(0)) await c.close({ stopServices: true }).catch(() => {});
});

async function core(dataDir: string, timing: Parameters<typeof createCore>[0]['serviceTiming'] = {}) {
  const c = await createCore({ dataDir, host: 'serve', serviceTiming: { stopGraceMs: 2000, ...timing } });
  cores.push(c);
  return c;
}

const eventsOf = (c: Core, id: string) => new ServicesRepo(c.db).events(id, 500);

/** The wait of every backoff: from entering `backoff` to the restart it ends in, in order. */
function backoffWaits(c: Core, id: string): number[] {
  const events = eventsOf(c, id);
  return events
    .filter((e) => e.to === 'backoff')
    .map((b) => events.find((e) => e.from === 'backoff' && e.to === 'starting' && e.at >= b.at))
    .filter((s) => s !== undefined)
    .map((s, i) => s.at - events.filter((e) => e.to === 'backoff')[i]!.at);
}

describe('services: restart backoff with real crashing engines', () => {
  it('the real delays grow 1 s → 2 s → 4 s while the engine keeps crashing (no stable run in between)', async () => {
    const home = tempHome('aima-backoff-');
    // Crashes (exit 3) 300 ms after becoming ready: far below the 60 s stable run that resets the count.
    writeFakeEngine(home, 'crashy', ['--load-ms', '20', '--crash-after-ms', '300']);
    const c = await core(home);
    const { id } = await c.api['services.create']({ name: 'g', engine: 'crashy' });
    await c.api['services.start']({ name: 'g' });
    await waitFor(() => backoffWaits(c, id).length >= 3, 'three restarts after backoff', 20_000, 50);
    const [first, second, third] = backoffWaits(c, id);
    // Lower bounds a constant 1 s cannot meet; upper bounds leave a loaded 2-core machine room.
    expect(first, 'first wait ≈ 1 s').toBeGreaterThanOrEqual(950);
    expect(first, 'first wait ≈ 1 s').toBeLessThan(1800);
    expect(second, 'second wait ≈ 2 s').toBeGreaterThanOrEqual(1950);
    expect(second, 'second wait ≈ 2 s').toBeLessThan(3000);
    expect(third, 'third wait ≈ 4 s').toBeGreaterThanOrEqual(3950);
    expect(third, 'third wait ≈ 4 s').toBeLessThan(5500);
    await c.api['services.stop']({ name: 'g' });
  }, 40_000);

  it(`asks the backoff for n = 0, 1, 2, … per consecutive crash, waits what it answers, and gives up into failed after ${MAX_CONSECUTIVE_CRASHES} crashes`, async () => {
    const home = tempHome('aima-backoff-');
    writeFakeEngine(home, 'crashy', ['--load-ms', '20', '--crash-after-ms', '300']);
    // The production delays (1 s × 2^n) would take minutes to reach the limit: the seam scales them
    // down, but the n it is called with is still the supervisor's own choice.
    const asked: number[] = [];
    const scaled = (n: number) => 100 * 2 ** Math.min(n, 3); // 100, 200, 400, 800, 800, …
    const c = await core(home, {
      backoff: (n) => {
        asked.push(n);
        return scaled(n);
      },
    });
    const { id } = await c.api['services.create']({ name: 'g', engine: 'crashy' });
    await c.api['services.start']({ name: 'g' });
    const failed = await waitFor(async () => {
      const s = await c.api['services.get']({ name: 'g' });
      return s.state === 'failed' ? s : null;
    }, 'failed after the crash limit', 45_000, 50);

    // Crashes 1..9 each wait once, with n = crashes so far − 1; the 10th gives up instead.
    const expectedN = Array.from({ length: MAX_CONSECUTIVE_CRASHES - 1 }, (_, i) => i);
    expect(asked, 'the n the supervisor asks the backoff for').toEqual(expectedN);
    const waits = backoffWaits(c, id);
    expect(waits).toHaveLength(expectedN.length);
    waits.forEach((w, i) => {
      expect(w, `wait ${i} ≈ backoff(${i}) = ${scaled(i)} ms`).toBeGreaterThanOrEqual(scaled(i) - 2);
      expect(w, `wait ${i} ≈ backoff(${i}) = ${scaled(i)} ms`).toBeLessThan(scaled(i) + 500);
    });
    // The growth is visible in the measurements themselves, not only in the calls.
    expect(waits[3]! - waits[0]!).toBeGreaterThan(500);

    expect(failed.reason).toMatch(new RegExp(`gave up after ${MAX_CONSECUTIVE_CRASHES} crashes in a row`));
    expect(failed.pid).toBeNull();
    const events = eventsOf(c, id);
    expect(events.filter((e) => e.to === 'crashed')).toHaveLength(MAX_CONSECUTIVE_CRASHES - 1);
    expect(events.filter((e) => e.to === 'failed')).toHaveLength(1);
    expect(events.filter((e) => e.to === 'starting')).toHaveLength(MAX_CONSECUTIVE_CRASHES);
    expect(events.at(-1)).toMatchObject({ to: 'failed' });
    // It stays failed: no further restart is scheduled.
    await new Promise((r) => setTimeout(r, scaled(3) + 300));
    expect((await c.api['services.get']({ name: 'g' })).state).toBe('failed');
    expect(eventsOf(c, id)).toHaveLength(events.length);
  }, 60_000);
});
