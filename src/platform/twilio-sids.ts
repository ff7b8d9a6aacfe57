import { createHmac } from 'node:crypto';

/**
 * Twilio sids (two letters and 32 hex digits) for the service's own ids, with no column of their own.
 * An id made by platform/ids.ts `newId` carries exactly 128 bits (48 bits of time, 80 random) in 26
 * Crockford base32 characters, whose first one is at most 7; 32 hex digits carry the same 128 bits.
 * So `ver_…` ↔ `VE…`, `dlv_…` ↔ `VL…` and `key_…` ↔ `SK…` are one bijection, computed both ways.
 */

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
const BODY = /^[0-7][0-9a-hjkmnp-tv-z]{25}$/;
const HEX = /^[0-9a-fA-F]{32}$/;

/** Twilio's sid shape: the prefix then 32 hex digits (either case). */
export function isTwilioSid(prefix: string, value: string): boolean {
  return value.length === 34 && value.startsWith(prefix) && HEX.test(value.slice(2));
}

function base32ToHex(body: string): string {
  let n = 0n;
  for (const char of body) n = (n << 5n) | BigInt(ALPHABET.indexOf(char));
  return n.toString(16).padStart(32, '0');
}

function hexToBase32(hex: string): string {
  let n = BigInt(`0x${hex}`);
  let out = '';
  for (let i = 0; i < 26; i++) {
    out = ALPHABET[Number(n & 31n)] + out;
    n >>= 5n;
  }
  return out;
}

/** `<prefix>_<26 chars>` → `<sidPrefix><32 hex>`; undefined for a string that is not such an id. */
function idToSid(id: string, idPrefix: string, sidPrefix: string): string | undefined {
  const body = id.slice(idPrefix.length + 1);
  if (!id.startsWith(`${idPrefix}_`) || !BODY.test(body)) return undefined;
  return `${sidPrefix}${base32ToHex(body)}`;
}

/** The inverse of idToSid; undefined for a string that is not a sid of that kind. */
function sidToId(sid: string, sidPrefix: string, idPrefix: string): string | undefined {
  if (!isTwilioSid(sidPrefix, sid)) return undefined;
  return `${idPrefix}_${hexToBase32(sid.slice(2).toLowerCase())}`;
}

function mustMap(value: string | undefined, id: string): string {
  if (value === undefined) throw new Error(`not an id of the expected kind: ${id}`);
  return value;
}

/** `ver_…` → `VE…`. Throws for anything newId('ver') cannot have made. */
export const verificationSid = (id: string): string => mustMap(idToSid(id, 'ver', 'VE'), id);
/** `VE…` → `ver_…`, or undefined when the string is not a verification sid. */
export const verificationIdOf = (sid: string): string | undefined => sidToId(sid, 'VE', 'ver');
/** `dlv_…` → `VL…` (a send attempt). Throws for anything newId('dlv') cannot have made. */
export const deliverySid = (id: string): string => mustMap(idToSid(id, 'dlv', 'VL'), id);
/** `key_…` → `SK…`; undefined for ADMIN_API_KEY's principal, which has no key id. */
export const apiKeySid = (keyId: string): string | undefined => idToSid(keyId, 'key', 'SK');
/** `SK…` → `key_…`, or undefined when the string is not an API key sid. */
export const apiKeyIdOf = (sid: string): string | undefined => sidToId(sid, 'SK', 'key');

/**
 * The deployment's Account sid: one per deployment, the same on every instance and across restarts,
 * derived from OTP_PEPPER (which every instance shares and which cannot change without voiding every
 * pending code). Twilio's Account owns its Services as this deployment owns its apps. HMAC-SHA256
 * under the pepper of a fixed label: publishing it reveals nothing of the pepper (a PRF output).
 */
export function accountSidFor(pepper: Buffer): string {
  return `AC${createHmac('sha256', pepper).update('otp-verify twilio account sid').digest('hex').slice(0, 32)}`;
}
