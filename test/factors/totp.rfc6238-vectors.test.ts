import { describe, expect, it } from 'vitest';
import { matchTotp, timeStep, totpCode, TOTP_DEFAULTS } from '../../src/factors/totp.js';

// RFC 6238 Appendix B: the seeds are the ASCII strings below (20, 32 and 64 bytes), 8 digits, 30 s.
const SEEDS = {
  sha1: Buffer.from('12345678901234567890', 'ascii'),
  sha256: Buffer.from('12345678901234567890123456789012', 'ascii'),
  sha512: Buffer.from('1234567890123456789012345678901234567890123456789012345678901234', 'ascii'),
} as const;

const VECTORS: [seconds: number, step: string, sha1: string, sha256: string, sha512: string][] = [
  [59, '0000000000000001', '94287082', '46119246', '90693936'],
  [1111111109, '00000000023523EC', '07081804', '68084774', '25091201'],
  [1111111111, '00000000023523ED', '14050471', '67062674', '99943326'],
  [1234567890, '000000000273EF07', '89005924', '91819424', '93441116'],
  [2000000000, '0000000003F940AA', '69279037', '90698825', '38618901'],
  [20000000000, '0000000027BC86AA', '65353130', '77737706', '47863826'],
];

describe('TOTP against the RFC 6238 Appendix B test vectors', () => {
  for (const [seconds, step, sha1, sha256, sha512] of VECTORS) {
    it(`T = ${seconds}s (step 0x${step})`, async () => {
      const ms = seconds * 1000;
      expect(timeStep(ms).toString(16).toUpperCase().padStart(16, '0')).toBe(step);
      expect(await totpCode(SEEDS.sha1, ms, { algorithm: 'sha1', digits: 8, period: 30 })).toBe(
        sha1,
      );
      expect(await totpCode(SEEDS.sha256, ms, { algorithm: 'sha256', digits: 8, period: 30 })).toBe(
        sha256,
      );
      expect(await totpCode(SEEDS.sha512, ms, { algorithm: 'sha512', digits: 8, period: 30 })).toBe(
        sha512,
      );
      // The verifier finds the vector's step for its code.
      expect(
        await matchTotp(SEEDS.sha1, sha1, ms, { algorithm: 'sha1', digits: 8, period: 30 }),
      ).toBe(Number.parseInt(step, 16));
    });
  }

  it('uses the authenticator-app defaults: SHA-1, 6 digits, 30 s (the last 6 digits of the SHA-1 vectors)', async () => {
    expect(TOTP_DEFAULTS).toEqual({ algorithm: 'sha1', digits: 6, period: 30 });
    for (const [seconds, , sha1] of VECTORS)
      expect(await totpCode(SEEDS.sha1, seconds * 1000)).toBe(sha1.slice(2));
  });

  it('refuses codes that are not exactly 6 ASCII digits without computing anything', async () => {
    for (const code of ['', '28708', '2870822', '２８７０８２', '28708a', ' 287082'])
      expect(await matchTotp(SEEDS.sha1, code, 59_000)).toBeUndefined();
  });
});
