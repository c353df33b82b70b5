/**
 * The dependency rules of eslint.config.js (`aima/boundaries`) on planted code: each banned import
 * is reported from the folder it is banned in, the same import is fine where it is allowed, and
 * import() and export ... from count like import.
 */
import { describe, expect, it } from 'vitest';
import { ESLint } from 'eslint';
import { repoRoot } from '../support/system.js';

const eslint = new ESLint({ cwd: repoRoot });

/** The boundaries messages ESLint reports for `code` as if it were the file `filePath`. */
async function violations(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return result!.messages.filter((m) => m.ruleId === 'aima/boundaries' || m.fatal).map((m) => m.message);
}

// [importing file, code, what the message names]
const banned: [string, string, string][] = [
  ['src/core/planted.ts', "import { app } from 'electron';\nexport const a = app;", 'electron'],
  ['src/core/services/planted.ts', "import { x } from '../../workers/llm/main.js';\nexport const a = x;", 'src/workers'],
  ['src/core/planted.ts', "export { x } from '../cli/index.js';", 'src/cli'],
  ['src/core/planted.ts', "export const load = () => import('../main/app.js');", 'src/main'],
  ['src/core/planted.ts', "import { x } from '../renderer/src/app/App.js';\nexport const a = x;", 'src/renderer'],
  ['src/workers/llm/planted.ts', "import { x } from '../../core/core.js';\nexport const a = x;", 'src/core'],
  ['src/workers/asr/planted.ts', "import { x } from '../../cli/index.js';\nexport const a = x;", 'src/cli'],
  ['src/workers/tts/planted.ts', "import { x } from '../../main/app.js';\nexport const a = x;", 'src/main'],
  ['src/lib/planted.ts', "import { x } from '../core/core.js';\nexport const a = x;", 'src/core'],
  ['src/lib/audio/planted.ts', "import { x } from '../../cli/index.js';\nexport const a = x;", 'src/cli'],
  ['src/lib/planted.ts', "import { x } from '../main/app.js';\nexport const a = x;", 'src/main'],
  ['src/lib/planted.ts', "import { x } from '../workers/llm/main.js';\nexport const a = x;", 'src/workers'],
  ['src/lib/planted.ts', "import { app } from 'electron';\nexport const a = app;", 'electron'],
  ['src/shared/planted.ts', "import { readFileSync } from 'node:fs';\nexport const a = readFileSync;", "'node:fs'"],
  ['src/shared/contract/planted.ts', "import path from 'path';\nexport const a = path;", "'path'"],
  ['src/shared/planted.ts', "import { x } from '../lib/http.js';\nexport const a = x;", 'src/lib'],
  ['src/shared/planted.ts', "import pkg from '../../package.json';\nexport const a = pkg;", 'outside src'],
  ['src/renderer/src/planted.ts', "import { readFileSync } from 'node:fs';\nexport const a = readFileSync;", "'node:fs'"],
  ['src/renderer/src/planted.ts', "import { x } from '../../core/core.js';\nexport const a = x;", 'src/core'],
  ['src/renderer/src/planted.ts', "import { x } from '../../lib/http.js';\nexport const a = x;", 'src/lib'],
  ['src/renderer/src/planted.ts', "import { x } from '../../workers/llm/main.js';\nexport const a = x;", 'src/workers'],
  ['src/renderer/src/planted.ts', "import { x } from '../../main/app.js';\nexport const a = x;", 'src/main'],
  ['src/renderer/src/planted.ts', "import { x } from '../../cli/index.js';\nexport const a = x;", 'src/cli'],
];

const allowed: [string, string][] = [
  ['src/core/planted.ts', "import { x } from '../lib/http.js';\nimport { y } from '../shared/errors.js';\nimport { readFileSync } from 'node:fs';\nexport const a = [x, y, readFileSync];"],
  ['src/workers/llm/planted.ts', "import { x } from '../../lib/http.js';\nimport { y } from '../common/upload-slots.js';\nexport const a = [x, y];"],
  ['src/cli/planted.ts', "export const load = () => import('../core/host.js');"],
  ['src/main/planted.ts', "import { app } from 'electron';\nimport { x } from '../core/host.js';\nexport const a = [app, x];"],
  ['src/shared/contract/planted.ts', "import { z } from 'zod';\nimport { x } from '../errors.js';\nexport const a = [z, x];"],
  ['src/renderer/src/planted.ts', "import { x } from '../../shared/errors.js';\nexport const a = x;"],
];

describe('dependency rules (eslint aima/boundaries)', () => {
  it.each(banned)('%s: %s is reported', async (filePath, code, what) => {
    const messages = await violations(filePath, code);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain(what);
  });

  it.each(allowed)('%s: %s is allowed', async (filePath, code) => {
    expect(await violations(filePath, code)).toEqual([]);
  });
});
