import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Native addons and worker threads do not mix well; forks give each file its own process.
    pool: 'forks',
    // One file per core: vitest's default (cores - 1) runs the files one at a time on 2 cores,
    // and most of their time is single-threaded JavaScript (the float64 reference).
    maxWorkers: availableParallelism(),
    testTimeout: 60_000,
    // Removing a consumer folder (package tests) can take over 10 s on a busy machine.
    hookTimeout: 60_000,
  },
});
