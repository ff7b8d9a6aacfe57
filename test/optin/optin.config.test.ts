import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('opt-in configuration', () => {
  it('keeps consent evidence forever by default, with 5 web code attempts and a one-minute expiry job', () => {
    expect(loadConfig({}).optin).toEqual({
      maxConfirmAttempts: 5,
      expiryPollMs: 60_000,
      ledgerRetentionDays: 0,
    });
  });

  it('refuses a retention shorter than the TCPA limitation period, saying why', () => {
    try {
      loadConfig({ OPTIN_LEDGER_RETENTION_DAYS: '365' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems).toEqual([
        expect.stringMatching(
          /^OPTIN_LEDGER_RETENTION_DAYS must be 0 \(keep forever\) or between 1461 \(4 years/,
        ),
      ]);
    }
    expect(loadConfig({ OPTIN_LEDGER_RETENTION_DAYS: '1461' }).optin.ledgerRetentionDays).toBe(
      1461,
    );
  });
});
