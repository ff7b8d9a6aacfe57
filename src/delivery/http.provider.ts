import { createHmac } from 'node:crypto';
import type { Clock } from '../platform/clock.js';
import type { SmsProvider } from './provider.js';

export interface HttpProviderOptions {
  url: string;
  secret: string;
  timeoutMs: number;
  clock: Clock;
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

/**
 * A generic gateway: POSTs `{ to, body, verificationId }` as JSON to the configured URL, signed.
 * Any 2xx is a send (an `id` or `messageId` in the JSON answer becomes the provider message id);
 * a non-2xx, a network error or the timeout is a failure, reported and never thrown.
 */
export function createHttpSmsProvider(options: HttpProviderOptions): SmsProvider {
  const doFetch = options.fetch ?? fetch;
  return {
    name: 'http',
    async send(message) {
      const raw = JSON.stringify({ to: message.to, body: message.body, verificationId: message.verificationId });
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
          return { status: 'failed', errorCode: `http_${response.status}`, errorMessage: text.slice(0, 200) || response.statusText };
        }
        return { status: 'sent', providerMessageId: readMessageId(text) };
      } catch (error) {
        const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
        return timedOut
          ? { status: 'failed', errorCode: 'timeout', errorMessage: `no answer within ${options.timeoutMs} ms` }
          : { status: 'failed', errorCode: 'network_error', errorMessage: error instanceof Error ? error.message.slice(0, 200) : 'network error' };
      }
    },
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
