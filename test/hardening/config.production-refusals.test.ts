/**
 * Exploitable without this: a production deployment started with the pepper or admin key from the
 * README (or "changeme"), a hand-typed low-entropy value, no pepper at all, or the log provider that
 * writes codes to a file. Anyone who read the docs then holds the admin key, or a stolen database is
 * brute-forced offline with a guessable pepper. Startup refuses, saying what to set.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, looksWeak } from '../../src/config.js';
import { PRODUCTION_ENV } from '../helpers/production-env.js';

const STRONG = 'Vq3xZ8mK1tR7bN4wY6hJ2cL9pD5sF0gA+e1u';
const PRODUCTION = {
  ...PRODUCTION_ENV,
  OTP_PEPPER: STRONG,
  ADMIN_API_KEY: 'kT4+pW9zQ2rX7vB1nM6cH3sJ8dF5gL0yA/e2',
};

function problemsOf(env: Record<string, string>): string {
  try {
    loadConfig(env);
    return '';
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message;
  }
}

describe('production refusals', () => {
  it('accepts a production configuration with generated secrets', () => {
    expect(problemsOf(PRODUCTION)).toBe('');
  });

  it('refuses a missing pepper, naming the variable and how to make one', () => {
    const { OTP_PEPPER: _, ...rest } = PRODUCTION;
    expect(problemsOf(rest)).toMatch(
      /OTP_PEPPER is required when NODE_ENV=production \(e\.g\. `openssl rand -base64 32`\)/,
    );
  });

  it.each([
    ['a short pepper', { OTP_PEPPER: 'short-pepper' }, /OTP_PEPPER must be at least 32 characters/],
    [
      'a repeated character',
      { OTP_PEPPER: 'p'.repeat(40) },
      /OTP_PEPPER looks like a placeholder or a low-entropy value; set a random one/,
    ],
    [
      'a placeholder pepper',
      { OTP_PEPPER: 'change-me-to-a-long-random-string-please' },
      /OTP_PEPPER looks like a placeholder/,
    ],
    [
      'a placeholder admin key',
      { ADMIN_API_KEY: 'your-admin-key-goes-here-0123456789abcdef' },
      /ADMIN_API_KEY looks like a placeholder/,
    ],
    [
      'a hex-looking hand-typed admin key',
      { ADMIN_API_KEY: 'abababababababababababababababab12' },
      /ADMIN_API_KEY looks like a placeholder or a low-entropy value/,
    ],
    [
      'a short admin key',
      { ADMIN_API_KEY: 'short' },
      /ADMIN_API_KEY must be at least 32 characters/,
    ],
    [
      'the log provider',
      { SMS_PROVIDER: 'log' },
      /SMS_PROVIDER must not be "log" when NODE_ENV=production: codes would only reach a file \(set SMS_PROVIDER=http\)/,
    ],
    ['a wildcard CORS origin', { CORS_ORIGINS: '*' }, /CORS_ORIGINS: "\*" is not an origin/],
    [
      'a CORS origin with a path',
      { CORS_ORIGINS: 'https://app.example/login' },
      /CORS_ORIGINS: "https:\/\/app\.example\/login" is not an origin/,
    ],
  ])('refuses %s with a message saying what to set', (_name, change, message) => {
    expect(problemsOf({ ...PRODUCTION, ...change })).toMatch(message);
  });

  it('lists every problem at once', () => {
    const message = problemsOf({
      NODE_ENV: 'production',
      OTP_PEPPER: 'x'.repeat(40),
      ADMIN_API_KEY: 'changeme'.repeat(5),
    });
    expect(message).toMatch(/OTP_PEPPER looks like/);
    expect(message).toMatch(/ADMIN_API_KEY looks like/);
    expect(message).toMatch(/SMS_PROVIDER must not be "log"/);
    expect(message).toMatch(/FACTOR_ENCRYPTION_KEYS is required/);
  });

  it('judges generated secrets strong: 200 values of openssl rand -base64 32 shape pass', async () => {
    const { randomBytes } = await import('node:crypto');
    for (let i = 0; i < 200; i++) expect(looksWeak(randomBytes(32).toString('base64'))).toBe(false);
  });
});
