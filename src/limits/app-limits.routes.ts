import { createRoute, z } from '@hono/zod-openapi';
import { apiKeyScope } from '../http/scopes.js';
import { problemResponses } from '../http/problem.js';
import { RATE_RULE_NAMES, RATE_RULES, type RateRuleName } from './limits.rules.js';

/** Every route here needs an API key with the `admin` scope (enforced from this declaration: http/scopes.ts). */
const SECURITY = apiKeyScope('admin');
const TAGS = ['Admin'];
const json = <T>(schema: T) => ({ content: { 'application/json': { schema } } });
const Country = z.string().regex(/^[A-Z]{2}$/);
const points = (name: RateRuleName) =>
  z
    .number()
    .int()
    .min(1)
    .max(1_000_000_000)
    .openapi({ description: `${RATE_RULES[name].what}, per ${RATE_RULES[name].windowSeconds} s` });

const Rates = z
  .object(
    Object.fromEntries(RATE_RULE_NAMES.map((name) => [name, points(name).optional()])) as Record<
      RateRuleName,
      z.ZodOptional<ReturnType<typeof points>>
    >,
  )
  .strict()
  .openapi('RateLimitOverrides', {
    description: 'Points per window for each rule; absent rules use the environment default',
  });

const EffectiveRates = z
  .object(
    Object.fromEntries(RATE_RULE_NAMES.map((name) => [name, z.number().int()])) as Record<
      RateRuleName,
      z.ZodNumber
    >,
  )
  .openapi('RateLimits');

export const AppLimitsBody = z
  .object({
    rates: Rates.optional(),
    blockVoip: z
      .boolean()
      .optional()
      .openapi({ description: 'Refuse VoIP numbers (unsupported_number_type)' }),
    allowCountries: z
      .array(Country)
      .max(300)
      .nullable()
      .optional()
      .openapi({ description: 'When set, only these countries receive codes' }),
    denyCountries: z
      .array(Country)
      .max(300)
      .nullable()
      .optional()
      .openapi({ description: 'Replaces the default high-risk deny list (GEO_DENY_COUNTRIES)' }),
  })
  .strict()
  .openapi('AppLimitsUpdate');

const AppLimitsSchema = z
  .object({
    app: z.string(),
    overrides: AppLimitsBody,
    effective: z.object({
      rates: EffectiveRates,
      blockVoip: z.boolean(),
      allowCountries: z.array(z.string()).nullable(),
      denyCountries: z.array(z.string()),
    }),
    updatedAt: z.iso.datetime().nullable(),
  })
  .openapi('AppLimits');

const AppParam = z.object({
  name: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/)
    .openapi({ param: { name: 'name', in: 'path' }, example: 'acme' }),
});

export const getAppLimitsRoute = createRoute({
  method: 'get',
  path: '/v1/admin/apps/{name}/limits',
  operationId: 'getAppLimits',
  tags: TAGS,
  security: SECURITY,
  summary: "Read an app's rate limits and abuse settings (overrides and effective values)",
  description:
    'The overrides set for the app and the values in effect (overrides over the environment defaults). Scope `admin`.',
  request: { params: AppParam },
  responses: {
    200: { description: 'Limits', ...json(AppLimitsSchema) },
    ...problemResponses('unauthorized', 'forbidden', 'not_found'),
  },
});

export const putAppLimitsRoute = createRoute({
  method: 'put',
  path: '/v1/admin/apps/{name}/limits',
  operationId: 'replaceAppLimits',
  tags: TAGS,
  security: SECURITY,
  summary: "Replace an app's limit overrides (applies to the next request on every instance)",
  description:
    "Replaces the app's overrides as a whole: a field left out returns to the environment default. Read from the database on each decision, so every instance applies it to the next request. Scope `admin`.",
  request: { params: AppParam, body: { ...json(AppLimitsBody), required: true } },
  responses: {
    200: { description: 'Limits', ...json(AppLimitsSchema) },
    ...problemResponses(
      'invalid_request',
      'malformed_json',
      'unsupported_media_type',
      'payload_too_large',
      'unauthorized',
      'forbidden',
      'not_found',
    ),
  },
});
