import { defineConfig } from 'vitest/config';
import { LongestFirst } from './test/longest-first.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests start real processes (git, sshd, hosts); two cores only.
    maxWorkers: 2,
    // Longest files first, also on a fresh checkout (test/longest-first.ts).
    sequence: { sequencer: LongestFirst },
  },
});
