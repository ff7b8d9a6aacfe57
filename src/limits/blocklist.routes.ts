import { createRoute, z } from '@hono/zod-openapi';
import { apiKeyScope } from '../http/scopes.js';
import { problemResponses } from '../http/problem.js';

/** The public contract of /v1/blocklist (scope `security`). A dashboard is built against this shape. */

/** Every route here needs an API key with the `security` scope (enforced from this declaration: http/scopes.ts). */
const SECURITY = apiKeyScope('security');
const TAGS = ['Blocklist'];
const json = <T>(schema: T) => ({ content: { 'application/json': { schema } } });

const Kind = z.enum(['number', 'prefix', 'ip', 'cidr', 'country']).openapi({
  description: 'What `value` is: an E.164 number, an E.164 prefix, an IP, a CIDR or an ISO country',
});
const Action = z.enum(['block', 'allow']);

export const CreateBlockEntryBody = z
  .object({
    kind: Kind,
    value: z.string().min(1).max(64).openapi({ example: '+4479460' }),
    reason: z
      .string()
      .min(1)
      .max(500)
      .openapi({ example: 'pumping from this range, ticket SEC-42' }),
    expiresAt: z.iso
      .datetime({ offset: true })
      .optional()
      .openapi({ description: 'When the entry stops applying; never when absent' }),
    action: Action.default('block').openapi({
      description:
        'allow exempts matching starts from the blocklist, geo and abuse rules (not from rate limits)',
    }),
  })
  .strict()
  .openapi('CreateBlockEntry');

export const BlockEntrySchema = z
  .object({
    id: z.string().openapi({ example: 'blk_0m3k9c4x5v7w8y2z1a6b3d4e5f' }),
    kind: Kind,
    value: z.string(),
    action: Action,
    reason: z.string(),
    createdBy: z.string().openapi({
      description: 'The API key id that added it, or "auto" for an automatic prefix block',
    }),
    createdAt: z.iso.datetime(),
    expiresAt: z.iso.datetime().nullable(),
  })
  .openapi('BlockEntry');

const ListQuery = z.object({
  kind: Kind.optional().openapi({ param: { name: 'kind', in: 'query' } }),
  action: Action.optional().openapi({ param: { name: 'action', in: 'query' } }),
});

const IdParam = z.object({
  id: z
    .string()
    .max(64)
    .openapi({ param: { name: 'id', in: 'path' } }),
});

export const createBlockEntryRoute = createRoute({
  method: 'post',
  path: '/v1/blocklist',
  operationId: 'createBlocklistEntry',
  tags: TAGS,
  security: SECURITY,
  summary: 'Block or allow a number, prefix, IP, CIDR or country (takes effect at once)',
  description:
    'Adds a block or allow entry. It applies at once on the instance that adds it and within 1 s on every other instance (each holds the blocklist in memory, dropped on any change). An `allow` entry exempts matching starts from the blocklist, geo and abuse rules (never from rate limits or number types) and wins over block entries. Scope `security`.',
  request: { body: { ...json(CreateBlockEntryBody), required: true } },
  responses: {
    201: { description: 'Created', ...json(BlockEntrySchema) },
    ...problemResponses(
      'invalid_request',
      'malformed_json',
      'unsupported_media_type',
      'payload_too_large',
      'unauthorized',
      'forbidden',
    ),
  },
});

export const listBlockEntriesRoute = createRoute({
  method: 'get',
  path: '/v1/blocklist',
  operationId: 'listBlocklistEntries',
  tags: TAGS,
  security: SECURITY,
  summary: 'List unexpired entries, automatic prefix blocks included',
  description:
    'Every unexpired entry, the automatic prefix blocks included, oldest first; filter by `kind` and `action`. Scope `security`.',
  request: { query: ListQuery },
  responses: {
    200: {
      description: 'Entries, oldest first',
      ...json(z.object({ entries: z.array(BlockEntrySchema) })),
    },
    ...problemResponses('invalid_request', 'unauthorized', 'forbidden'),
  },
});

export const deleteBlockEntryRoute = createRoute({
  method: 'delete',
  path: '/v1/blocklist/{id}',
  operationId: 'deleteBlocklistEntry',
  tags: TAGS,
  security: SECURITY,
  summary: 'Remove an entry (automatic ones too), at once',
  description:
    'Removes an entry, an automatic one too; it stops applying at once on every instance. Scope `security`.',
  request: { params: IdParam },
  responses: {
    204: { description: 'Removed' },
    ...problemResponses('unauthorized', 'forbidden', 'not_found'),
  },
});
