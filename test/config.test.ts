import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

describe('configuration', () => {
  it('has safe development defaults: port 3000, SQLite in ./data, log provider, 600 s codes', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 3000, sqlitePath: './data/verify.db', env: 'development' });
    expect(config.sms).toMatchObject({ provider: 'log', outboxPath: './data/outbox.jsonl' });
    expect(config.verification).toEqual({ codeLength: 6, ttlSeconds: 600, maxCheckAttempts: 5, resendCooldownSeconds: 30, maxSends: 5 });
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
    expect(() => loadConfig({ NODE_ENV: 'production', OTP_PEPPER: 'short', SMS_PROVIDER: 'http', SMS_HTTP_URL: 'https://sms.example/send', SMS_HTTP_SECRET: 's'.repeat(32) })).toThrow(/OTP_PEPPER must be at least 32/);
  });

  it('accepts a complete production configuration', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      OTP_PEPPER: 'Vq3xZ8mK1tR7bN4wY6hJ2cL9pD5sF0gA+e1u',
      SMS_PROVIDER: 'http',
      SMS_HTTP_URL: 'https://sms.example/send',
      SMS_HTTP_SECRET: 's'.repeat(32),
      FACTOR_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 7).toString('base64')}`,
    });
    expect(config.sms).toMatchObject({ provider: 'http', url: 'https://sms.example/send', timeoutMs: 5000 });
  });

  it('refuses out-of-range values with the variable named', () => {
    expect(() => loadConfig({ CODE_TTL_SECONDS: '60' })).toThrow(/CODE_TTL_SECONDS/);
    expect(() => loadConfig({ CODE_LENGTH: '12' })).toThrow(/CODE_LENGTH/);
    expect(() => loadConfig({ ADMIN_API_KEY: 'short' })).toThrow(/ADMIN_API_KEY must be at least 32/);
  });
});
