import { createRoute, z } from '@hono/zod-openapi';
import { apiKeyScope } from '../http/scopes.js';
import { problemResponses } from '../http/problem.js';
import { SCOPES } from './admin.service.js';

/** Every route here needs an API key with the `admin` scope (enforced from this declaration: http/scopes.ts). */
const SECURITY = apiKeyScope('admin');
const TAGS = ['Admin'];
const json = <T>(schema: T) => ({ content: { 'application/json': { schema } } });
const AppName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/)
  .openapi({ description: 'App name: brand in messages and JWT audience', example: 'acme' });

export const CreateKeyBody = z
  .object({ app: AppName, scopes: z.array(z.enum(SCOPES)).min(1).max(SCOPES.length) })
  .strict()
  .openapi('CreateApiKey');

const ApiKeySummary = z
  .object({
    id: z.string(),
    app: z.string(),
    scopes: z.array(z.enum(SCOPES)),
    createdAt: z.iso.datetime(),
    revokedAt: z.iso.datetime().nullable(),
  })
  .openapi('ApiKey');

const CreatedKey = z
  .object({
    id: z.string(),
    key: z
      .string()
      .openapi({ description: 'The bearer key. Shown this once; only its hash is stored.' }),
    app: z.string(),
    scopes: z.array(z.enum(SCOPES)),
    createdAt: z.iso.datetime(),
    twilio: z
      .object({
        accountSid: z.string().openapi({ example: 'AC0123456789abcdef0123456789abcdef' }),
        apiKeySid: z.string().openapi({ example: 'SK0193f0c1a2b3c4d5e6f708192a3b4c5d' }),
      })
      .openapi({
        description:
          "For Twilio's SDKs and /v2: HTTP Basic with `accountSid` (or `apiKeySid`, then the SDK also needs `accountSid` in its options) as the user name and `key` as the password.",
      }),
  })
  .openapi('CreatedApiKey');

export const AppSettingsBody = z
  .object({
    brand: z
      .string()
      .min(1)
      .max(40)
      .nullable()
      .optional()
      .openapi({ description: 'Name shown in messages (defaults to the app name)' }),
    codeLength: z.number().int().min(4).max(10).nullable().optional(),
    webOtpDomain: z
      .string()
      .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/)
      .nullable()
      .optional()
      .openapi({
        description: 'Adds the WebOTP line `@domain #code` to messages',
        example: 'example.com',
      }),
    customCodes: z.boolean().optional().openapi({
      description: "Lets the app choose its own codes (Twilio Verify's `CustomCode`, through /v2)",
    }),
  })
  .strict()
  .openapi('AppSettingsUpdate');

const AppSettingsSchema = z
  .object({
    name: z.string(),
    brand: z.string().nullable(),
    codeLength: z.number().int().nullable(),
    webOtpDomain: z.string().nullable(),
    customCodes: z.boolean(),
    twilioServiceSid: z.string().nullable().openapi({
      description:
        "The app's Twilio Verify Service sid, for /v2 (set when the app is created, never changed)",
      example: 'VA0123456789abcdef0123456789abcdef',
    }),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .openapi('AppSettings');

const KeyIdParam = z.object({
  id: z
    .string()
    .max(64)
    .openapi({ param: { name: 'id', in: 'path' } }),
});
const AppParam = z.object({ name: AppName.openapi({ param: { name: 'name', in: 'path' } }) });
const COMMON = [
  'invalid_request',
  'malformed_json',
  'unsupported_media_type',
  'payload_too_large',
  'unauthorized',
  'forbidden',
] as const;

export const createKeyRoute = createRoute({
  method: 'post',
  path: '/v1/admin/api-keys',
  operationId: 'createApiKey',
  tags: TAGS,
  security: SECURITY,
  summary: 'Create a scoped API key for an app',
  description:
    'Creates a key for `app` with the given scopes. The bearer secret is in this answer only; the service keeps its SHA-256 and compares in constant time. Scope `admin`.',
  request: { body: { ...json(CreateKeyBody), required: true } },
  responses: {
    201: { description: 'Created', ...json(CreatedKey) },
    ...problemResponses(...COMMON),
  },
});

export const listKeysRoute = createRoute({
  method: 'get',
  path: '/v1/admin/api-keys',
  operationId: 'listApiKeys',
  tags: TAGS,
  security: SECURITY,
  summary: 'List API keys (never their secrets)',
  description:
    'Every API key, revoked ones included, with its app and scopes; never a secret. Scope `admin`.',
  responses: {
    200: { description: 'Keys', ...json(z.object({ keys: z.array(ApiKeySummary) })) },
    ...problemResponses('unauthorized', 'forbidden'),
  },
});

export const revokeKeyRoute = createRoute({
  method: 'delete',
  path: '/v1/admin/api-keys/{id}',
  operationId: 'revokeApiKey',
  tags: TAGS,
  security: SECURITY,
  summary: 'Revoke an API key, at once',
  description: 'Revokes a key: the next request with it is 401, on every instance. Scope `admin`.',
  request: { params: KeyIdParam },
  responses: {
    204: { description: 'Revoked' },
    ...problemResponses('unauthorized', 'forbidden', 'not_found'),
  },
});

export const getAppRoute = createRoute({
  method: 'get',
  path: '/v1/admin/apps/{name}',
  operationId: 'getAppSettings',
  tags: TAGS,
  security: SECURITY,
  summary: "Read an app's settings",
  description:
    'The settings of one app: brand, code length and WebOTP domain (null when the default applies), whether it may choose its own codes, and its Twilio Verify Service sid. Scope `admin`.',
  request: { params: AppParam },
  responses: {
    200: { description: 'Settings', ...json(AppSettingsSchema) },
    ...problemResponses('invalid_request', 'unauthorized', 'forbidden', 'not_found'),
  },
});

export const updateAppRoute = createRoute({
  method: 'put',
  path: '/v1/admin/apps/{name}',
  operationId: 'updateAppSettings',
  tags: TAGS,
  security: SECURITY,
  summary: "Create or update an app's settings (brand, code length, WebOTP domain)",
  description:
    "Creates the app's settings or replaces the fields given; null restores a default. Applies to the next verification. Scope `admin`.",
  request: { params: AppParam, body: { ...json(AppSettingsBody), required: true } },
  responses: {
    200: { description: 'Settings', ...json(AppSettingsSchema) },
    ...problemResponses(...COMMON),
  },
});

export const rotateSigningKeyRoute = createRoute({
  method: 'post',
  path: '/v1/admin/signing-keys/rotate',
  operationId: 'rotateSigningKey',
  tags: TAGS,
  security: SECURITY,
  summary:
    'Rotate the JWT signing key (old public keys stay in the JWKS until their tokens expire)',
  description:
    'Makes a new Ed25519 key the one that signs result tokens and answers its `kid`: it signs from the next token on the instance that answers, and on every other instance within a second. The previous public keys stay in /.well-known/jwks.json until the tokens they signed have expired. Answers 409 conflict when the signing key comes from JWT_PRIVATE_KEY. Scope `admin`.',
  responses: {
    200: { description: 'Rotated', ...json(z.object({ kid: z.string() })) },
    ...problemResponses('unauthorized', 'forbidden', 'conflict'),
  },
});
