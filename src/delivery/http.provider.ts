import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../platform/clock.js';
import type { SendResult, SmsProvider, VoiceProvider } from './provider.js';

export interface HttpProviderOptions {
  url: string;
  secret: string;
  timeoutMs: number;
  clock: Clock;
  /** Where the gateway should POST delivery statuses (PUBLIC_BASE_URL + /v1/webhooks/http/status), when known. */
  statusCallbackUrl?: string | undefined;
  fetch?: typeof fetch;
}

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

async function postSigned(options: HttpProviderOptions, payload: Record<string, string>): Promise<SendResult> {
  const doFetch = options.fetch ?? fetch;
  const raw = JSON.stringify(options.statusCallbackUrl ? { ...payload, statusCallback: options.statusCallbackUrl } : payload);
  const timestamp = Math.floor(options.clock.now() / 1000);
  try {
    const response = await doFetch(options.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        [TIMESTAMP_HEADER]: String(timestamp),
        [SIGNATURE_HEADER]: signWebhook(options.secret, timestamp, raw),
      },
      body: raw,
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    const text = await response.text();
    if (!response.ok) {
      return { status: 'failed', errorCode: `http_${response.status}`, errorMessage: text.slice(0, 200) || response.statusText, transient: response.status >= 500 };
    }
    return { status: 'sent', providerMessageId: readMessageId(text) };
  } catch (error) {
    const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
    return timedOut
      ? { status: 'failed', errorCode: 'timeout', errorMessage: `no answer within ${options.timeoutMs} ms`, transient: true }
      : { status: 'failed', errorCode: 'network_error', errorMessage: error instanceof Error ? error.message.slice(0, 200) : 'network error', transient: true };
  }
}

/**
 * A generic gateway: POSTs `{ to, body, verificationId }` as JSON to the configured URL, signed.
 * Any 2xx is a send (an `id` or `messageId` in the JSON answer becomes the provider message id);
 * a non-2xx, a network error or the timeout is a failure, reported and never thrown.
 */
export function createHttpSmsProvider(options: HttpProviderOptions): SmsProvider {
  return {
    name: 'http',
    send: (message) =>
      postSigned(options, { type: 'sms', to: message.to, body: message.body, verificationId: message.verificationId, ...(message.from ? { from: message.from } : {}) }),
  };
}

/** The same generic gateway for flash calls: POSTs `{ type: "flashcall", to, from, verificationId }`, signed. */
export function createHttpVoiceProvider(options: HttpProviderOptions): VoiceProvider {
  return {
    name: 'http',
    call: (call) => postSigned(options, { type: 'flashcall', to: call.to, from: call.from, verificationId: call.verificationId }),
  };
}

function readMessageId(text: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object') {
      const record = parsed as Record<string, unknown>;
      const id = record.id ?? record.messageId;
      if (typeof id === 'string' || typeof id === 'number') return String(id).slice(0, 128);
    }
  } catch {
    // A 2xx without JSON is still a send.
  }
  return undefined;
}
