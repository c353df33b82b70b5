/** The starter sets an empty library offers, read from resources/starter-models.json. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { StarterModel } from '../../shared/contract/index.js';

const StarterFile = z.object({ starters: z.array(StarterModel) });

/** Reads resources/starter-models.json (data, not code, so it can change without a release of logic); [] when it is missing or malformed. */
export function loadStarters(appRoot: string): StarterModel[] {
  try {
    return StarterFile.parse(JSON.parse(readFileSync(path.join(appRoot, 'resources', 'starter-models.json'), 'utf8'))).starters;
  } catch {
    return [];
  }
}
