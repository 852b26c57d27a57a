import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

export default defineConfig({
  resolve: {
    alias: { 'lifeboat/plugin': fileURLToPath(new URL('./src/core/index.ts', import.meta.url)) },
  },
  test: {
    include: ['test/**/*.test.{ts,tsx}', 'src/**/*.test.{ts,tsx}', 'plugins/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    // under CI a skipped test fails the run (test/helpers/no-skips-reporter.ts)
    reporters: process.env.CI ? ['default', './test/helpers/no-skips-reporter.ts'] : ['default'],
  },
});
