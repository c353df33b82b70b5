/** Model downloads from the Hugging Face Hub (or a mirror): the manager, the Hub client and starter sets. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { StarterModel } from '../../../shared/contract/index.js';

export { DownloadManager, importTarget, selectFiles, type DownloadManagerOptions, type RetryPolicy } from './manager.js';
export { HubClient, DEFAULT_HF_ENDPOINT } from './hub.js';
export { groupGgufFiles, quantOf, shardOf, globToRegExp } from './quant.js';
export { sizeFitHint } from './fit-hint.js';

const StarterFile = z.object({ starters: z.array(StarterModel) });

/** Reads resources/starter-models.json (data, not code, so it can change without a release of logic). */
export function loadStarters(appRoot: string): StarterModel[] {
  try {
    return StarterFile.parse(JSON.parse(readFileSync(path.join(appRoot, 'resources', 'starter-models.json'), 'utf8'))).starters;
  } catch {
    return [];
  }
}
