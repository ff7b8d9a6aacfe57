import { createRoute, z } from '@hono/zod-openapi';
import { WEBHOOK_EVENT_TYPES } from '../events/webhooks.js';
import { problemResponses } from '../http/problem.js';
import { apiKeyScope } from '../http/scopes.js';

/** Every route here needs an API key with the `admin` scope (enforced from this declaration: http/scopes.ts). */
const SECURITY = apiKeyScope('admin');
const TAGS = ['Webhooks'];
const json = <T>(schema: T) => ({ content: { 'application/json': { schema } } });
const COMMON = ['invalid_request', 'unauthorized', 'forbidden', 'not_found'] as const;

const EventType = z.enum([...WEBHOOK_EVENT_TYPES, '*']).openapi({
  description: 'An event type, or `*` for every type (docs/webhooks.md)',
});

export const CreateWebhookBody = z
  .object({
    url: z.string().min(1).max(2048).openapi({ example: 'https://example.com/hooks/otp' }),
    events: z
      .array(z.string().max(64))
      .min(1)
      .max(WEBHOOK_EVENT_TYPES.length + 1)
      .openapi({
        description: `Event types to receive (${WEBHOOK_EVENT_TYPES.join(', ')}), or ["*"] for all`,
        example: ['verification.approved', 'delivery.failed'],
      }),
  })
  .strict()
  .openapi('CreateWebhook');

const EndpointSchema = z
  .object({
    id: z.string().openapi({ example: 'whe_01kb0c5m8h3xw0a9v6p2q7r4st' }),
    app: z.string(),
    url: z.string(),
    events: z.array(EventType),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
    previousSecretExpiresAt: z.iso.datetime().nullable().openapi({
      description:
        'After a rotation, until when the previous secret still signs beside the new one',
    }),
  })
  .openapi('WebhookEndpoint');

const EndpointWithSecret = EndpointSchema.extend({
  secret: z.string().openapi({
    description:
      'The signing secret (Standard Webhooks: `whsec_` then base64). Shown only here and on rotation.',
    example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  }),
}).openapi('WebhookEndpointWithSecret');

const DeliverySchema = z
  .object({
    id: z.string(),
    eventId: z
      .string()
      .openapi({ description: 'The webhook-id header, the same on every attempt' }),
    type: EventType,
    status: z.enum(['pending', 'delivering', 'delivered', 'failed']),
    attempts: z.number().int(),
    lastStatus: z
      .number()
      .int()
      .nullable()
      .openapi({ description: 'HTTP status of the last attempt' }),
    lastError: z.string().nullable(),
    nextAttemptAt: z.iso.datetime().nullable(),
    createdAt: z.iso.datetime(),
    deliveredAt: z.iso.datetime().nullable(),
  })
  .openapi('WebhookDelivery');

const AppParam = z.object({
  name: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/)
    .openapi({ param: { name: 'name', in: 'path' }, example: 'acme' }),
});
const id = (name: string) =>
  z
    .string()
    .max(128)
    .openapi({ param: { name, in: 'path' } });
const EndpointParams = AppParam.extend({ id: id('id') });
const DeliveryParams = EndpointParams.extend({ deliveryId: id('deliveryId') });

export const createWebhookRoute = createRoute({
  method: 'post',
  path: '/v1/admin/apps/{name}/webhooks',
  operationId: 'createWebhookEndpoint',
  tags: TAGS,
  security: SECURITY,
  summary: 'Add a webhook endpoint to an app (answers its signing secret, once)',
  description:
    "Registers a URL to receive the app's events, signed per Standard Webhooks. Only `https://` URLs whose host is not a loopback, private, link-local, CGNAT, multicast or metadata address are accepted (unless WEBHOOKS_ALLOW_PRIVATE=true); the address is checked again at each delivery, after DNS. Scope `admin`.",
  request: { params: AppParam, body: { ...json(CreateWebhookBody), required: true } },
  responses: {
    201: { description: 'Created', ...json(EndpointWithSecret) },
    ...problemResponses(
      ...COMMON,
      'malformed_json',
      'unsupported_media_type',
      'webhook_url_invalid',
      'webhook_url_not_https',
      'webhook_url_private_address',
      'unknown_event_type',
    ),
  },
});

export const listWebhooksRoute = createRoute({
  method: 'get',
  path: '/v1/admin/apps/{name}/webhooks',
  operationId: 'listWebhookEndpoints',
  tags: TAGS,
  security: SECURITY,
  summary: "List an app's webhook endpoints (without their secrets)",
  description:
    'Every endpoint of the app, oldest first. Secrets are never shown again. Scope `admin`.',
  request: { params: AppParam },
  responses: {
    200: { description: 'Endpoints', ...json(z.object({ endpoints: z.array(EndpointSchema) })) },
    ...problemResponses(...COMMON),
  },
});

export const deleteWebhookRoute = createRoute({
  method: 'delete',
  path: '/v1/admin/apps/{name}/webhooks/{id}',
  operationId: 'deleteWebhookEndpoint',
  tags: TAGS,
  security: SECURITY,
  summary: 'Remove a webhook endpoint and its pending deliveries',
  description: 'Removes the endpoint; events are no longer queued for it. Scope `admin`.',
  request: { params: EndpointParams },
  responses: { 204: { description: 'Removed' }, ...problemResponses(...COMMON) },
});

export const rotateWebhookSecretRoute = createRoute({
  method: 'post',
  path: '/v1/admin/apps/{name}/webhooks/{id}/rotate-secret',
  operationId: 'rotateWebhookSecret',
  tags: TAGS,
  security: SECURITY,
  summary: 'Issue a new signing secret (the old one keeps signing alongside for 24 h)',
  description:
    'Answers the new secret. For 24 hours every delivery carries two signatures in `webhook-signature`, one per secret, so receivers can switch without losing a message. Scope `admin`.',
  request: { params: EndpointParams },
  responses: {
    200: { description: 'Rotated', ...json(EndpointWithSecret) },
    ...problemResponses(...COMMON),
  },
});

export const listWebhookDeliveriesRoute = createRoute({
  method: 'get',
  path: '/v1/admin/apps/{name}/webhooks/{id}/deliveries',
  operationId: 'listWebhookDeliveries',
  tags: TAGS,
  security: SECURITY,
  summary: "An endpoint's deliveries, newest first (status, attempts, last HTTP status, next try)",
  description: 'At most `limit` deliveries (default 50), optionally of one status. Scope `admin`.',
  request: {
    params: EndpointParams,
    query: z.object({
      limit: z.coerce
        .number()
        .int()
        .min(1)
        .max(500)
        .default(50)
        .openapi({ param: { name: 'limit', in: 'query' } }),
      status: z
        .enum(['pending', 'delivering', 'delivered', 'failed'])
        .optional()
        .openapi({ param: { name: 'status', in: 'query' } }),
    }),
  },
  responses: {
    200: { description: 'Deliveries', ...json(z.object({ deliveries: z.array(DeliverySchema) })) },
    ...problemResponses(...COMMON),
  },
});

export const retryWebhookDeliveryRoute = createRoute({
  method: 'post',
  path: '/v1/admin/apps/{name}/webhooks/{id}/deliveries/{deliveryId}/retry',
  operationId: 'retryWebhookDelivery',
  tags: TAGS,
  security: SECURITY,
  summary: 'Send a delivery again now (with the same webhook-id), whatever its status',
  description:
    'Makes the delivery due at once with the whole retry schedule ahead of it; a delivery in flight is not found. Scope `admin`.',
  request: { params: DeliveryParams },
  responses: { 202: { description: 'Queued' }, ...problemResponses(...COMMON) },
});

const FailingEndpointSchema = z
  .object({
    endpointId: z.string(),
    app: z.string(),
    url: z.string(),
    failed: z.number().int().openapi({ description: 'Deliveries that failed for good' }),
    retrying: z.number().int().openapi({ description: 'Deliveries being retried after a failure' }),
    lastError: z.string().nullable(),
    lastStatus: z.number().int().nullable(),
    lastAttemptAt: z.iso.datetime().nullable(),
  })
  .openapi('FailingWebhookEndpoint');

export const failingWebhooksRoute = createRoute({
  method: 'get',
  path: '/v1/admin/webhooks/failing',
  operationId: 'listFailingWebhookEndpoints',
  tags: TAGS,
  security: SECURITY,
  summary: 'Endpoints of every app with failed or retrying deliveries (the dashboard panel)',
  description:
    'The endpoints with the most failed deliveries first, at most 50. The dashboard shows them when its key has the `admin` scope. Scope `admin`.',
  responses: {
    200: {
      description: 'Failing endpoints',
      ...json(z.object({ endpoints: z.array(FailingEndpointSchema) })),
    },
    ...problemResponses('unauthorized', 'forbidden'),
  },
});
