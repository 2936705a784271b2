import { defineConfig } from 'vitest/config';

// Three projects: unit tests sit beside the code; integration and e2e tests start real
// nats-server / mariadbd processes through test/harness and run in forks.
export default defineConfig({
  test: {
    // One line per finished test file, then every failure (scripts/test.sh, .ci/run). Named, not left
    // to vitest: depending on environment variables it reads through std-env, vitest 4 may default to
    // a reporter that prints failing files only, and a CI log then stays silent for the whole run. On a
    // terminal `default` also keeps a live count of files and tests; written to a file it never redraws.
    reporters: ['default'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts', 'benchmarks/src/**/*.test.ts'],
          testTimeout: 10_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['packages/*/test/**/*.test.ts', 'test/integration/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          pool: 'forks',
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 60_000,
          pool: 'forks',
          fileParallelism: false,
        },
      },
    ],
  },
});
