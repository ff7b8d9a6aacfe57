import { createRoute, z } from '@hono/zod-openapi';
import { apiKeyScope } from '../http/scopes.js';
import { problemResponses } from '../http/problem.js';
import { printableText } from '../http/schema-formats.js';
import { Signals } from '../http/signals.js';
import { TransactionBody } from '../verification/verification.routes.js';

/** The public contract of /v1/factors: these schemas validate requests and generate openapi.yaml. */

/** Every route here needs an API key with the `factors` scope (enforced from this declaration: http/scopes.ts). */
const SECURITY = apiKeyScope('factors');
const TAGS = ['Factors'];

// Without `:` as well: the Key URI format separates issuer and label with it.
const uriText = () => printableText({ alsoRefuse: ':' });

const User = printableText().min(1).max(128).openapi({
  description:
    "The caller's identifier of the end user (opaque to this service; no control, format, private-use or unassigned characters)",
  example: 'user_8431',
});

export const EnrollBody = z
  .object({
    user: User,
    type: z.literal('totp'),
    label: uriText().min(1).max(64).optional().openapi({
      description: 'Account name shown in the app (default: user)',
      example: 'alice@example.com',
    }),
    issuer: uriText().min(1).max(64).optional().openapi({
      description: "Issuer shown in the app (default: the app's brand)",
      example: 'ACME Bank',
    }),
  })
  .strict()
  .openapi('EnrollFactor');

const Code = z
  .string()
  .min(1)
  .max(16)
  .openapi({ description: 'The 6-digit code the authenticator app shows', example: '123456' });

export const VerifyFactorBody = z
  .object({ code: Code, signals: Signals.optional() })
  .strict()
  .openapi('VerifyFactor');

export const ChallengeBody = z
  .object({
    code: Code.optional(),
    recoveryCode: z.string().min(1).max(32).optional().openapi({
      description: 'One of the recovery codes, instead of `code`',
      example: 'k3m9x-2q7ra',
    }),
    transaction: TransactionBody.optional().openapi({
      description: 'The transaction being approved; its hash is put in the token (`txn_hash`)',
    }),
    signals: Signals.optional(),
  })
  .strict()
  .refine((b) => (b.code === undefined) !== (b.recoveryCode === undefined), {
    message: 'give exactly one of code and recoveryCode',
    path: ['code'],
  })
  .openapi('ChallengeFactor');

export const FactorSchema = z
  .object({
    id: z.string().openapi({ example: 'fac_0m3k9c4x5v7w8y2z1a6b3d4e5f' }),
    user: z.string(),
    type: z.literal('totp'),
    status: z.enum(['unverified', 'verified']),
    label: z.string(),
    issuer: z.string(),
    createdAt: z.iso.datetime(),
    verifiedAt: z.iso.datetime().nullable(),
    lastUsedAt: z.iso.datetime().nullable(),
    recoveryCodesRemaining: z.number().int(),
  })
  .openapi('Factor');

export const EnrolmentSchema = FactorSchema.extend({
  secret: z.string().openapi({
    description: 'Base32 secret, shown once: never returned again',
    example: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP',
  }),
  otpauthUri: z.string().openapi({
    example:
      'otpauth://totp/ACME%20Bank:alice%40example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=ACME%20Bank',
  }),
  qrSvg: z
    .string()
    .openapi({ description: 'The otpauth URI as a QR code, an SVG document generated locally' }),
  algorithm: z.literal('SHA1'),
  digits: z.number().int(),
  period: z.number().int(),
}).openapi('FactorEnrolment');

const RecoveryCodes = z
  .array(z.string())
  .openapi({ description: 'Single-use recovery codes, shown once', example: ['k3m9x-2q7ra'] });

export const ActivationSchema = FactorSchema.extend({ recoveryCodes: RecoveryCodes }).openapi(
  'FactorActivation',
);

export const ChallengeResultSchema = z
  .object({
    id: z.string().openapi({
      description: 'The challenge id, also the token `jti`',
      example: 'chl_0m3k9c4x5v7w8y2z1a6b3d4e5f',
    }),
    status: z.literal('approved'),
    method: z.enum(['totp', 'recovery_code']),
    token: z.string().openapi({
      description:
        'JWT (EdDSA, amr ["otp"]) verifiable with /.well-known/jwks.json; carries `txn_hash` for a transaction',
    }),
    transaction: z
      .object({ amount: z.string(), currency: z.string(), payee: z.string() })
      .nullable(),
    recoveryCodesRemaining: z.number().int(),
  })
  .openapi('FactorChallengeResult');

const IdParam = z.object({
  id: z
    .string()
    .max(64)
    .openapi({ param: { name: 'id', in: 'path' }, example: 'fac_0m3k9c4x5v7w8y2z1a6b3d4e5f' }),
});
const json = <T>(schema: T) => ({ content: { 'application/json': { schema } } });
const COMMON = [
  'invalid_request',
  'malformed_json',
  'unsupported_media_type',
  'payload_too_large',
  'unauthorized',
  'forbidden',
] as const;
const CODE_FAILURES = ['not_found', 'incorrect_code', 'max_attempts_exceeded'] as const;

export const enrollRoute = createRoute({
  method: 'post',
  path: '/v1/factors',
  operationId: 'enrollFactor',
  tags: TAGS,
  security: SECURITY,
  summary: 'Enrol an authenticator app (TOTP): returns the secret and its QR code, once',
  description:
    'Creates an unverified TOTP factor (RFC 6238: SHA-1, 6 digits, 30 s) and returns its base32 secret, otpauth URI and QR code this once (`Cache-Control: no-store`); the secret is stored encrypted. It takes part in no challenge until its first code verifies it. Scope `factors`.',
  request: { body: { ...json(EnrollBody), required: true } },
  responses: {
    201: { description: 'Created, unverified until its first code', ...json(EnrolmentSchema) },
    ...problemResponses(...COMMON, 'factor_limit_reached'),
  },
});

export const verifyFactorRoute = createRoute({
  method: 'post',
  path: '/v1/factors/{id}/verify',
  operationId: 'verifyFactor',
  tags: TAGS,
  security: SECURITY,
  summary: 'Activate a factor with its first code; returns recovery codes, once',
  description:
    'Checks the first code from the authenticator app; a right one verifies the factor and returns its recovery codes, shown once. Wrong codes count against the attempt limit of the factor, and an enrolment not verified within FACTOR_ENROLMENT_TTL_SECONDS is `expired`. Scope `factors`.',
  request: { params: IdParam, body: { ...json(VerifyFactorBody), required: true } },
  responses: {
    200: { description: 'Verified', ...json(ActivationSchema) },
    ...problemResponses(...COMMON, ...CODE_FAILURES, 'factor_already_verified', 'expired'),
  },
});

export const challengeRoute = createRoute({
  method: 'post',
  path: '/v1/factors/{id}/challenge',
  operationId: 'challengeFactor',
  tags: TAGS,
  security: SECURITY,
  summary: 'Check a code (or a recovery code) of a verified factor',
  description:
    'Checks a TOTP code (each accepted once: a replayed code is `already_used`) or a single-use recovery code, and returns a signed result token (`amr: ["otp"]`, `txn_hash` for a transaction). Scope `factors`.',
  request: { params: IdParam, body: { ...json(ChallengeBody), required: true } },
  responses: {
    200: { description: 'Approved', ...json(ChallengeResultSchema) },
    ...problemResponses(...COMMON, ...CODE_FAILURES, 'already_used', 'factor_not_verified'),
  },
});

export const listFactorsRoute = createRoute({
  method: 'get',
  path: '/v1/factors',
  operationId: 'listFactors',
  tags: TAGS,
  security: SECURITY,
  summary: "A user's factors (never their secrets)",
  description:
    'Every factor of one user of the calling app, oldest first, without secrets. Scope `factors`.',
  request: { query: z.object({ user: User.openapi({ param: { name: 'user', in: 'query' } }) }) },
  responses: {
    200: {
      description: 'Factors, oldest first',
      ...json(z.object({ factors: z.array(FactorSchema) }).openapi('FactorList')),
    },
    ...problemResponses('invalid_request', 'unauthorized', 'forbidden'),
  },
});

export const getFactorRoute = createRoute({
  method: 'get',
  path: '/v1/factors/{id}',
  operationId: 'getFactor',
  tags: TAGS,
  security: SECURITY,
  summary: 'Read a factor (never its secret)',
  description:
    "One factor of the calling app, without its secret. Another app's factor is 404. Scope `factors`.",
  request: { params: IdParam },
  responses: {
    200: { description: 'The factor', ...json(FactorSchema) },
    ...problemResponses('unauthorized', 'forbidden', 'not_found'),
  },
});

export const deleteFactorRoute = createRoute({
  method: 'delete',
  path: '/v1/factors/{id}',
  operationId: 'deleteFactor',
  tags: TAGS,
  security: SECURITY,
  summary: 'Delete a factor and its recovery codes',
  description:
    'Deletes the factor and its recovery codes at once; its codes stop working. Scope `factors`.',
  request: { params: IdParam },
  responses: {
    204: { description: 'Deleted' },
    ...problemResponses('unauthorized', 'forbidden', 'not_found'),
  },
});

export const regenerateRecoveryCodesRoute = createRoute({
  method: 'post',
  path: '/v1/factors/{id}/recovery-codes',
  operationId: 'regenerateRecoveryCodes',
  tags: TAGS,
  security: SECURITY,
  summary: 'Replace the recovery codes of a verified factor (the old ones stop working)',
  description:
    'Replaces every recovery code of a verified factor with new ones, shown once; the old ones stop working at once. Scope `factors`.',
  request: { params: IdParam },
  responses: {
    200: {
      description: 'New recovery codes, shown once',
      ...json(z.object({ id: z.string(), recoveryCodes: RecoveryCodes }).openapi('RecoveryCodes')),
    },
    ...problemResponses('unauthorized', 'forbidden', 'not_found', 'factor_not_verified'),
  },
});
