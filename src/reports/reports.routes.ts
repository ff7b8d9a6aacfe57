import { createRoute, z } from '@hono/zod-openapi';
import { apiKeyScope } from '../http/scopes.js';
import { problemResponses } from '../http/problem.js';
import { ipAddress } from '../http/schema-formats.js';
import { DIMENSIONS, TIME_BUCKETS } from './reports.store.js';

/** The public contract of /v1/reports and /v1/events (scope `reports`). */

/** Every route here needs an API key with the `reports` scope (enforced from this declaration: http/scopes.ts). */
const SECURITY = apiKeyScope('reports');
const TAGS = ['Reports'];
const AUTH = ['invalid_request', 'unauthorized', 'forbidden'] as const;
const CSV = 'text/csv';

const Instant = z.iso.datetime({ offset: true }).optional();
const WindowQuery = {
  from: Instant.openapi({
    description: 'Start of the window, inclusive (default: 7 days before `to`)',
    example: '2026-01-01T00:00:00Z',
  }),
  to: Instant.openapi({
    description: 'End of the window, exclusive (default: now)',
    example: '2026-01-08T00:00:00Z',
  }),
  days: z.coerce.number().int().min(1).max(400).optional().openapi({
    description: 'Window length in days ending at `to`, when `from` is absent (default 7)',
  }),
  country: z
    .string()
    .regex(/^[A-Z]{2}$/)
    .optional()
    .openapi({ description: 'Only records of this country (ISO 3166-1 alpha-2)', example: 'FR' }),
};

export const FailuresQuery = z
  .object({
    ...WindowQuery,
    groupBy: z
      .enum([...DIMENSIONS, ...TIME_BUCKETS])
      .default('reason')
      .openapi({ description: 'Group by a field, or by hour/day (hour: windows up to 31 days)' }),
    stackBy: z.enum(DIMENSIONS).optional().openapi({
      description: 'A second field to split each group by (e.g. groupBy=hour&stackBy=reason)',
    }),
  })
  .strict();

export const ConversionQuery = z
  .object({ ...WindowQuery, groupBy: z.enum(['country', 'prefix', 'channel']).default('country') })
  .strict();

export const AbuseQuery = z
  .object({ ...WindowQuery, limit: z.coerce.number().int().min(1).max(100).default(20) })
  .strict();

export const EventsQuery = z
  .object({
    ...WindowQuery,
    kind: z.enum(['failure', 'success', 'audit']).optional(),
    reason: z
      .string()
      .regex(/^[a-z_]{2,40}$/)
      .optional(),
    number: z
      .string()
      .regex(/^\+[1-9]\d{5,14}$/)
      .optional()
      .openapi({ description: 'E.164 number (looked up by its keyed hash)' }),
    numberHash: z
      .string()
      .regex(/^[0-9a-f]{32}$/)
      .optional()
      .openapi({ description: 'The keyed hash a report gave for a number' }),
    prefix: z
      .string()
      .regex(/^\+\d{1,15}$/)
      .optional()
      .openapi({ example: '+3361234' }),
    ip: ipAddress().optional(),
    verificationId: z.string().max(64).optional(),
    cursor: z
      .string()
      .max(64)
      .optional()
      .openapi({ description: 'nextCursor of the previous page' }),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    reveal: z.enum(['true', 'false']).optional().openapi({
      description:
        'true: full numbers instead of masked ones. Each such read is recorded as an `audit` event.',
    }),
  })
  .strict();

const Millis = z.number().int().openapi({ description: 'Epoch milliseconds' });

const FailureReportSchema = z
  .object({
    from: Millis,
    to: Millis,
    groupBy: z.string(),
    stackBy: z.string().nullable(),
    total: z.number().int(),
    groups: z.array(
      z.object({
        key: z.string().nullable(),
        stack: z.string().nullable().optional(),
        count: z.number().int(),
      }),
    ),
  })
  .openapi('FailureReport');

const ConversionReportSchema = z
  .object({
    from: Millis,
    to: Millis,
    groupBy: z.string(),
    groups: z.array(
      z.object({
        key: z.string().nullable(),
        started: z.number().int(),
        sent: z.number().int(),
        delivered: z.number().int(),
        deliveryFailed: z.number().int(),
        approved: z.number().int(),
        sendRate: z.number().nullable(),
        deliveryRate: z.number().nullable(),
        conversionRate: z.number().nullable(),
      }),
    ),
  })
  .openapi('ConversionReport');

const RuleSchema = z.object({ rule: z.string(), reason: z.string(), count: z.number().int() });

const AbuseRowSchema = z
  .object({
    kind: z.enum(['prefix', 'ip', 'number']),
    value: z.string().openapi({ description: 'Prefix, IP, or masked number' }),
    numberHash: z.string().nullable(),
    failures: z.number().int(),
    started: z.number().int(),
    sent: z.number().int(),
    approved: z.number().int(),
    conversionRate: z.number().nullable(),
    wastedSends: z.number().int(),
    estimatedCost: z.number().nullable(),
    firstAt: Millis,
    lastAt: Millis,
    rules: z.array(RuleSchema),
    block: z.object({
      status: z.enum(['blocked', 'allowed', 'none', 'unknown']),
      entryId: z.string().nullable(),
      expiresAt: Millis.nullable(),
    }),
    eventsUrl: z.string(),
  })
  .openapi('AbuseRow');

const AbuseReportSchema = z
  .object({
    from: Millis,
    to: Millis,
    prefixes: z.array(AbuseRowSchema),
    ips: z.array(AbuseRowSchema),
    numbers: z.array(AbuseRowSchema),
    rules: z.array(RuleSchema),
    totals: z.object({
      started: z.number().int(),
      sent: z.number().int(),
      approved: z.number().int(),
      wastedSends: z.number().int(),
      estimatedCost: z.number().nullable(),
    }),
  })
  .openapi('AbuseReport');

const EventSchema = z
  .object({
    id: z.string(),
    at: Millis,
    app: z.string().nullable(),
    kind: z.string().openapi({ description: 'failure, success or audit' }),
    reason: z.string().openapi({
      description:
        'failure: a problem reason (invalid_phone, unsupported_number_type, blocked, rate_limited, abuse_suspected, delivery_failed, delivery_unconfirmed, incorrect_code, expired, max_attempts_exceeded, already_used, canceled, not_found, unauthorized, forbidden, invalid_signature, …); success: started, sent, delivered, approved, canceled; audit: number_revealed',
    }),
    rule: z
      .string()
      .nullable()
      .openapi({ description: 'The rule that fired, e.g. limit:prefix:1h' }),
    details: z
      .record(z.string(), z.unknown())
      .nullable()
      .openapi({ description: 'The rule\'s figures, e.g. {"count":31,"limit":30}' }),
    channel: z.string().nullable(),
    provider: z.string().nullable(),
    providerError: z.string().nullable(),
    number: z
      .string()
      .nullable()
      .openapi({ description: 'Masked (`+33 6 •• •• •• 78`) unless reveal=true' }),
    numberHash: z.string().nullable(),
    prefix: z.string().nullable(),
    country: z.string().nullable(),
    numberType: z.string().nullable(),
    ip: z.string().nullable(),
    userAgent: z.string().nullable(),
    verificationId: z.string().nullable(),
  })
  .openapi('EventRecord');

const jsonOrCsv = <T>(schema: T) => ({
  content: { 'application/json': { schema }, [CSV]: { schema: z.string() } },
});

export const failuresRoute = createRoute({
  method: 'get',
  path: '/v1/reports/failures',
  operationId: 'getFailureReport',
  tags: TAGS,
  security: SECURITY,
  summary: 'Failure counts per group (Accept: text/csv for CSV)',
  description:
    'Failures in a window, counted per reason, country, prefix, IP, channel, provider, app or rule, or per hour or day, optionally split by a second field. Keys of ADMIN_APP read every app; others their own. Scope `reports`.',
  request: { query: FailuresQuery },
  responses: {
    200: {
      description: 'Counts, largest first (time buckets in time order)',
      ...jsonOrCsv(FailureReportSchema),
    },
    ...problemResponses(...AUTH),
  },
});

export const failuresCsvRoute = createRoute({
  method: 'get',
  path: '/v1/reports/failures.csv',
  operationId: 'getFailureReportCsv',
  tags: TAGS,
  security: SECURITY,
  summary: 'Failure counts per group, as CSV',
  description:
    "The failure report as RFC 4180 CSV, for spreadsheets (cells a spreadsheet would run as a formula get a leading `'`). Scope `reports`.",
  request: { query: FailuresQuery },
  responses: {
    200: {
      description: 'CSV (RFC 4180) with a header row',
      content: { [CSV]: { schema: z.string() } },
    },
    ...problemResponses(...AUTH),
  },
});

export const conversionRoute = createRoute({
  method: 'get',
  path: '/v1/reports/conversion',
  operationId: 'getConversionReport',
  tags: TAGS,
  security: SECURITY,
  summary:
    'Starts, sends, deliveries and approvals per group, with rates (Accept: text/csv for CSV)',
  description:
    'Per country, prefix or channel: started, sent, delivered, delivery failures and approved, with send, delivery and conversion rates (the delivery rate is null without delivery receipts). Scope `reports`.',
  request: { query: ConversionQuery },
  responses: {
    200: { description: 'Conversion per group', ...jsonOrCsv(ConversionReportSchema) },
    ...problemResponses(...AUTH),
  },
});

export const conversionCsvRoute = createRoute({
  method: 'get',
  path: '/v1/reports/conversion.csv',
  operationId: 'getConversionReportCsv',
  tags: TAGS,
  security: SECURITY,
  summary: 'Conversion per group, as CSV',
  description: 'The conversion report as RFC 4180 CSV, for spreadsheets. Scope `reports`.',
  request: { query: ConversionQuery },
  responses: {
    200: {
      description: 'CSV (RFC 4180) with a header row',
      content: { [CSV]: { schema: z.string() } },
    },
    ...problemResponses(...AUTH),
  },
});

export const abuseRoute = createRoute({
  method: 'get',
  path: '/v1/reports/abuse',
  operationId: 'getAbuseReport',
  tags: TAGS,
  security: SECURITY,
  summary:
    'Top offending prefixes, IPs and numbers, the rules that fired, block status and wasted sends',
  description:
    'The top prefixes, IPs and numbers by failures in the window, each with its conversion, the rules that fired, wasted sends (sent minus approved), estimated cost, current block status and a link to its events; and the totals. Numbers are masked. Scope `reports`.',
  request: { query: AbuseQuery },
  responses: {
    200: {
      description: 'Abuse report',
      content: { 'application/json': { schema: AbuseReportSchema } },
    },
    ...problemResponses(...AUTH),
  },
});

export const eventsRoute = createRoute({
  method: 'get',
  path: '/v1/events',
  operationId: 'listEvents',
  tags: TAGS,
  security: SECURITY,
  summary: 'The raw event record, newest first, cursor-paginated',
  description:
    'The failure and success records behind the reports, newest first, filtered and paged by `nextCursor`. Numbers are masked unless `reveal=true`, and every revealing read is itself recorded as an `audit` event. Scope `reports`.',
  request: { query: EventsQuery },
  responses: {
    200: {
      description: 'One page of events',
      content: {
        'application/json': {
          schema: z
            .object({ events: z.array(EventSchema), nextCursor: z.string().nullable() })
            .openapi('EventPage'),
        },
      },
    },
    ...problemResponses(...AUTH),
  },
});
