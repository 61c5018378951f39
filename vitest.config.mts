import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Native addons and worker threads do not mix well; forks give each file its own process.
    pool: 'forks',
    testTimeout: 60_000,
    // Removing a consumer folder (package tests) can take over 10 s on a busy machine.
    hookTimeout: 60_000,
  },
});
