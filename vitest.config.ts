import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
    // Leak checks collect garbage first: a Buffer handed to a TypeScript element holds its block.
    execArgv: ['--expose-gc'],
  },
});
