// vitest for scripts/mutants.mjs: the suite's settings without the global build step
// (the mutation run builds lib/ itself, only for the mutants whose tests run the CLI).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    maxWorkers: 2,
  },
});
