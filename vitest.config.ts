import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/support/setup.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration and e2e tests start real processes, containers and browsers: on 2 cores
    // running files one at a time keeps timing assertions meaningful.
    fileParallelism: false,
    // One retry: real processes on a loaded 2-core machine sometimes miss a timing bound once. A
    // test that passes only on its retry is named by test/support/flaky-reporter.ts (npm test's
    // summary prints it), so flakiness is seen and fixed, not hidden.
    retry: 1,
  },
});
