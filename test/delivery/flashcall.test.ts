import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import {
  codeFromCallingNumber,
  drawCallerNumber,
  parseFlashCallRanges,
  type FlashCallPlan,
} from '../../src/delivery/flashcall.js';
import { redactCode } from '../../src/delivery/provider.js';
import { PRODUCTION_ENV } from '../helpers/production-env.js';

function plan(text: string): FlashCallPlan {
  const parsed = parseFlashCallRanges(text);
  if (!('plan' in parsed)) throw new Error(parsed.problems.join('; '));
  return parsed.plan;
}

describe('flash-call number ranges', () => {
  it('gives 6 trailing digits for a million numbers and 4 for ten thousand', () => {
    expect(plan('+33187000000-+33187999999').codeLength).toBe(6);
    expect(plan('+442079460000-+442079469999').codeLength).toBe(4);
    // The weakest range decides: every range must cover the whole code space.
    expect(plan('+33187000000-+33187999999,+442079460000-+442079469999').codeLength).toBe(4);
    // Ten million numbers still give 6 digits (the cap); the digits above are part of the prefix.
    expect(plan('+3318000000-+3318999999').codeLength).toBe(6);
  });

  it('covers the whole code space even for a range not aligned on a power of ten', () => {
    const p = plan('+33187000500-+33187010499'); // 10 000 numbers starting at …0500
    expect(p.codeLength).toBe(4);
    const seen = new Set<string>();
    for (let offset = 0; offset < 10_000; offset++)
      seen.add(drawCallerNumber(p, () => offset).code);
    expect(seen.size).toBe(10_000);
  });

  it('draws from every range, with the code as the last N digits and the rest as the caller-ID prefix', () => {
    const p = plan('+33187000000-+33187999999,+442079000000-+442079999999');
    const first = drawCallerNumber(p, () => 123_456);
    expect(first).toEqual({ from: '+33187123456', code: '123456', callerIdPrefix: '+33187' });
    const second = drawCallerNumber(p, () => 1_000_000 + 42);
    expect(second).toEqual({ from: '+442079000042', code: '000042', callerIdPrefix: '+442079' });
  });

  it('refuses ranges that cannot carry a 4-digit code, reversed ranges and garbage, all at once', () => {
    const parsed = parseFlashCallRanges(
      '+33187000000-+33187000999,+33187999999-+33187000000,banana',
    );
    expect('problems' in parsed && parsed.problems).toHaveLength(2);
    const small = parseFlashCallRanges('+33187000000-+33187000999');
    expect('problems' in small && small.problems[0]).toMatch(/only 3 random trailing digit/);
    expect(() => loadConfig({ FLASHCALL_RANGES: '+33187000000-+33187000999' })).toThrow(
      /FLASHCALL_RANGES/,
    );
  });

  it('redacts a code from provider error texts, also when spaced or dashed', () => {
    expect(redactCode('source +33187123456 not verified', '123456')).toBe(
      'source +33187[code] not verified',
    );
    expect(redactCode('from +33 1 87 12 34 56 / 12-34-56', '123456')).toBe(
      'from +33 1 87 [code] / [code]',
    );
    expect(redactCode('nothing here 12345', '123456')).toBe('nothing here 12345');
  });

  it('reads the code out of a full calling number only when its prefix was used', () => {
    expect(codeFromCallingNumber('+33187123456', ['+33187'], 6)).toBe('123456');
    expect(codeFromCallingNumber('+33 1 87 12 34 56', ['+33187'], 6)).toBe('123456');
    expect(codeFromCallingNumber('+33188123456', ['+33187'], 6)).toBeUndefined();
    expect(codeFromCallingNumber('+331871234567', ['+33187'], 6)).toBeUndefined();
    expect(codeFromCallingNumber('123456', ['+33187'], 6)).toBeUndefined();
  });
});

describe('flash-call configuration', () => {
  it('refuses the log voice provider in production when flash calls are on', () => {
    const env = PRODUCTION_ENV;
    expect(() => loadConfig({ ...env, FLASHCALL_RANGES: '+33187000000-+33187999999' })).toThrow(
      /VOICE_PROVIDER must not be "log"/,
    );
    expect(() => loadConfig(env)).not.toThrow();
  });

  it('requires the Twilio credentials and a sender when Twilio is chosen', () => {
    let message = '';
    try {
      loadConfig({ SMS_PROVIDER: 'twilio' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/TWILIO_ACCOUNT_SID/);
    expect(message).toMatch(/TWILIO_AUTH_TOKEN/);
    expect(message).toMatch(/TWILIO_FROM/);
  });
});
