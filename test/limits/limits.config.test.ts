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
    expect(limits.trustProxy).toEqual({ kind: 'none' });
    expect(limits.redisUrl).toBeUndefined();
    expect(limits.geo.denyCountries).toContain('CU');
  });

  it('reads overrides and reports every bad value at once', () => {
    expect(loadConfig({ LIMIT_NUMBER_STARTS_10M: '3', GEO_DENY_COUNTRIES: 'none' }).limits).toMatchObject({ rates: { 'number:10m': 3 }, geo: { denyCountries: [] } });
    expect(() => loadConfig({ LIMIT_IP_STARTS_10M: '0', GEO_DENY_COUNTRIES: 'CU,Cuba', REDIS_URL: 'http://x', LOCKOUT_BASE_SECONDS: '600', LOCKOUT_MAX_SECONDS: '60' })).toThrow(
      /LIMIT_IP_STARTS_10M[\s\S]*REDIS_URL[\s\S]*GEO_DENY_COUNTRIES[\s\S]*LOCKOUT_MAX_SECONDS/,
    );
  });
});
