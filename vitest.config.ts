import { defineConfig } from 'vitest/config';

/**
 * HTTP-level suites that run a second time on PostgreSQL (TEST_STORAGE=postgres: every test app on a
 * fresh database of DATABASE_URL's server; counters in Redis under a key prefix of its own when
 * REDIS_URL is set, as scaled-out deployments run, in PostgreSQL otherwise). Suites that read SQLite rows
 * directly, start real servers or only test pure functions are not in it.
 */
const POSTGRES_SUITES = [
  'test/verification/verification.flow.test.ts',
  'test/verification/verification.resend.test.ts',
  'test/verification/verification.failures.test.ts',
  'test/verification/verification.attempt-race.test.ts',
  'test/verification/verification.transaction-binding.test.ts',
  'test/verification/messages.test.ts',
  'test/tokens/tokens.test.ts',
  'test/verification/fallback.triggers.test.ts',
  'test/verification/fallback.exactly-once.test.ts',
  'test/delivery/flashcall.flow.test.ts',
  'test/delivery/http.provider.test.ts',
  'test/delivery/twilio.gateway.test.ts',
  'test/delivery/webhooks.signature-forgery.test.ts',
  'test/factors/factors.flow.test.ts',
  'test/factors/factors.qr.test.ts',
  'test/factors/factors.guard.test.ts',
  'test/factors/factors.replay.test.ts',
  'test/optin/optin.flow.test.ts',
  'test/optin/optin.config.test.ts',
  'test/reports/reports.abuse.test.ts',
  'test/reports/reports.conversion.test.ts',
  'test/reports/reports.failures.test.ts',
  'test/reports/dashboard.test.ts',
  'test/reports/block-status.test.ts',
  'test/twilio-verify/twilio-verify.sdk.test.ts',
  'test/webhooks/webhooks.flow.test.ts',
  'test/webhooks/webhooks.delivery.test.ts',
];

const postgres = process.env.DATABASE_URL
  ? [
      {
        extends: true as const,
        test: {
          name: 'postgres',
          include: POSTGRES_SUITES,
          env: { TEST_STORAGE: 'postgres' },
          setupFiles: ['test/helpers/postgres.setup.ts'],
        },
      },
    ]
  : [];
if (postgres.length === 0)
  console.warn(
    'vitest: DATABASE_URL is not set: the HTTP suites are not run a second time on PostgreSQL',
  );

export default defineConfig({
  test: {
    environment: 'node',
    // Real-process tests (server starts, SIGKILL and restarts) run long on a loaded 2-CPU CI machine.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: { name: 'sqlite', include: ['test/**/*.test.ts', 'bench/**/*.test.ts'] },
      },
      ...postgres,
    ],
  },
});
