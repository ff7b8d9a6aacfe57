import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The signatures of provider callbacks: the http gateway's (HMAC-SHA256 with a timestamp, ours) and
 * Twilio's (X-Twilio-Signature). Pure functions, shared by the providers that sign outgoing
 * requests and the middleware that checks incoming callbacks (webhooks.auth.ts).
 */

export const SIGNATURE_HEADER = 'x-otp-signature';
export const TIMESTAMP_HEADER = 'x-otp-timestamp';

/**
 * Signature of an outgoing or incoming webhook body: hex HMAC-SHA256 over "<unix seconds>.<raw body>"
 * under the shared secret, sent as `x-otp-signature: v1=<hex>` with `x-otp-timestamp`.
 */
export function signWebhook(secret: string, timestampSeconds: number, rawBody: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestampSeconds}.${rawBody}`).digest('hex')}`;
}

/** Maximum age (and clock skew) of a signed inbound callback: a captured one cannot be replayed later. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

/**
 * Checks an inbound callback's signature against any of the secrets, in constant time, and its
 * timestamp against the tolerance window. False for anything missing or malformed.
 */
export function verifyWebhookSignature(
  secrets: readonly string[],
  header: string | undefined,
  timestamp: string | undefined,
  rawBody: string,
  nowMs: number,
): boolean {
  if (!header || !timestamp || !/^\d{1,12}$/.test(timestamp)) return false;
  const seconds = Number(timestamp);
  if (Math.abs(nowMs / 1000 - seconds) > SIGNATURE_TOLERANCE_SECONDS) return false;
  const presented = Buffer.from(header, 'utf8');
  let ok = false;
  for (const secret of secrets) {
    const expected = Buffer.from(signWebhook(secret, seconds, rawBody), 'utf8');
    if (expected.length === presented.length && timingSafeEqual(expected, presented)) ok = true;
  }
  return ok;
}

/**
 * X-Twilio-Signature: base64 HMAC-SHA1, keyed with the Auth Token, of the full URL Twilio called
 * followed by every POST parameter name and value, sorted by name.
 */
export function twilioSignature(
  authToken: string,
  url: string,
  params: Record<string, string>,
): string {
  const data = Object.keys(params)
    .sort()
    .reduce((acc, key) => acc + key + (params[key] ?? ''), url);
  return createHmac('sha1', authToken).update(Buffer.from(data, 'utf8')).digest('base64');
}

/** Constant-time check of an X-Twilio-Signature header. */
export function verifyTwilioSignature(
  authToken: string,
  header: string | undefined,
  url: string,
  params: Record<string, string>,
): boolean {
  if (!header) return false;
  const expected = Buffer.from(twilioSignature(authToken, url, params), 'utf8');
  const presented = Buffer.from(header, 'utf8');
  return expected.length === presented.length && timingSafeEqual(expected, presented);
}
