import { bodyExcerpt, type SendResult, type SmsProvider, type VoiceProvider } from './provider.js';
import { twilioErrorMessage } from './twilio.errors.js';

export interface TwilioOptions {
  accountSid: string;
  authToken: string;
  /** https://api.twilio.com, or a fake server in tests. */
  baseUrl: string;
  /** Sender for SMS: a Twilio number or alphanumeric sender ID (ignored when messagingServiceSid is set). */
  from?: string | undefined;
  messagingServiceSid?: string | undefined;
  /** Where Twilio POSTs status callbacks (PUBLIC_BASE_URL + /v1/webhooks/twilio/status), when known. */
  statusCallbackUrl?: string | undefined;
  /** How long a flash call rings before Twilio gives up on it (the `Timeout` parameter). */
  ringSeconds: number;
  timeoutMs: number;
  fetch?: typeof fetch;
}

/**
 * TwiML for a flash call: if the person picks up, hang up at once. The code is the caller ID, which
 * the phone shows (and logs) while it rings; nothing is said.
 */
export const FLASH_CALL_TWIML = '<Response><Hangup/></Response>';

/** The call progress events Twilio is asked to report (the `StatusCallbackEvent` parameter, repeated). */
export const FLASH_CALL_STATUS_EVENTS = ['ringing', 'answered', 'completed'] as const;

interface TwilioError {
  code?: number;
  message?: string;
  status?: number;
}

/**
 * POSTs a form to /2010-04-01/Accounts/{Sid}/{resource}.json with HTTP Basic auth (Account SID and
 * Auth Token), as Twilio's REST API documents. 201 with `{ sid }` is a send; an error body
 * `{ code, message, more_info, status }` becomes `twilio_<code>` with its message. 5xx and timeouts
 * are transient; 4xx (including 429) are not retried; a 2xx without a sid is `invalid_response`.
 */
async function postForm(
  options: TwilioOptions,
  resource: 'Messages' | 'Calls',
  params: URLSearchParams,
): Promise<SendResult> {
  const doFetch = options.fetch ?? fetch;
  const url = `${options.baseUrl.replace(/\/+$/, '')}/2010-04-01/Accounts/${encodeURIComponent(options.accountSid)}/${resource}.json`;
  const auth = Buffer.from(`${options.accountSid}:${options.authToken}`).toString('base64');
  try {
    const response = await doFetch(url, {
      method: 'POST',
      headers: {
        authorization: `Basic ${auth}`,
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
      },
      body: params.toString(),
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    const text = await response.text();
    let parsed: Record<string, unknown> = {};
    try {
      const value: unknown = JSON.parse(text);
      if (value !== null && typeof value === 'object' && !Array.isArray(value))
        parsed = value as Record<string, unknown>;
    } catch {
      // Not JSON (a proxy's error page): keep the status.
    }
    if (!response.ok) {
      const error = parsed as TwilioError;
      const code =
        typeof error.code === 'number' ? `twilio_${error.code}` : `http_${response.status}`;
      const message =
        typeof error.code === 'number'
          ? twilioErrorMessage(
              String(error.code),
              typeof error.message === 'string' ? error.message : undefined,
            )
          : text.slice(0, 200) || response.statusText;
      return {
        status: 'failed',
        errorCode: code,
        errorMessage: message.slice(0, 200),
        transient: response.status >= 500,
      };
    }
    // Twilio answers every created resource with its sid. A 2xx without one came from something
    // else (a proxy, a captive portal): the message may not exist, and no callback could name it.
    // Not retried (it may exist), but a failure, so the fallback follows now.
    const sid = parsed.sid;
    if (typeof sid !== 'string' || sid === '') {
      return {
        status: 'failed',
        errorCode: 'invalid_response',
        errorMessage: `${response.status} answer without a sid: ${bodyExcerpt(text)}`,
        transient: false,
      };
    }
    return { status: 'sent', providerMessageId: sid.slice(0, 64) };
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

/** Programmable Messaging: Messages.json with To, Body, From or MessagingServiceSid, StatusCallback. */
export function createTwilioSmsProvider(options: TwilioOptions): SmsProvider {
  return {
    name: 'twilio',
    send(message) {
      const params = new URLSearchParams({ To: message.to, Body: message.body });
      if (options.messagingServiceSid)
        params.set('MessagingServiceSid', options.messagingServiceSid);
      else if (message.from ?? options.from) params.set('From', message.from ?? options.from ?? '');
      if (options.statusCallbackUrl) params.set('StatusCallback', options.statusCallbackUrl);
      return postForm(options, 'Messages', params);
    },
  };
}

/** Voice: Calls.json from the drawn caller ID, ringing `ringSeconds`, hanging up at once if answered. */
export function createTwilioVoiceProvider(options: TwilioOptions): VoiceProvider {
  return {
    name: 'twilio',
    call(call) {
      const params = new URLSearchParams({
        To: call.to,
        From: call.from,
        Twiml: FLASH_CALL_TWIML,
        Timeout: String(options.ringSeconds),
      });
      if (options.statusCallbackUrl) {
        params.set('StatusCallback', options.statusCallbackUrl);
        params.set('StatusCallbackMethod', 'POST');
        // Twilio calls back on `completed` only unless told otherwise; a flash call has done its job
        // once the phone rings, so `ringing` is the callback that matters (and `answered`, which ends it).
        for (const event of FLASH_CALL_STATUS_EVENTS) params.append('StatusCallbackEvent', event);
      }
      return postForm(options, 'Calls', params);
    },
  };
}
