import { createRoute, z } from '@hono/zod-openapi';
import { ipAddress, printableText } from '../http/schema-formats.js';
import { LOCALES } from '../verification/messages.js';

/**
 * The public contract of /v2: Twilio Verify v2 as its SDKs call it. Requests are form-encoded with
 * Twilio's PascalCase names; answers are JSON with its snake_case fields. Every parameter listed is
 * honoured; any other, or a value this service cannot honour, is refused with 60200 naming it,
 * never dropped. These schemas validate the requests and generate openapi.yaml.
 */

export const TAG = 'Twilio Verify v2';
const TAGS = [TAG];
const SECURITY = [{ twilioBasicAuth: [] }];
const form = <T>(schema: T) => ({ content: { 'application/x-www-form-urlencoded': { schema } } });
const json = <T>(schema: T) => ({ content: { 'application/json': { schema } } });

const sid = (prefix: string, example: string) =>
  z
    .string()
    .regex(new RegExp(`^${prefix}[0-9a-fA-F]{32}$`))
    .openapi({ example: `${prefix}${example}` });
const HEX_EXAMPLE = '0123456789abcdef0123456789abcdef';
const ServiceSid = sid('VA', HEX_EXAMPLE);
const VerificationSid = sid('VE', '01939d8ad0e8c49f7a1b2c3d4e5f6a7b');
const TwilioDate = z
  .string()
  .openapi({ description: 'ISO 8601, UTC, seconds', example: '2025-01-15T09:30:00Z' });

/** Twilio's string booleans, as its SDKs send them. */
const Bool = z.enum(['true', 'false']);
/** A Twilio setting this service has one behaviour for: the value that describes it, nothing else. */
const only = (value: 'true' | 'false', why: string) =>
  z
    .literal(value)
    .optional()
    .openapi({ description: `Only \`${value}\`: ${why}` });

const ServiceFields = {
  FriendlyName: printableText()
    .min(1)
    .max(40)
    .openapi({ description: "The name shown in messages (the app's brand)", example: 'Acme' }),
  CodeLength: z
    .string()
    .regex(/^(?:[4-9]|10)$/)
    .optional()
    .openapi({ description: 'Digits in SMS codes, 4 to 10', example: '6' }),
  CustomCodeEnabled: Bool.optional().openapi({
    description: 'Whether verifications may carry a `CustomCode` (the app setting `customCodes`)',
  }),
  LookupEnabled: only(
    'false',
    'no carrier lookup is made (number types come from the numbering plan)',
  ),
  SkipSmsToLandlines: only(
    'true',
    'an SMS to a landline is always refused (60205); `Channel=auto` calls it instead when flash calls are configured',
  ),
  Psd2Enabled: only('true', '`Amount` and `Payee` are always honoured'),
  DoNotShareWarningEnabled: only(
    'false',
    'messages carry no do-not-share line (transaction messages say "never share it")',
  ),
  DtmfInputRequired: only('false', '`call` is a flash call: nothing to press'),
};

export const CreateServiceBody = z.object(ServiceFields).strict().openapi('TwilioCreateService');
export const UpdateServiceBody = z
  .object({ ...ServiceFields, FriendlyName: ServiceFields.FriendlyName.optional() })
  .strict()
  .openapi('TwilioUpdateService');

const isSupportedLocale = (tag: string): boolean =>
  (LOCALES as readonly string[]).includes(tag.toLowerCase().split(/[-_]/)[0] ?? '');

export const StartBody = z
  .object({
    To: z
      .string()
      .min(1)
      .max(64)
      .openapi({ description: 'The phone number, E.164', example: '+14155550123' }),
    Channel: z.enum(['sms', 'call', 'auto']).openapi({
      description:
        '`sms`; `call`: a flash call (the code is the last digits of the calling number); `auto`: SMS, with a flash call for landlines and as fallback when flash calls are configured. `email`, `whatsapp` and `sna` are not offered (60200).',
    }),
    Locale: z
      .string()
      .regex(/^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$/)
      .refine(isSupportedLocale)
      .optional()
      .openapi({
        description: `Language of the message: ${LOCALES.join(', ')} (with any region); others are refused`,
        example: 'fr',
      }),
    CustomFriendlyName: printableText().min(1).max(40).optional().openapi({
      description: "The name this verification's messages show instead of the Service's",
    }),
    CustomCode: z
      .string()
      .regex(/^[0-9A-Za-z]{4,10}$/)
      .optional()
      .openapi({
        description:
          'A code of your own, 4 to 10 letters or digits: only for a Service with `custom_code_enabled`, and not with `Channel=call`',
      }),
    Amount: z.string().min(1).max(32).optional().openapi({
      description:
        'With `Payee`: the transaction the code approves (PSD2), with its currency: `EUR 39.99`, `39.99 EUR`, `€39.99`, `£5`, `$10`',
      example: '€39.99',
    }),
    Payee: z.string().min(1).max(140).optional().openapi({
      description: 'With `Amount`: who is paid, as the person reads it',
      example: 'ACME SARL',
    }),
    AppHash: z
      .string()
      .regex(/^[A-Za-z0-9+/]{11}$/)
      .optional()
      .openapi({
        description: 'Android SMS Retriever app hash, added to the SMS',
        example: 'FA+9qCX9VSu',
      }),
    DeviceIp: ipAddress().optional().openapi({
      description:
        "The end user's IP: the per-IP limits and abuse rules count it instead of the caller's",
      example: '203.0.113.7',
    }),
    RiskCheck: z
      .literal('enable')
      .optional()
      .openapi({ description: 'Only `enable`: the abuse rules always run' }),
  })
  .strict()
  .openapi('TwilioStartVerification');

export const CheckBody = z
  .object({
    Code: z.string().min(1).max(32).openapi({
      description: "The code the person received (or a flash call's full calling number)",
      example: '123456',
    }),
    To: z.string().min(1).max(64).optional().openapi({
      description: 'The number: its newest pending verification is checked',
      example: '+14155550123',
    }),
    VerificationSid: VerificationSid.optional().openapi({
      description: "The verification to check (with `To` too, it must be that number's)",
    }),
    Amount: z.string().min(1).max(32).optional().openapi({
      description: 'Required, and the same transaction, when the verification has one',
    }),
    Payee: z.string().min(1).max(140).optional(),
  })
  .strict()
  .openapi('TwilioCheckVerification');

export const UpdateVerificationBody = z
  .object({
    Status: z.enum(['canceled', 'approved']).openapi({
      description:
        '`canceled`; `approved` only for a Service with custom codes, which checked its code itself',
    }),
  })
  .strict()
  .openapi('TwilioUpdateVerification');

const ListQuery = z
  .object({
    PageSize: z.coerce
      .number()
      .int()
      .min(1)
      .max(1000)
      .optional()
      .openapi({ param: { name: 'PageSize', in: 'query' }, example: 50 }),
    Page: z.coerce
      .number()
      .int()
      .min(0)
      .max(1_000_000)
      .optional()
      .openapi({ param: { name: 'Page', in: 'query' }, example: 0 }),
  })
  .strict();

const ServiceParam = z.object({ Sid: ServiceSid.openapi({ param: { name: 'Sid', in: 'path' } }) });
const ServiceSidParam = z.object({
  ServiceSid: ServiceSid.openapi({ param: { name: 'ServiceSid', in: 'path' } }),
});
const VerificationParams = z.object({
  ServiceSid: ServiceSid.openapi({ param: { name: 'ServiceSid', in: 'path' } }),
  Sid: VerificationSid.openapi({ param: { name: 'Sid', in: 'path' } }),
});

export const TwilioErrorSchema = z
  .object({
    code: z.number().int().openapi({ example: 60200 }),
    message: z.string().openapi({ example: 'Invalid parameter: To' }),
    more_info: z.string().openapi({ example: 'https://www.twilio.com/docs/errors/60200' }),
    status: z.number().int().openapi({ example: 400 }),
  })
  .openapi('TwilioError', {
    description: "Twilio's error body: the SDKs raise it as RestException (status, code, moreInfo)",
  });

export const ServiceSchema = z
  .object({
    sid: ServiceSid,
    account_sid: z.string().openapi({ example: `AC${HEX_EXAMPLE}` }),
    friendly_name: z.string(),
    code_length: z.number().int(),
    lookup_enabled: z.boolean(),
    psd2_enabled: z.boolean(),
    skip_sms_to_landlines: z.boolean(),
    dtmf_input_required: z.boolean(),
    tts_name: z.null(),
    do_not_share_warning_enabled: z.boolean(),
    custom_code_enabled: z.boolean(),
    date_created: TwilioDate,
    date_updated: TwilioDate,
    url: z.string(),
    links: z.object({ verifications: z.string(), verification_checks: z.string() }),
  })
  .openapi('TwilioService', {
    description:
      'A Verify Service: one app of this service (`GET /v1/admin/apps/{name}` shows it as `twilioServiceSid`)',
  });

const PageMeta = z.object({
  page: z.number().int(),
  page_size: z.number().int(),
  first_page_url: z.string(),
  previous_page_url: z.string().nullable(),
  next_page_url: z.string().nullable(),
  url: z.string(),
  key: z.literal('services'),
});

export const ServicePageSchema = z
  .object({ services: z.array(ServiceSchema), meta: PageMeta })
  .openapi('TwilioServicePage');

const STATUS = z.enum(['pending', 'approved', 'canceled', 'max_attempts_reached', 'expired']);
const CHANNEL = z.enum(['sms', 'call']);

export const VerificationSchema = z
  .object({
    sid: VerificationSid,
    service_sid: ServiceSid,
    account_sid: z.string(),
    to: z.string(),
    channel: CHANNEL,
    status: STATUS,
    valid: z.boolean(),
    lookup: z.object({}),
    amount: z.string().nullable(),
    payee: z.string().nullable(),
    send_code_attempts: z.array(
      z.object({
        attempt_sid: z.string().openapi({ example: 'VL01939d8ad0e8c49f7a1b2c3d4e5f6a7b' }),
        channel: CHANNEL,
        time: TwilioDate,
      }),
    ),
    date_created: TwilioDate,
    date_updated: TwilioDate,
    sna: z.null(),
    url: z.string(),
  })
  .openapi('TwilioVerification', {
    description: 'A verification of this service (`sid` is its `/v1` id in another spelling)',
  });

export const VerificationCheckSchema = z
  .object({
    sid: VerificationSid,
    service_sid: ServiceSid,
    account_sid: z.string(),
    to: z.string(),
    channel: CHANNEL,
    status: STATUS,
    valid: z.boolean(),
    amount: z.string().nullable(),
    payee: z.string().nullable(),
    date_created: TwilioDate,
    date_updated: TwilioDate,
    sna_attempts_error_codes: z.array(z.unknown()),
  })
  .openapi('TwilioVerificationCheck');

type ErrorCase = 400 | 401 | 403 | 404 | 413 | 415 | 429;
const ERROR_TEXT: Record<ErrorCase, string> = {
  400: '60200 invalid parameter (the message names it); 60221 neither `To` nor `VerificationSid`',
  401: '20003 wrong or missing credentials',
  403: '20403 the key lacks the scope; 60605 geo rules; 60410 blocklist or abuse rules; 60205 SMS to a landline',
  404: '20404 no such Service or verification, or approved, expired or canceled',
  413: '60200 the body is too large',
  415: '60200 the body is not form-encoded',
  429: '60203 too many sends (Retry-After, Twilio-Reached-Rate-Limit); 60202 too many wrong codes; 20429 too many checks',
};
const errors = (...statuses: ErrorCase[]) =>
  Object.fromEntries(
    statuses.map((status) => [
      status,
      { description: ERROR_TEXT[status], ...json(TwilioErrorSchema) },
    ]),
  ) as Record<
    ErrorCase,
    { description: string; content: { 'application/json': { schema: typeof TwilioErrorSchema } } }
  >;
const POST_ERRORS = [400, 401, 413, 415] as const;

const RATE_HEADERS = z.object({
  'Retry-After': z
    .string()
    .optional()
    .openapi({ description: 'On 429: seconds until a send may succeed' }),
  'Twilio-Reached-Rate-Limit': z.string().optional().openapi({
    description: 'On 429: the limit reached (`number:10m`, `max_sends`, `resend_cooldown`, …)',
  }),
});

export const createServiceRoute = createRoute({
  method: 'post',
  path: '/v2/Services',
  operationId: 'twilioCreateService',
  tags: TAGS,
  security: SECURITY,
  summary: 'Create a Service (a new app)',
  description:
    'Creates an app named after `FriendlyName` (made unique) with its Service sid. Needs a key with scope `admin`.',
  request: { body: { ...form(CreateServiceBody), required: true } },
  responses: {
    201: { description: 'Created', ...json(ServiceSchema) },
    ...errors(...POST_ERRORS, 403),
  },
});

export const listServicesRoute = createRoute({
  method: 'get',
  path: '/v2/Services',
  operationId: 'twilioListServices',
  tags: TAGS,
  security: SECURITY,
  summary: 'List Services',
  description:
    "Every app (scope `admin`), or only the key's own app, oldest first, `PageSize` (default 50) per page.",
  request: { query: ListQuery },
  responses: {
    200: { description: 'A page of Services', ...json(ServicePageSchema) },
    ...errors(400, 401),
  },
});

export const fetchServiceRoute = createRoute({
  method: 'get',
  path: '/v2/Services/{Sid}',
  operationId: 'twilioFetchService',
  tags: TAGS,
  security: SECURITY,
  summary: 'Fetch a Service',
  description:
    "Any app's with scope `admin`; otherwise only the key's own app (another app's is 404).",
  request: { params: ServiceParam },
  responses: { 200: { description: 'The Service', ...json(ServiceSchema) }, ...errors(401, 404) },
});

export const updateServiceRoute = createRoute({
  method: 'post',
  path: '/v2/Services/{Sid}',
  operationId: 'twilioUpdateService',
  tags: TAGS,
  security: SECURITY,
  summary: 'Update a Service',
  description:
    "Changes the app's settings given (brand, code length, custom codes). Scope `admin`.",
  request: { params: ServiceParam, body: { ...form(UpdateServiceBody), required: true } },
  responses: {
    200: { description: 'The Service', ...json(ServiceSchema) },
    ...errors(...POST_ERRORS, 403, 404),
  },
});

export const deleteServiceRoute = createRoute({
  method: 'delete',
  path: '/v2/Services/{Sid}',
  operationId: 'twilioDeleteService',
  tags: TAGS,
  security: SECURITY,
  summary: 'Delete a Service',
  description:
    "Deletes the app's settings and its Service sid: the sid answers 404 from then on. The app's verifications, events and reports stay, and so do its API keys (revoke them with `DELETE /v1/admin/api-keys/{id}`). Scope `admin`.",
  request: { params: ServiceParam },
  responses: { 204: { description: 'Deleted' }, ...errors(401, 403, 404) },
});

export const startRoute = createRoute({
  method: 'post',
  path: '/v2/Services/{ServiceSid}/Verifications',
  operationId: 'twilioStartVerification',
  tags: TAGS,
  security: SECURITY,
  summary: 'Start a verification (or send again on the pending one)',
  description:
    'As `POST /v1/verifications`, with every limit and abuse rule. When the number already has a pending verification of this Service (for the same transaction), a new code is sent on it instead, as Twilio does: same sid, one more `send_code_attempts` entry, at most 5 sends (then 60203 until it expires), 30 s apart. Scope `verify`.',
  request: { params: ServiceSidParam, body: { ...form(StartBody), required: true } },
  responses: {
    201: { description: 'Created (or sent again)', ...json(VerificationSchema) },
    ...errors(...POST_ERRORS, 403, 404),
    429: { description: ERROR_TEXT[429], headers: RATE_HEADERS, ...json(TwilioErrorSchema) },
  },
});

export const fetchVerificationRoute = createRoute({
  method: 'get',
  path: '/v2/Services/{ServiceSid}/Verifications/{Sid}',
  operationId: 'twilioFetchVerification',
  tags: TAGS,
  security: SECURITY,
  summary: 'Fetch a verification',
  description:
    'A pending, canceled or locked verification; an approved or expired one is 404, as Twilio treats them as deleted. Scope `verify`.',
  request: { params: VerificationParams },
  responses: {
    200: { description: 'The verification', ...json(VerificationSchema) },
    ...errors(401, 404),
  },
});

export const updateVerificationRoute = createRoute({
  method: 'post',
  path: '/v2/Services/{ServiceSid}/Verifications/{Sid}',
  operationId: 'twilioUpdateVerification',
  tags: TAGS,
  security: SECURITY,
  summary: 'Cancel (or, with custom codes, approve) a verification',
  description:
    '`Status=canceled` ends a pending verification; `Status=approved` approves it without a code, only for a Service with custom codes. Scope `verify`.',
  request: {
    params: VerificationParams,
    body: { ...form(UpdateVerificationBody), required: true },
  },
  responses: {
    200: { description: 'The verification', ...json(VerificationSchema) },
    ...errors(...POST_ERRORS, 404),
  },
});

export const checkRoute = createRoute({
  method: 'post',
  path: '/v2/Services/{ServiceSid}/VerificationCheck',
  operationId: 'twilioCheckVerification',
  tags: TAGS,
  security: SECURITY,
  summary: 'Check a code',
  description:
    'As `POST /v1/verifications/{id}/check` (by `VerificationSid`) or `/v1/verifications/check` (by `To`): the right code answers `approved` and `valid: true`, a wrong one `pending` and `valid: false` (`max_attempts_reached` on the last), then 60202. Scope `verify`.',
  request: { params: ServiceSidParam, body: { ...form(CheckBody), required: true } },
  responses: {
    200: {
      description: 'Checked: `valid` says whether the code was right',
      ...json(VerificationCheckSchema),
    },
    ...errors(...POST_ERRORS, 404),
    429: { description: ERROR_TEXT[429], headers: RATE_HEADERS, ...json(TwilioErrorSchema) },
  },
});
