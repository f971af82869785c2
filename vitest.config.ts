import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'test/**/*.test.ts',
      'packages/*/test/**/*.test.ts',
      'apps/*/test/**/*.test.ts',
      'packages/*/src/**/*.test.ts',
      'apps/*/src/**/*.test.ts',
    ],
    exclude: ['**/node_modules/**', '**/*.chaos.test.ts'],
    testTimeout: 60_000,
    // Hooks start API, worker and Redis processes; with two files at once on two cores they take up
    // to twice as long as alone (jobs-end-to-end's: ~25 s), so they get twice the tests' deadline.
    hookTimeout: 120_000,
    pool: 'forks',
    // Vitest's default is one file at a time on a 2-core machine (cores - 1). Most of this suite
    // waits on child processes, Redis restarts and timers, not on the CPU: two files at once took
    // 179-217 s against 295 s, all 980 tests green in six runs. Each file has its own namespace,
    // ports and processes, so files never share state. The chaos suite stays one file at a time.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    reporters: ['default'],
  },
});
