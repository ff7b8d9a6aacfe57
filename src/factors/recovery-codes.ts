import { createHmac, randomInt } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'; // Crockford base32: no i, l, o, u

export const RECOVERY_CODE_COUNT = 10;

/** A recovery code: 10 Crockford base32 characters (50 random bits) shown as `xxxxx-xxxxx`. */
export function generateRecoveryCode(): string {
  let out = '';
  for (let i = 0; i < 10; i++) out += ALPHABET[randomInt(32)];
  return `${out.slice(0, 5)}-${out.slice(5)}`;
}

/** What a person may type: any case, with or without the dash or spaces; i/l read as 1 and o as 0. */
export function normalizeRecoveryCode(input: string): string | undefined {
  const cleaned = input
    .toLowerCase()
    .replace(/[\s-]/g, '')
    .replace(/[il]/g, '1')
    .replace(/o/g, '0');
  return /^[0-9a-hjkmnp-tv-z]{10}$/.test(cleaned) ? cleaned : undefined;
}

/**
 * HMAC-SHA256(pepper, factor id, code), hex. The codes carry 50 random bits, so a keyed hash is
 * enough (no slow hash needed), and the pepper keeps a stolen database from being searched offline.
 */
export function hashRecoveryCode(pepper: Buffer, factorId: string, normalized: string): string {
  return createHmac('sha256', pepper)
    .update('recovery\u0000')
    .update(factorId)
    .update('\u0000')
    .update(normalized)
    .digest('hex');
}
