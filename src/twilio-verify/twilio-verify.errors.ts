import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { PROBLEMS } from '../http/problem.js';
import type { DomainError } from '../platform/errors.js';

/**
 * Errors as Twilio answers them: `{ code, message, more_info, status }` and nothing else. With
 * RFC 9457's `type` and `title` as well, the `twilio` SDK would throw its TwilioServiceException;
 * with this body it throws the RestException that existing integrations catch (`.status`, `.code`,
 * `.moreInfo`). Every /v2 answer that is not a success goes through here, never problem+json.
 */

/** An error to answer in Twilio's shape; thrown by the /v2 handlers and rendered by its router. */
export class TwilioError extends Error {
  readonly status: ContentfulStatusCode;
  readonly code: number;
  readonly headers: Record<string, string>;

  constructor(
    status: ContentfulStatusCode,
    code: number,
    message: string,
    headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'TwilioError';
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

export function isTwilioError(value: unknown): value is TwilioError {
  return value instanceof TwilioError;
}

/** Twilio's message for each code it documents (twilio.com/docs/api/errors/<code>). */
const MESSAGES = {
  20003: 'Authenticate',
  20403: 'Forbidden: this API key lacks the scope for this operation',
  20404: 'The requested resource was not found',
  20429: 'Too many requests',
  20500: 'An internal server error has occurred',
  20503: 'Service unavailable: retry later',
  60202: 'Max check attempts reached',
  60203: 'Max send attempts reached',
  60205: 'SMS is not supported by landline phone number',
  60221: "Either a 'To' number or 'VerificationSid' must be specified",
  60410: 'Verification delivery attempt blocked',
  60605: 'Verification delivery attempt blocked by geo permissions',
} as const;

type KnownCode = keyof typeof MESSAGES;

const STATUS: Record<KnownCode, ContentfulStatusCode> = {
  20003: 401,
  20403: 403,
  20404: 404,
  20429: 429,
  20500: 500,
  20503: 503,
  60202: 429,
  60203: 429,
  60205: 403,
  60221: 400,
  60410: 403,
  60605: 403,
};

export const twilioError = (code: KnownCode, headers?: Record<string, string>): TwilioError =>
  new TwilioError(STATUS[code], code, MESSAGES[code], headers);

/** 60200, naming the parameter as Twilio does. */
export const invalidParameter = (name: string, status: ContentfulStatusCode = 400): TwilioError =>
  new TwilioError(status, 60200, `Invalid parameter: ${name}`);

/** Where a DomainError was raised: the same reason reads differently on a start and on a check. */
export type Operation = 'start' | 'check' | 'read' | 'update' | 'service';

/** The service's field names (details.errors[].path) as Twilio's parameters. */
const PARAMETERS: Record<string, string> = {
  code: 'CustomCode',
  status: 'Status',
  'transaction.amount': 'Amount',
  'transaction.currency': 'Amount',
  'transaction.payee': 'Payee',
  to: 'To',
  channel: 'Channel',
};

function parameterOf(error: DomainError, operation: Operation): string {
  const errors = error.details.errors as { path?: string }[] | undefined;
  const field = errors?.[0]?.path ?? '';
  if (field === 'code' && operation === 'check') return 'Code';
  return PARAMETERS[field] ?? (operation === 'check' ? 'Code' : 'To');
}

function retryHeaders(error: DomainError, limit: string): Record<string, string> {
  const headers: Record<string, string> = { 'Twilio-Reached-Rate-Limit': limit };
  if (error.retryAfterSeconds !== undefined)
    headers['Retry-After'] = String(Math.max(1, Math.ceil(error.retryAfterSeconds)));
  return headers;
}

/**
 * The Twilio error for a DomainError. Geographic refusals (geo rules, a blocked country) are 60605;
 * other blocks and abuse verdicts 60410 (fraud); a landline refused SMS 60205; too many sends 60203
 * and too many wrong codes 60202, both 429. A verification that is approved, expired, canceled or
 * unknown is 20404: Twilio treats the first three as deleted. Reasons Twilio has no code for keep
 * their HTTP status with the matching generic 20xxx code (409 → 20409).
 */
export function twilioErrorOf(error: DomainError, operation: Operation): TwilioError {
  const rule = error.rule ?? '';
  switch (error.reason) {
    case 'invalid_phone':
      return invalidParameter('To');
    case 'invalid_request':
      return invalidParameter(parameterOf(error, operation));
    case 'channel_unavailable':
      return invalidParameter('Channel');
    case 'not_found':
    case 'expired':
    case 'already_used':
    case 'canceled':
      return twilioError(20404);
    case 'max_attempts_exceeded':
      // Canceling a locked verification: it is over, as an approved one is.
      return operation === 'update' ? twilioError(20404) : twilioError(60202);
    case 'rate_limited': {
      const limit = typeof error.details.limit === 'string' ? error.details.limit : 'rate';
      return twilioError(operation === 'start' ? 60203 : 20429, retryHeaders(error, limit));
    }
    case 'resend_too_soon':
      return twilioError(60203, retryHeaders(error, 'resend_cooldown'));
    case 'max_sends_exceeded':
      return twilioError(60203, retryHeaders(error, 'max_sends'));
    case 'blocked':
      return rule.startsWith('geo:') || rule === 'blocklist:country'
        ? twilioError(60605)
        : twilioError(60410);
    case 'abuse_suspected':
      return twilioError(60410);
    case 'unsupported_number_type':
      return rule === 'number_type:landline' ? twilioError(60205) : twilioError(60410);
    case 'unauthorized':
      return twilioError(20003);
    case 'forbidden':
      return twilioError(20403);
    case 'storage_unavailable':
      return twilioError(
        20503,
        error.retryAfterSeconds === undefined
          ? {}
          : { 'Retry-After': String(error.retryAfterSeconds) },
      );
    default: {
      const { status, title } = PROBLEMS[error.reason];
      return new TwilioError(status, 20000 + status, title);
    }
  }
}

/** Twilio's error body, with its headers (Retry-After, Twilio-Reached-Rate-Limit, WWW-Authenticate). */
export function renderTwilioError(c: Context, error: TwilioError): Response {
  const body = {
    code: error.code,
    message: error.message,
    more_info: `https://www.twilio.com/docs/errors/${error.code}`,
    status: error.status,
  };
  const headers: Record<string, string> = { 'content-type': 'application/json', ...error.headers };
  const requestId = c.get('requestId') as string | undefined;
  if (requestId) headers['x-request-id'] = requestId;
  if (error.status === 401) headers['www-authenticate'] = 'Basic realm="Twilio API"';
  return new Response(JSON.stringify(body), { status: error.status, headers });
}
