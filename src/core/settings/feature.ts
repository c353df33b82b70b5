/**
 * The settings feature: `settings.get` / `settings.update` over the settings table, and the
 * `settings.changed` event other features follow (engine resources, the gateway's options).
 */
import type { CoreApi } from '../../shared/contract/index.js';
import type { CoreEvents } from '../events.js';
import type { Db } from '../store/database.js';
import { SettingsRepo } from '../store/repositories/settings-repo.js';
import type { Feature } from '../feature.js';

export interface SettingsFeature extends Feature {
  readonly calls: Pick<CoreApi, 'settings.get' | 'settings.update'>;
  /** The repository, read by the features that follow settings (they also listen to settings.changed). */
  readonly repo: SettingsRepo;
}

export function createSettingsFeature(deps: { db: Db; events: CoreEvents }): SettingsFeature {
  const repo = new SettingsRepo(deps.db);
  return {
    repo,
    events: ['settings.changed'],
    calls: {
      'settings.get': async () => repo.getAll(),
      'settings.update': async (patch) => {
        const next = repo.update(patch);
        deps.events.emit('settings.changed', next);
        return next;
      },
    },
    close() {},
  };
}
