/** Settings table access: stores each setting as JSON, reads them back through the schema. */
import type { Db } from '../database.js';
import { Settings, SettingsPatch, defaultSettings, type SettingKey } from '../../../shared/contract/settings.js';
import { AimaError } from '../../../shared/errors.js';

export class SettingsRepo {
  constructor(private readonly db: Db) {}

  /** All settings; stored values that no longer validate fall back to their defaults. */
  getAll(): Settings {
    const rows = this.db.prepare('SELECT key, value FROM settings').all() as { key: string; value: string }[];
    const stored: Record<string, unknown> = {};
    for (const row of rows) {
      if (!(row.key in defaultSettings)) continue;
      try {
        stored[row.key] = JSON.parse(row.value);
      } catch {
        // A corrupt value is dropped rather than taking the whole settings page down.
      }
    }
    const result: Record<string, unknown> = { ...defaultSettings };
    for (const key of Object.keys(defaultSettings) as SettingKey[]) {
      if (!(key in stored)) continue;
      const one = Settings.shape[key].safeParse(stored[key]);
      if (one.success) result[key] = one.data;
    }
    return Settings.parse(result);
  }

  /** Validates and saves a partial update in one transaction; returns all settings. */
  update(patch: unknown): Settings {
    const parsed = SettingsPatch.safeParse(patch);
    if (!parsed.success) {
      throw new AimaError('bad-request', `Invalid settings: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}.`, 'Check the setting names and values.');
    }
    const now = Date.now();
    const upsert = this.db.prepare(
      'INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at',
    );
    this.db.transaction(() => {
      for (const [key, value] of Object.entries(parsed.data)) {
        if (value !== undefined) upsert.run(key, JSON.stringify(value), now);
      }
    })();
    return this.getAll();
  }
}
