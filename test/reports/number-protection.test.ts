import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  createNumberProtector,
  maskNumber,
  numberPrefix,
} from '../../src/events/number-protection.js';

describe('number protection', () => {
  const protector = createNumberProtector(randomBytes(32));

  it('encrypts with a fresh IV each time and decrypts back', () => {
    const a = protector.protect('+33612345678');
    const b = protector.protect('+33612345678');
    expect(a.encrypted).not.toBe(b.encrypted);
    expect(a.hash).toBe(b.hash);
    expect(protector.reveal(a.encrypted)).toBe('+33612345678');
    expect(a.prefix).toBe('+3361234');
  });

  it('refuses a tampered ciphertext, a ciphertext of another key and garbage', () => {
    const { encrypted } = protector.protect('+14155550123');
    const parts = encrypted.split('.');
    const flipped = Buffer.from(parts[3]!, 'base64url');
    flipped[0] = flipped[0]! ^ 1;
    expect(
      protector.reveal([parts[0], parts[1], parts[2], flipped.toString('base64url')].join('.')),
    ).toBeUndefined();
    expect(createNumberProtector(randomBytes(32)).reveal(encrypted)).toBeUndefined();
    expect(protector.reveal('v1.x.y.z')).toBeUndefined();
    expect(protector.reveal('+14155550123')).toBeUndefined();
  });

  it('hashes with a key: another key gives another hash', () => {
    expect(createNumberProtector(randomBytes(32)).hash('+14155550123')).not.toBe(
      protector.hash('+14155550123'),
    );
  });

  it('refuses a secret shorter than 32 bytes', () => {
    expect(() => createNumberProtector(Buffer.alloc(16))).toThrow(/32 bytes/);
  });

  it('masks all but the calling code, the first national digit and the last two digits', () => {
    expect(maskNumber('+33612345678')).toBe('+33 6 •• •• •• 78');
    expect(maskNumber('+14155550123')).toBe('+1 4•• ••• ••23');
    expect(maskNumber('+447700900123')).toBe('+44 7••• ••••23');
    expect(numberPrefix('+14155550123')).toBe('+1415555');
  });
});
