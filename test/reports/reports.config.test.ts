import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { productionEnvWithout } from '../helpers/production-env.js';

const production = productionEnvWithout('REPORTS_ENCRYPTION_KEY');

describe('reports configuration', () => {
  it('refuses to start in production without REPORTS_ENCRYPTION_KEY, saying why', () => {
    expect(() => loadConfig(production)).toThrow(ConfigError);
    expect(() => loadConfig(production)).toThrow(
      /REPORTS_ENCRYPTION_KEY is required when NODE_ENV=production/,
    );
  });

  it('refuses a short key and accepts a long one', () => {
    expect(() => loadConfig({ ...production, REPORTS_ENCRYPTION_KEY: 'short' })).toThrow(
      /REPORTS_ENCRYPTION_KEY must be at least 32 characters/,
    );
    expect(loadConfig({ ...production, REPORTS_ENCRYPTION_KEY: 'k'.repeat(32) }).reports).toEqual({
      encryptionKey: 'k'.repeat(32),
      smsUnitCost: undefined,
      retentionDays: 90,
      retentionBatchSize: 5000,
      retentionIntervalMinutes: 60,
    });
  });

  it('reads retention and cost settings', () => {
    const config = loadConfig({
      RETENTION_DAYS: '30',
      RETENTION_BATCH_SIZE: '1000',
      REPORTS_SMS_COST: '0.045',
    });
    expect(config.reports).toMatchObject({
      retentionDays: 30,
      retentionBatchSize: 1000,
      smsUnitCost: 0.045,
    });
    expect(() => loadConfig({ RETENTION_DAYS: '0' })).toThrow(/RETENTION_DAYS/);
  });
});
