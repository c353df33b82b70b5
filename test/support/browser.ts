/** Debian's Chromium driven by playwright-core, with the flags this network needs. */
import { chromium, type Browser } from 'playwright-core';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './system.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const chromiumAvailable = () => existsSync(CHROMIUM);

const BASE_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...BASE_FLAGS, ...extraArgs] });
}

/**
 * Where an end-to-end test saves a screenshot the README shows: test-results/screenshots/NAME
 * (git-ignored), so running the tests never dirties a clean clone. `npm run screenshots` runs those
 * tests and copies the pictures to docs/ (scripts/refresh-screenshots.mjs).
 */
export const screenshotPath = (name: string): string => path.join(repoRoot, 'test-results', 'screenshots', name);
