import { defineConfig } from 'vitest/config';
import { playwright } from '@vitest/browser-playwright';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './browser-launch.ts';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          environment: 'node',
          include: ['packages/*/src/**/*.test.ts', 'server/src/**/*.test.ts', 'apps/*/src/**/*.test.ts'],
          // The virtual-volunteer swarms are the 'swarm' project: they are run alone (npm test runs
          // this project's files side by side, theirs one at a time).
          exclude: [
            '**/*.browser.test.ts',
            '**/*.postgres.test.ts',
            '**/node_modules/**',
            'packages/virtual/**',
          ],
          testTimeout: 30_000,
          hookTimeout: 30_000,
          // Type tests (*.test-d.ts): tsc over the protocol package, where the event maps live.
          typecheck: {
            enabled: true,
            include: ['packages/protocol/src/**/*.test-d.ts'],
            tsconfig: 'packages/protocol/tsconfig.json',
          },
        },
      },
      {
        test: {
          name: 'swarm',
          environment: 'node',
          include: ['packages/virtual/src/**/*.test.ts'],
          exclude: ['**/*.browser.test.ts', '**/node_modules/**'],
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        // The store's guarantees on PostgreSQL: the same scheduler property test and crash test as
        // on SQLite, and what only several coordinators sharing one database can show.
        test: {
          name: 'postgres',
          environment: 'node',
          include: [
            'server/src/scheduler/scheduler.property.test.ts',
            'server/src/crash.test.ts',
            'server/src/**/*.postgres.test.ts',
          ],
          globalSetup: ['server/src/store/postgres-global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'browser',
          include: ['packages/*/src/**/*.browser.test.ts', 'apps/*/src/**/*.browser.test.ts'],
          testTimeout: 120_000,
          browser: {
            enabled: true,
            headless: true,
            screenshotFailures: false,
            provider: playwright({
              launchOptions: { executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS] },
            }),
            instances: [{ browser: 'chromium' }],
          },
        },
      },
    ],
  },
});
