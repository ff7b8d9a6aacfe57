import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';

describe('limits configuration', () => {
  it('has the documented defaults', () => {
    const { limits } = loadConfig({});
    expect(limits.rates).toEqual({
      'number:10m': 5,
      'number:day': 10,
      'ip:10m': 20,
      'subnet:10m': 60,
      'country:hour': 1000,
      'app:hour': 10000,
      'number-checks:day': 20,
      'ip-checks:hour': 100,
    });

    expect(limits.redisUrl).toBeUndefined();
    expect(limits.instances).toBe(1);
    expect(limits.redisCommandTimeoutMs).toBe(500);
    expect(limits.geo.denyCountries).toContain('CU');
  });

  it('reads overrides and reports every bad value at once', () => {
    expect(
      loadConfig({ LIMIT_NUMBER_STARTS_10M: '3', GEO_DENY_COUNTRIES: 'none' }).limits,
    ).toMatchObject({ rates: { 'number:10m': 3 }, geo: { denyCountries: [] } });
    expect(() =>
      loadConfig({
        LIMIT_IP_STARTS_10M: '0',
        GEO_DENY_COUNTRIES: 'CU,Cuba',
        REDIS_URL: 'http://x',
        LOCKOUT_BASE_SECONDS: '600',
        LOCKOUT_MAX_SECONDS: '60',
      }),
    ).toThrow(
      /LIMIT_IP_STARTS_10M[\s\S]*REDIS_URL[\s\S]*GEO_DENY_COUNTRIES[\s\S]*LOCKOUT_MAX_SECONDS/,
    );
  });

  it('LIMITS_INSTANCES and REDIS_COMMAND_TIMEOUT_MS: whole numbers in range, reported together', () => {
    expect(
      loadConfig({ LIMITS_INSTANCES: '4', REDIS_COMMAND_TIMEOUT_MS: '250' }).limits,
    ).toMatchObject({ instances: 4, redisCommandTimeoutMs: 250 });
    for (const bad of ['0', '-2', '1.5', 'three', '1001']) {
      expect(() => loadConfig({ LIMITS_INSTANCES: bad }), bad).toThrow(/LIMITS_INSTANCES/);
    }
    expect(() => loadConfig({ LIMITS_INSTANCES: '0', REDIS_COMMAND_TIMEOUT_MS: '10' })).toThrow(
      /LIMITS_INSTANCES[\s\S]*REDIS_COMMAND_TIMEOUT_MS/,
    );
  });

  it('REDIS_KEY_PREFIX keeps deployments sharing one Redis apart; a prefix that could break key parsing is refused', () => {
    expect(loadConfig({}).limits.redisKeyPrefix).toBe('otp');
    expect(loadConfig({ REDIS_KEY_PREFIX: 'eu-1:verify' }).limits.redisKeyPrefix).toBe(
      'eu-1:verify',
    );
    for (const bad of ['has space', 'a*b', 'x'.repeat(65)])
      expect(() => loadConfig({ REDIS_KEY_PREFIX: bad }), bad).toThrow(/REDIS_KEY_PREFIX/);
  });
});
