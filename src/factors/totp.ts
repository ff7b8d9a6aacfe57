import { randomBytes } from 'node:crypto';
import { ScureBase32Plugin, generate, generateURI, verify } from 'otplib';

const BASE32 = new ScureBase32Plugin();

/**
 * TOTP as RFC 6238 defines it and authenticator apps implement it: HMAC-SHA-1, 6 digits, 30-second
 * steps from the Unix epoch. Other parameters exist in the RFC but many apps silently ignore them.
 */
export const TOTP_DEFAULTS = { algorithm: 'sha1', digits: 6, period: 30 } as const;

export interface TotpParameters {
  algorithm: 'sha1' | 'sha256' | 'sha512';
  digits: 6 | 7 | 8;
  period: number;
}

/** Secrets carry 160 bits, the HMAC-SHA-1 output size RFC 4226 §4 recommends. */
export const TOTP_SECRET_BYTES = 20;

/** A new random secret (CSPRNG). */
export function newTotpSecret(): Buffer {
  return randomBytes(TOTP_SECRET_BYTES);
}

/** RFC 4648 base32 without padding, as authenticator apps expect it. */
export function base32(secret: Uint8Array): string {
  return BASE32.encode(secret, { padding: false });
}

/** The time step a moment falls in: floor(unix seconds / period) (RFC 6238 §4.2, T0 = 0). */
export function timeStep(nowMs: number, period: number = TOTP_DEFAULTS.period): number {
  return Math.floor(nowMs / 1000 / period);
}

/** The code of the step containing `nowMs`. */
export function totpCode(
  secret: Uint8Array,
  nowMs: number,
  parameters: TotpParameters = TOTP_DEFAULTS,
): Promise<string> {
  return generate({ secret, epoch: Math.floor(nowMs / 1000), ...parameters });
}

/**
 * The step a presented code belongs to, searching the current step and one on either side (RFC 6238
 * §5.2 allows "at most one time step" of network delay; we accept one of clock drift both ways),
 * or undefined when it matches none. Comparison is constant-time inside otplib.
 */
export async function matchTotp(
  secret: Uint8Array,
  code: string,
  nowMs: number,
  parameters: TotpParameters = TOTP_DEFAULTS,
): Promise<number | undefined> {
  if (code.length !== parameters.digits || !/^[0-9]+$/.test(code)) return undefined;
  const result = await verify({
    secret,
    token: code,
    epoch: Math.floor(nowMs / 1000),
    epochTolerance: parameters.period,
    ...parameters,
  });
  return result.valid && 'timeStep' in result ? result.timeStep : undefined;
}

/** The Key URI an authenticator app reads from the QR code (otpauth://totp/Issuer:label?secret=…&issuer=…). */
export function otpauthUri(options: {
  issuer: string;
  label: string;
  secretBase32: string;
}): string {
  return generateURI({
    issuer: options.issuer,
    label: options.label,
    secret: options.secretBase32,
  });
}
