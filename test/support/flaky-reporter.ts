/**
 * Records tests that failed and then passed on their retry (vitest.config.ts allows one), so a
 * flaky test is named in test-results/flaky.json and in `npm test`'s summary instead of hiding.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Reporter, TestCase } from 'vitest/node';

interface Flaky {
  file: string;
  name: string;
  errors: string[];
}

export default class FlakyReporter implements Reporter {
  private readonly flaky: Flaky[] = [];

  onTestCaseResult(test: TestCase): void {
    if (!test.diagnostic()?.flaky) return;
    const errors = (test.result().errors ?? []).map((e) => String(e.message).split('\n').slice(0, 6).join('\n'));
    this.flaky.push({ file: path.relative(process.cwd(), test.module.moduleId), name: test.fullName, errors });
  }

  onTestRunEnd(): void {
    const dir = path.join(process.cwd(), 'test-results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'flaky.json'), JSON.stringify(this.flaky, null, 2));
  }
}
