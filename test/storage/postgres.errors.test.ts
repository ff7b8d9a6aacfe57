import { describe, expect, it } from 'vitest';
import { isPostgresUnavailable } from '../../src/storage/postgres/errors.js';

const withCode = (message: string, code: string): Error =>
  Object.assign(new Error(message), { code });

describe('which PostgreSQL errors are an outage (503 storage_unavailable) rather than a bug (500)', () => {
  it('counts refused and reset connections, server shutdowns, connection exceptions and pool time-outs', () => {
    for (const error of [
      withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'),
      withCode('read ECONNRESET', 'ECONNRESET'),
      withCode('terminating connection due to administrator command', '57P01'),
      withCode('the database system is starting up', '57P03'),
      withCode('connection failure', '08006'),
      withCode('sorry, too many clients already', '53300'),
      new Error('Connection terminated unexpectedly'),
      new Error('timeout exceeded when trying to connect'),
    ]) {
      expect(isPostgresUnavailable(error), error.message).toBe(true);
      // drizzle wraps driver errors in its own ("Failed query: …") with the driver's as the cause.
      expect(
        isPostgresUnavailable(new Error('Failed query: select 1', { cause: error })),
        error.message,
      ).toBe(true);
    }
  });

  it('does not hide bugs and constraint violations behind a 503', () => {
    for (const error of [
      withCode('duplicate key value violates unique constraint "apps_pkey"', '23505'),
      withCode('syntax error at or near "SELEC"', '42601'),
      withCode('optin_consent_ledger is append-only', 'P0001'),
      new TypeError("Cannot read properties of undefined (reading 'id')"),
      'a string',
      undefined,
    ]) {
      expect(isPostgresUnavailable(error)).toBe(false);
    }
  });
});
