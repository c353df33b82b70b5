/**
 * The settings feature: `settings.get` / `settings.update` over the settings table, and the
 * `settings.changed` event other features follow (engine resources, the gateway's options).
 */
import os from 'node:os';
import type { CoreApi, Settings } from '../../shared/contract/index.js';
import { AimaError } from '../../shared/errors.js';
import type { CoreEvents } from '../events.js';
import type { Db } from '../store/database.js';
import { SettingsRepo } from '../store/repositories/settings-repo.js';
import type { Feature } from '../feature.js';
import { isLoopbackHost } from '../server/security.js';

export interface SettingsFeature extends Feature {
  readonly calls: Pick<CoreApi, 'settings.get' | 'settings.update'>;
  /** The repository, read by the features that follow settings (they also listen to settings.changed). */
  readonly repo: SettingsRepo;
  /**
   * The settings as the other features read them on their hot paths (the scheduler's idle check,
   * voice turns): kept from the last read or update, since every change goes through settings.update.
   */
  current(): Settings;
}

/** Refuses a services' memory cap beyond the machine's memory, before anything is stored. */
function checkMemoryCap(capMiB: number | null | undefined, totalBytes: number): void {
  if (capMiB === undefined || capMiB === null) return;
  const totalMiB = Math.floor(totalBytes / (1024 * 1024));
  if (capMiB > totalMiB) {
    throw new AimaError(
      'bad-request',
      `servicesMemoryCapMiB ${capMiB} is more than this machine has (${totalMiB} MiB of RAM).`,
      `Give at most ${totalMiB}, or null for the default (total RAM minus a reserve for the system).`,
    );
  }
}

/**
 * Refuses to save a listen address beyond loopback while no API key exists: the next start would
 * refuse to bind it, so the setting would only break that start.
 */
function checkListenHost(host: string | undefined, activeKeys: (() => number) | undefined): void {
  if (host === undefined || isLoopbackHost(host) || !activeKeys || activeKeys() > 0) return;
  throw new AimaError(
    'forbidden',
    `listenHost ${host} would expose AIMA to other machines, and no API key exists to protect it.`,
    'Create one first with `aima key create NAME` (or on the Settings page, Remote access), then set the address again.',
  );
}

/** Refuses window bounds that contradict each other (the stored ones count for the side a patch leaves out). */
function checkVoiceWindows(s: Pick<Settings, 'voiceWindowMinMs' | 'voiceWindowMaxMs'>): void {
  if (s.voiceWindowMinMs <= s.voiceWindowMaxMs) return;
  throw new AimaError(
    'bad-request',
    `voiceWindowMinMs ${s.voiceWindowMinMs} is longer than voiceWindowMaxMs ${s.voiceWindowMaxMs}.`,
    'The window after a complete sentence must not be longer than the one after a hesitation: lower voiceWindowMinMs or raise voiceWindowMaxMs.',
  );
}

export function createSettingsFeature(deps: { db: Db; events: CoreEvents; totalMemoryBytes?: number; activeKeys?: () => number }): SettingsFeature {
  const repo = new SettingsRepo(deps.db);
  let current = repo.getAll();
  return {
    repo,
    current: () => current,
    events: ['settings.changed'],
    calls: {
      'settings.get': async () => repo.getAll(),
      'settings.update': async (patch) => {
        checkMemoryCap(patch.servicesMemoryCapMiB, deps.totalMemoryBytes ?? os.totalmem());
        checkListenHost(patch.listenHost, deps.activeKeys);
        checkVoiceWindows({ ...current, ...patch });
        const next = repo.update(patch);
        current = next;
        deps.events.emit('settings.changed', next);
        return next;
      },
    },
    close() {},
  };
}
