import { createRoute, z } from '@hono/zod-openapi';
import { apiKeyScope } from '../http/scopes.js';
import { problemResponses } from '../http/problem.js';
import { Signals } from '../http/signals.js';

/** The public contract of /v1/verifications: these schemas validate requests and generate openapi.yaml. */

/** Every route here needs an API key with the `verify` scope (enforced from this declaration: http/scopes.ts). */
const SECURITY = apiKeyScope('verify');
const TAGS = ['Verifications'];

export const TransactionBody = z
  .object({
    amount: z.union([z.string().max(24), z.number().positive()]).openapi({
      description:
        'Positive decimal amount, at most the currency\'s minor digits ("250", "250.00" and 250 are the same EUR amount)',
      example: '250.00',
    }),
    currency: z
      .string()
      .regex(/^[A-Za-z]{3}$/)
      .openapi({ description: 'ISO 4217 currency code', example: 'EUR' }),
    payee: z.string().min(1).max(140).openapi({
      description:
        'Who is paid, as the person should see it (at most 70 characters after whitespace is collapsed)',
      example: 'ACME SARL',
    }),
  })
  .strict()
  .openapi('Transaction', {
    description:
      'A transaction the code approves (PSD2 dynamic linking): the message shows it, the code is bound to its canonical hash, and the check must present the same one.',
  });

const TransactionView = z
  .object({
    amount: z.string().openapi({ example: '250.00' }),
    currency: z.string().openapi({ example: 'EUR' }),
    payee: z.string().openapi({ example: 'ACME SARL' }),
  })
  .openapi('CanonicalTransaction');

export const StartBody = z
  .object({
    to: z.string().max(64).openapi({
      description: 'Phone number, E.164 or national format with `country`',
      example: '+14155550123',
    }),
    country: z
      .string()
      .regex(/^[A-Z]{2}$/)
      .optional()
      .openapi({
        description: 'ISO 3166-1 alpha-2 country, to read a national-format number',
        example: 'FR',
      }),
    channel: z.enum(['sms', 'flashcall', 'auto']).default('auto'),
    locale: z
      .string()
      .regex(/^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$/)
      .optional()
      .openapi({
        description: 'BCP 47 language of the message (en, fr, es, de, uk; others fall back to en)',
        example: 'fr',
      }),
    purpose: z
      .string()
      .regex(/^[a-z][a-z0-9_.-]{0,63}$/)
      .optional()
      .openapi({
        description:
          'What the verification is for (login, signup, transaction, …); copied into the token',
        example: 'login',
      }),
    ttlSeconds: z
      .number()
      .int()
      .min(300)
      .max(600)
      .optional()
      .openapi({ description: 'Code validity in seconds (default 600)' }),
    signals: Signals.optional(),
    transaction: TransactionBody.optional(),
  })
  .strict()
  .openapi('StartVerification');

const CheckFields = {
  code: z
    .string()
    .min(1)
    .max(32)
    .openapi({ description: 'The code the person received', example: '123456' }),
  signals: Signals.optional(),
  transaction: TransactionBody.optional().openapi({
    description: 'Required, and identical, when the verification was started with a transaction',
  }),
};

export const CheckBody = z.object(CheckFields).strict().openapi('CheckVerification');
export const CheckByNumberBody = z
  .object({ to: z.string().max(64).openapi({ example: '+14155550123' }), ...CheckFields })
  .strict()
  .openapi('CheckVerificationByNumber');
export const ResendBody = z
  .object({ channel: z.enum(['sms', 'flashcall']).optional() })
  .strict()
  .openapi('ResendVerification');

const Delivery = z
  .object({
    id: z.string(),
    channel: z.enum(['sms', 'flashcall']),
    provider: z.string(),
    status: z.enum(['queued', 'sent', 'delivered', 'failed', 'undelivered']),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
  })
  .openapi('Delivery');

export const VerificationSchema = z
  .object({
    id: z.string().openapi({ example: 'ver_0m3k9c4x5v7w8y2z1a6b3d4e5f' }),
    to: z.string().openapi({ description: 'E.164', example: '+14155550123' }),
    channel: z.enum(['sms', 'flashcall']),
    status: z.enum(['pending', 'approved', 'canceled', 'expired', 'max_attempts_exceeded']),
    purpose: z.string().nullable(),
    locale: z.string(),
    codeLength: z.number().int(),
    attempts: z.number().int(),
    maxAttempts: z.number().int(),
    attemptsRemaining: z.number().int(),
    sends: z.number().int(),
    createdAt: z.iso.datetime(),
    expiresAt: z.iso.datetime(),
    approvedAt: z.iso.datetime().nullable(),
    transaction: TransactionView.nullable(),
    deliveries: z
      .array(Delivery)
      .openapi({ description: 'Every delivery attempt, SMS and flash call, oldest first' }),
    callerIdPrefix: z.string().nullable().openapi({
      description:
        'Flash call: the calling number before its last `codeLength` digits (the code), to show the person',
      example: '+33187',
    }),
    fallback: z
      .object({
        state: z.enum(['scheduled', 'claimed', 'done', 'void']),
        reason: z
          .enum(['provider_failed', 'delivery_failed', 'no_check', 'requested'])
          .nullable()
          .openapi({
            description:
              'Why the flash call was placed: the SMS provider refused or timed out, a status callback said failed, no check in time, or the client asked',
          }),
        dueAt: z.iso.datetime().openapi({ description: 'When the timed fallback is due' }),
        completedAt: z.iso.datetime().nullable(),
      })
      .nullable()
      .openapi({
        description: 'The flash-call fallback of an `auto` verification (null when there is none)',
      }),
  })
  .openapi('Verification');

export const CheckResultSchema = z
  .object({
    id: z.string(),
    to: z.string(),
    status: z.literal('approved'),
    channel: z.enum(['sms', 'flashcall']),
    token: z.string().openapi({
      description:
        'JWT (EdDSA) verifiable with /.well-known/jwks.json; valid at most 5 minutes. With a transaction it carries `txn_hash`.',
    }),
  })
  .openapi('CheckResult');

const IdParam = z.object({
  id: z
    .string()
    .max(64)
    .openapi({ param: { name: 'id', in: 'path' }, example: 'ver_0m3k9c4x5v7w8y2z1a6b3d4e5f' }),
});

const json = <T>(schema: T) => ({ content: { 'application/json': { schema } } });
/** draft-ietf-httpapi-ratelimit-headers, for the tightest limit the request consumed (also on 429). */
const RATE_LIMIT_HEADERS = z.object({
  'RateLimit-Limit': z
    .string()
    .optional()
    .openapi({ description: 'Points of the tightest limit this request consumed' }),
  'RateLimit-Remaining': z
    .string()
    .optional()
    .openapi({ description: 'Points left in its window' }),
  'RateLimit-Reset': z
    .string()
    .optional()
    .openapi({ description: 'Seconds until its window ends' }),
  'RateLimit-Policy': z.string().optional().openapi({
    description: 'limit;w=window seconds;name="rule"',
    example: '5;w=600;name="number:10m"',
  }),
});
const COMMON = [
  'invalid_request',
  'malformed_json',
  'unsupported_media_type',
  'payload_too_large',
  'unauthorized',
  'forbidden',
] as const;
const CHECK_FAILURES = [
  'incorrect_code',
  'max_attempts_exceeded',
  'expired',
  'already_used',
  'canceled',
  'not_found',
  'rate_limited',
] as const;
/** Refusals of the limits and abuse rules (src/limits); rate_limited carries Retry-After and RateLimit-* headers. */
const START_REFUSALS = [
  'rate_limited',
  'blocked',
  'unsupported_number_type',
  'abuse_suspected',
] as const;

export const startRoute = createRoute({
  method: 'post',
  path: '/v1/verifications',
  operationId: 'startVerification',
  tags: TAGS,
  security: SECURITY,
  summary: 'Start a verification: send a code',
  description:
    'Parses `to` (E.164, or national format with `country`), runs the rate limits and abuse rules, and sends a new code by SMS or flash call (`auto`: SMS with a flash-call fallback when one is configured). The code is stored only as a keyed hash; the answer never contains it. Scope `verify`.',
  request: { body: { ...json(StartBody), required: true } },
  responses: {
    201: {
      description: 'Created; the code is on its way (see deliveries)',
      headers: RATE_LIMIT_HEADERS,
      ...json(VerificationSchema),
    },
    ...problemResponses(...COMMON, 'invalid_phone', 'channel_unavailable', ...START_REFUSALS),
  },
});

export const checkRoute = createRoute({
  method: 'post',
  path: '/v1/verifications/{id}/check',
  operationId: 'checkVerification',
  tags: TAGS,
  security: SECURITY,
  summary: 'Check a code',
  description:
    'Compares the code in constant time; every wrong code uses one of the attempts (5), counted before the comparison. The first right code approves the verification, exactly once under any concurrency, and returns a signed result token. A verification started with a `transaction` must be checked with the same one. Scope `verify`.',
  request: { params: IdParam, body: { ...json(CheckBody), required: true } },
  responses: {
    200: { description: 'Approved', headers: RATE_LIMIT_HEADERS, ...json(CheckResultSchema) },
    ...problemResponses(...COMMON, ...CHECK_FAILURES),
  },
});

export const checkByNumberRoute = createRoute({
  method: 'post',
  path: '/v1/verifications/check',
  operationId: 'checkVerificationByNumber',
  tags: TAGS,
  security: SECURITY,
  summary: "Check a code against the number's newest pending verification",
  description:
    'For clients that keep no verification id: checks the code against the newest pending verification of `to` for the calling app, with the same rules as checking by id. Scope `verify`.',
  request: { body: { ...json(CheckByNumberBody), required: true } },
  responses: {
    200: { description: 'Approved', headers: RATE_LIMIT_HEADERS, ...json(CheckResultSchema) },
    ...problemResponses(...COMMON, 'invalid_phone', ...CHECK_FAILURES),
  },
});

export const getRoute = createRoute({
  method: 'get',
  path: '/v1/verifications/{id}',
  operationId: 'getVerification',
  tags: TAGS,
  security: SECURITY,
  summary: 'Read a verification (never its code)',
  description:
    "Status, channel, attempts, sends and every delivery attempt with its provider status. Another app's verification is 404, never 403. Scope `verify`.",
  request: { params: IdParam },
  responses: {
    200: { description: 'The verification', ...json(VerificationSchema) },
    ...problemResponses('unauthorized', 'forbidden', 'not_found'),
  },
});

export const cancelRoute = createRoute({
  method: 'post',
  path: '/v1/verifications/{id}/cancel',
  operationId: 'cancelVerification',
  tags: TAGS,
  security: SECURITY,
  summary: 'Cancel a pending verification',
  description: 'Ends a pending verification: its codes stop working at once. Scope `verify`.',
  request: { params: IdParam },
  responses: {
    200: { description: 'Canceled', ...json(VerificationSchema) },
    ...problemResponses(
      'unauthorized',
      'forbidden',
      'not_found',
      'already_used',
      'canceled',
      'expired',
      'max_attempts_exceeded',
    ),
  },
});

export const resendRoute = createRoute({
  method: 'post',
  path: '/v1/verifications/{id}/resend',
  operationId: 'resendVerification',
  tags: TAGS,
  security: SECURITY,
  summary: 'Send a new code (after a cooldown)',
  description:
    'Sends another code after the cooldown (30 s), on the same channel or the one asked for; earlier codes of the verification stay valid until it expires. At most 5 codes per verification; each resend counts against the rate limits. Scope `verify`.',
  request: { params: IdParam, body: { ...json(ResendBody), required: false } },
  responses: {
    200: { description: 'Sent', headers: RATE_LIMIT_HEADERS, ...json(VerificationSchema) },
    ...problemResponses(
      ...COMMON,
      'not_found',
      'already_used',
      'canceled',
      'expired',
      'max_attempts_exceeded',
      'resend_too_soon',
      'max_sends_exceeded',
      'channel_unavailable',
      ...START_REFUSALS,
    ),
  },
});
