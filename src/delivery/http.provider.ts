import type { Clock } from '../platform/clock.js';
import { bodyExcerpt, type SendResult, type SmsProvider, type VoiceProvider } from './provider.js';
import { SIGNATURE_HEADER, signWebhook, TIMESTAMP_HEADER } from './signatures.js';

export interface HttpProviderOptions {
  url: string;
  secret: string;
  timeoutMs: number;
  clock: Clock;
  /** Where the gateway should POST delivery statuses (PUBLIC_BASE_URL + /v1/webhooks/http/status), when known. */
  statusCallbackUrl?: string | undefined;
  fetch?: typeof fetch;
}

async function postSigned(
  options: HttpProviderOptions,
  payload: Record<string, string>,
): Promise<SendResult> {
  const doFetch = options.fetch ?? fetch;
  const raw = JSON.stringify(
    options.statusCallbackUrl ? { ...payload, statusCallback: options.statusCallbackUrl } : payload,
  );
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
      return {
        status: 'failed',
        errorCode: `http_${response.status}`,
        errorMessage: text.slice(0, 200) || response.statusText,
        transient: response.status >= 500,
      };
    }
    return readAcceptance(text);
  } catch (error) {
    const timedOut =
      error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
    return timedOut
      ? {
          status: 'failed',
          errorCode: 'timeout',
          errorMessage: `no answer within ${options.timeoutMs} ms`,
          transient: true,
        }
      : {
          status: 'failed',
          errorCode: 'network_error',
          errorMessage: error instanceof Error ? error.message.slice(0, 200) : 'network error',
          transient: true,
        };
  }
}

/**
 * A generic gateway: POSTs `{ to, body, verificationId }` as JSON to the configured URL, signed.
 * A 2xx with an empty body or a JSON object is a send (see readAcceptance); a non-2xx, a 2xx with
 * any other body, a network error or the timeout is a failure, reported and never thrown.
 */
export function createHttpSmsProvider(options: HttpProviderOptions): SmsProvider {
  return {
    name: 'http',
    send: (message) =>
      postSigned(options, {
        type: 'sms',
        to: message.to,
        body: message.body,
        verificationId: message.verificationId,
        ...(message.from ? { from: message.from } : {}),
      }),
  };
}

/** The same generic gateway for flash calls: POSTs `{ type: "flashcall", to, from, verificationId }`, signed. */
export function createHttpVoiceProvider(options: HttpProviderOptions): VoiceProvider {
  return {
    name: 'http',
    call: (call) =>
      postSigned(options, {
        type: 'flashcall',
        to: call.to,
        from: call.from,
        verificationId: call.verificationId,
      }),
  };
}

/**
 * What a 2xx answer means. An empty body or a JSON object is a send (its `id` or `messageId`, when
 * a string or number, becomes the provider message id). Anything else (an HTML page from a proxy
 * or captive portal, truncated JSON, an array) is no answer this protocol defines: `invalid_response`,
 * not retried (the gateway may have taken the message) but a failure, so the fallback follows now
 * rather than when the timed fallback is due.
 */
function readAcceptance(text: string): SendResult {
  if (text.trim() === '') return { status: 'sent' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return {
      status: 'failed',
      errorCode: 'invalid_response',
      errorMessage: `2xx answer is not a JSON object: ${bodyExcerpt(text)}`,
      transient: false,
    };
  }
  const record = parsed as Record<string, unknown>;
  const id = record.id ?? record.messageId;
  return {
    status: 'sent',
    providerMessageId:
      typeof id === 'string' || typeof id === 'number' ? String(id).slice(0, 128) : undefined,
  };
}
