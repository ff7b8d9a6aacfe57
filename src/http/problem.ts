import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from '@hono/zod-openapi';
import { REASONS, type Reason } from '../platform/errors.js';

/** Every reason's HTTP status and title. `satisfies Record<Reason, …>` makes the compiler check it is complete. */
export const PROBLEMS = {
  invalid_request: { status: 400, title: 'The request is not valid' },
  malformed_json: { status: 400, title: 'The request body is not valid JSON' },
  unsupported_media_type: { status: 415, title: 'The request body must be application/json' },
  payload_too_large: { status: 413, title: 'The request body is too large' },
  invalid_phone: { status: 400, title: 'The phone number is not valid' },
  unauthorized: { status: 401, title: 'A valid API key is required' },
  invalid_signature: { status: 401, title: 'The callback signature is missing or invalid' },
  forbidden: { status: 403, title: 'This API key lacks the scope for this operation' },
  not_found: { status: 404, title: 'Not found' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  incorrect_code: { status: 422, title: 'The code is incorrect' },
  max_attempts_exceeded: {
    status: 429,
    title: 'Too many incorrect codes: this verification is locked',
  },
  expired: { status: 410, title: 'This verification has expired' },
  already_used: {
    status: 409,
    title: 'Already used: this verification was approved, or this code was accepted before',
  },
  canceled: { status: 409, title: 'This verification was canceled' },
  resend_too_soon: { status: 429, title: 'Wait before asking for another code' },
  channel_unavailable: { status: 422, title: 'This channel is not available' },
  max_sends_exceeded: { status: 429, title: 'No more codes can be sent for this verification' },
  rate_limited: { status: 429, title: 'Too many requests: a rate limit was reached' },
  // blocked and abuse_suspected share one status and a fixed title: the answer says a rule refused
  // the request, never which entry or figure, nor anything about the number.
  blocked: { status: 403, title: 'This request is not allowed' },
  unsupported_number_type: { status: 422, title: 'Codes cannot be sent to this type of number' },
  abuse_suspected: { status: 403, title: 'This request looks abusive and was refused' },
  conflict: { status: 409, title: 'Conflict' },
  factor_not_verified: { status: 409, title: 'This factor has not been verified yet' },
  factor_already_verified: { status: 409, title: 'This factor is already verified' },
  factor_limit_reached: { status: 409, title: 'This user has as many factors as allowed' },
  webhook_url_invalid: { status: 422, title: 'The webhook URL is not a valid absolute URL' },
  webhook_url_not_https: { status: 422, title: 'A webhook URL must use https://' },
  webhook_url_private_address: {
    status: 422,
    title: 'The webhook URL points to a loopback, private, link-local or metadata address',
  },
  unknown_event_type: { status: 422, title: 'Unknown webhook event type' },
  not_ready: { status: 503, title: 'The service is not ready' },
  storage_unavailable: { status: 503, title: 'The database is unavailable; retry later' },
  internal_error: { status: 500, title: 'Internal error' },
} as const satisfies Record<Reason, { status: ContentfulStatusCode; title: string }>;

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** The RFC 9457 body. Extension members (`attemptsRemaining`, `retryAfterSeconds`, `errors`) sit at top level. */
export const ProblemSchema = z
  .object({
    type: z.string().openapi({ example: 'urn:otp-verify:problem:incorrect_code' }),
    title: z.string(),
    status: z.number().int(),
    reason: z
      .enum(REASONS)
      .openapi({ description: 'Stable machine-readable reason; see docs/api.md, Errors.' }),
    detail: z.string().optional(),
    requestId: z.string().optional(),
    attemptsRemaining: z.number().int().optional(),
    retryAfterSeconds: z.number().int().optional(),
    limit: z
      .string()
      .optional()
      .openapi({ description: 'For rate_limited: the limit that was reached (e.g. `number:10m`)' }),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .catchall(z.unknown())
  .openapi('Problem');

export interface ProblemOptions {
  detail?: string | undefined;
  details?: Record<string, unknown> | undefined;
  retryAfterSeconds?: number | undefined;
  headers?: Record<string, string> | undefined;
}

/** Answers with an RFC 9457 problem for a reason. */
export function problem(c: Context, reason: Reason, options: ProblemOptions = {}): Response {
  const { status, title } = PROBLEMS[reason];
  const body: Record<string, unknown> = {
    type: `urn:otp-verify:problem:${reason}`,
    title,
    status,
    reason,
    ...options.details,
  };
  if (options.detail) body.detail = options.detail;
  const requestId = c.get('requestId') as string | undefined;
  if (requestId) body.requestId = requestId;
  const headers: Record<string, string> = {
    'content-type': PROBLEM_CONTENT_TYPE,
    ...options.headers,
  };
  if (requestId) headers['x-request-id'] = requestId;
  if (options.retryAfterSeconds !== undefined)
    headers['retry-after'] = String(Math.max(1, Math.ceil(options.retryAfterSeconds)));
  if (reason === 'unauthorized') headers['www-authenticate'] = 'Bearer';
  return new Response(JSON.stringify(body), { status, headers });
}

/** OpenAPI response entries for the given reasons, grouped by status. */
export function problemResponses(
  ...reasons: Reason[]
): Record<
  number,
  { description: string; content: Record<string, { schema: typeof ProblemSchema }> }
> {
  const byStatus = new Map<number, Reason[]>();
  for (const reason of reasons) {
    const status = PROBLEMS[reason].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), reason]);
  }
  const out: Record<
    number,
    { description: string; content: Record<string, { schema: typeof ProblemSchema }> }
  > = {};
  for (const [status, list] of [...byStatus.entries()].sort((a, b) => a[0] - b[0])) {
    out[status] = {
      description: `Problem: ${list.join(', ')}`,
      content: { [PROBLEM_CONTENT_TYPE]: { schema: ProblemSchema } },
    };
  }
  return out;
}
