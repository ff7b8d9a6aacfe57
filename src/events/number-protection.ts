import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { parsePhoneNumberWithError } from 'libphonenumber-js/max';

/** How a phone number is kept in the event record: never in clear. */
export interface ProtectedNumber {
  /** Keyed hash (HMAC-SHA256, 128 bits, hex): groups and filters by number without storing it. */
  hash: string;
  /** AES-256-GCM ciphertext of the E.164 number: `v1.<iv>.<tag>.<ciphertext>` (base64url). */
  encrypted: string;
  /** The E.164 number minus its last 4 digits (the subscriber part), for grouping by range. */
  prefix: string;
}

/** Hashes, encrypts and decrypts numbers of the event record with keys derived from one secret. */
export interface NumberProtector {
  protect(e164: string): ProtectedNumber;
  /** The keyed hash of a number, to look its records up. */
  hash(e164: string): string;
  /** The E.164 number, or undefined when the value was not made with this key or was altered. */
  reveal(encrypted: string): string | undefined;
}

const VERSION = 'v1';
// Binds every ciphertext to its purpose: a value moved from another column or table fails to decrypt.
const AAD = Buffer.from('otp-verify/events.number/v1');

/**
 * Derives independent hashing and encryption keys from one secret (HKDF-SHA256, RFC 5869), so the
 * grouping hash can never be used to decrypt and the encryption key never doubles as a MAC key.
 */
export function createNumberProtector(secret: Buffer): NumberProtector {
  if (secret.length < 32)
    throw new Error('the reports encryption secret must be at least 32 bytes');
  const derive = (info: string): Buffer =>
    Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), info, 32));
  const hashKey = derive('otp-verify events number hash v1');
  const encKey = derive('otp-verify events number encryption v1');
  const hash = (e164: string): string =>
    createHmac('sha256', hashKey).update(e164).digest('hex').slice(0, 32);

  return {
    hash,
    protect(e164) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', encKey, iv).setAAD(AAD);
      const ciphertext = Buffer.concat([cipher.update(e164, 'utf8'), cipher.final()]);
      const encrypted = [
        VERSION,
        iv.toString('base64url'),
        cipher.getAuthTag().toString('base64url'),
        ciphertext.toString('base64url'),
      ].join('.');
      return { hash: hash(e164), encrypted, prefix: numberPrefix(e164) };
    },
    reveal(encrypted) {
      const [version, iv, tag, ciphertext] = encrypted.split('.');
      if (version !== VERSION || !iv || !tag || ciphertext === undefined) return undefined;
      try {
        const decipher = createDecipheriv(
          'aes-256-gcm',
          encKey,
          Buffer.from(iv, 'base64url'),
        ).setAAD(AAD);
        decipher.setAuthTag(Buffer.from(tag, 'base64url'));
        return Buffer.concat([
          decipher.update(Buffer.from(ciphertext, 'base64url')),
          decipher.final(),
        ]).toString('utf8');
      } catch {
        return undefined;
      }
    },
  };
}

/**
 * Keeps the protected form of the last `size` numbers and gives it again for the next events about
 * them (a start records two or three): the same ciphertext in several rows tells no more than their
 * equal hash already does, and spares an encryption and its random IV per row. Reading is untouched.
 */
export function withRecentNumbers(protector: NumberProtector, size = 4096): NumberProtector {
  const recent = new Map<string, ProtectedNumber>();
  return {
    ...protector,
    protect(e164) {
      let value = recent.get(e164);
      if (value === undefined) {
        value = protector.protect(e164);
        if (recent.size >= size) recent.delete(recent.keys().next().value as string);
        recent.set(e164, value);
      }
      return value;
    },
  };
}

/** The number range a number belongs to: its E.164 form minus the last 4 digits (`+33612345678` → `+3361234`). */
export function numberPrefix(e164: string): string {
  return e164.length > 6 ? e164.slice(0, -4) : e164.slice(0, Math.min(e164.length, 3));
}

/**
 * The number as an analyst sees it by default: country calling code, first national digit and last
 * 2 digits, in international grouping (`+33 6 •• •• •• 78`). Only 2 trailing digits stay visible
 * because reports also show the prefix (all but the last 4 digits): with 4 trailing digits the two
 * together would be the whole number.
 */
export function maskNumber(e164: string): string {
  let formatted: string;
  let callingCode: string;
  try {
    const parsed = parsePhoneNumberWithError(e164);
    formatted = parsed.formatInternational();
    callingCode = parsed.countryCallingCode;
  } catch {
    return `${e164.slice(0, 3)}••••`;
  }
  const totalDigits = formatted.replace(/\D/g, '').length;
  const keepFirst = callingCode.length + 1;
  const keepLast = 2;
  let index = 0;
  let out = '';
  for (const ch of formatted) {
    if (!/\d/.test(ch)) {
      out += ch;
      continue;
    }
    out += index < keepFirst || index >= totalDigits - keepLast ? ch : '•';
    index += 1;
  }
  return out;
}
