/** The voice window bounds (settings feature): a minimum above the maximum is refused, naming both, and nothing is stored. */
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/core/store/database.js';
import { CoreEvents } from '../../src/core/events.js';
import { createSettingsFeature } from '../../src/core/settings/feature.js';
import type { AimaError } from '../../src/shared/errors.js';

describe('voice window settings', () => {
  it('refuses voiceWindowMinMs above voiceWindowMaxMs (the stored side counts), changing nothing', async () => {
    const db = openDatabase(':memory:');
    const f = createSettingsFeature({ db, events: new CoreEvents() });
    await expect(f.calls['settings.update']({ voiceWindowMinMs: 1500 })).rejects.toThrow(/voiceWindowMinMs 1500 is longer than voiceWindowMaxMs 1200/);
    const err = (await f.calls['settings.update']({ voiceWindowMinMs: 900, voiceWindowMaxMs: 800, voiceEarlyMarkMs: 150 }).catch((e: unknown) => e)) as AimaError;
    expect(err.message).toMatch(/voiceWindowMinMs 900 is longer than voiceWindowMaxMs 800/);
    expect(err.fix).toMatch(/lower voiceWindowMinMs or raise voiceWindowMaxMs/);
    const s = await f.calls['settings.get']({});
    expect([s.voiceWindowMinMs, s.voiceWindowMaxMs, s.voiceEarlyMarkMs]).toEqual([300, 1200, 200]);
    expect((await f.calls['settings.update']({ voiceWindowMinMs: 1500, voiceWindowMaxMs: 2000 })).voiceWindowMinMs).toBe(1500);
    expect(f.current().voiceSpeculation).toBe(true);
    db.close();
  });
});
