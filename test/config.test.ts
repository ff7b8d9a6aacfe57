import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { PRODUCTION_ENV } from './helpers/production-env.js';

/** The secrets PostgreSQL deployments must set (instances sharing a database must share them). */
const SHARED_SECRETS = {
  OTP_PEPPER: PRODUCTION_ENV.OTP_PEPPER,
  REPORTS_ENCRYPTION_KEY: PRODUCTION_ENV.REPORTS_ENCRYPTION_KEY,
  FACTOR_ENCRYPTION_KEYS: PRODUCTION_ENV.FACTOR_ENCRYPTION_KEYS,
};

describe('configuration', () => {
  it('has safe development defaults: port 3000, SQLite in ./data, log provider, 600 s codes', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 3000,
      sqlitePath: './data/verify.db',
      env: 'development',
    });
    expect(config.sms).toMatchObject({ provider: 'log', outboxPath: './data/outbox.jsonl' });
    expect(config.verification).toEqual({
      codeLength: 6,
      ttlSeconds: 600,
      maxCheckAttempts: 5,
      resendCooldownSeconds: 30,
      maxSends: 5,
    });
  });

  it('refuses to start in production without a pepper, with a weak one, or with the log provider, listing every problem', () => {
    try {
      loadConfig({ NODE_ENV: 'production', PORT: 'eighty' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const message = (error as ConfigError).message;
      expect(message).toMatch(/OTP_PEPPER is required when NODE_ENV=production/);
      expect(message).toMatch(/SMS_PROVIDER must not be "log"/);
      expect(message).toMatch(/PORT/);
    }
    expect(() =>
      loadConfig({
        NODE_ENV: 'production',
        OTP_PEPPER: 'short',
        SMS_PROVIDER: 'http',
        SMS_HTTP_URL: 'https://sms.example/send',
        SMS_HTTP_SECRET: 's'.repeat(32),
      }),
    ).toThrow(/OTP_PEPPER must be at least 32/);
  });

  it('accepts a complete production configuration', () => {
    const config = loadConfig(PRODUCTION_ENV);
    expect(config.sms).toMatchObject({
      provider: 'http',
      url: 'https://sms.example/send',
      timeoutMs: 5000,
    });
  });

  it('refuses out-of-range values with the variable named', () => {
    expect(() => loadConfig({ CODE_TTL_SECONDS: '60' })).toThrow(/CODE_TTL_SECONDS/);
    expect(() => loadConfig({ CODE_LENGTH: '12' })).toThrow(/CODE_LENGTH/);
    expect(() => loadConfig({ ADMIN_API_KEY: 'short' })).toThrow(
      /ADMIN_API_KEY must be at least 32/,
    );
  });

  it('keeps SQLite by default and selects PostgreSQL with DATABASE_URL, refusing another scheme or both at once', () => {
    expect(loadConfig({ SQLITE_PATH: '/var/lib/otp/verify.db' }).database).toEqual({
      kind: 'sqlite',
      path: '/var/lib/otp/verify.db',
    });
    expect(
      loadConfig({
        ...SHARED_SECRETS,
        DATABASE_URL: 'postgres://otp:secret@db:5432/otp',
        DATABASE_POOL_SIZE: '25',
      }).database,
    ).toEqual({
      kind: 'postgres',
      url: 'postgres://otp:secret@db:5432/otp',
      poolSize: 25,
    });
    expect(
      loadConfig({ ...SHARED_SECRETS, DATABASE_URL: 'postgresql://db/otp' }).database,
    ).toMatchObject({ kind: 'postgres', poolSize: 10 });
    expect(() => loadConfig({ ...SHARED_SECRETS, DATABASE_URL: 'mysql://db/otp' })).toThrow(
      /DATABASE_URL must be a postgres:\/\/ or postgresql:\/\/ URL/,
    );
    expect(() =>
      loadConfig({
        ...SHARED_SECRETS,
        DATABASE_URL: 'postgres://db/otp',
        SQLITE_PATH: './verify.db',
      }),
    ).toThrow(/DATABASE_URL and SQLITE_PATH are both set/);
    expect(() =>
      loadConfig({ ...SHARED_SECRETS, DATABASE_URL: 'postgres://db/otp', DATABASE_POOL_SIZE: '0' }),
    ).toThrow(/DATABASE_POOL_SIZE/);
    // The URL's password is never echoed in a configuration error.
    expect(() =>
      loadConfig({ ...SHARED_SECRETS, DATABASE_URL: 'mysql://otp:hunter2-secret@db/otp' }),
    ).toThrow(/^(?![\s\S]*hunter2)/);
  });
  it('refuses PostgreSQL without the secrets every instance must share, naming each', () => {
    expect(() => loadConfig({ DATABASE_URL: 'postgres://db/otp' })).toThrow(
      /OTP_PEPPER, REPORTS_ENCRYPTION_KEY, FACTOR_ENCRYPTION_KEYS must be set when DATABASE_URL is set/,
    );
    expect(() =>
      loadConfig({ ...SHARED_SECRETS, OTP_PEPPER: undefined, DATABASE_URL: 'postgres://db/otp' }),
    ).toThrow(/OTP_PEPPER must be set when DATABASE_URL is set/);
    expect(loadConfig({ ...SHARED_SECRETS, DATABASE_URL: 'postgres://db/otp' }).database.kind).toBe(
      'postgres',
    );
  });
});
