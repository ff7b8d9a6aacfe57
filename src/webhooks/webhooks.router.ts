import type { OpenAPIHono } from '@hono/zod-openapi';
import type { WebhookEventType } from '../events/webhooks.js';
import type { AppEnv } from '../http/app-env.js';
import type { WebhookService } from './webhooks.service.js';
import {
  createWebhookRoute,
  deleteWebhookRoute,
  failingWebhooksRoute,
  listWebhookDeliveriesRoute,
  listWebhooksRoute,
  retryWebhookDeliveryRoute,
  rotateWebhookSecretRoute,
} from './webhooks.routes.js';

type Events = ('*' | WebhookEventType)[];

export function createWebhooksRouter(
  service: WebhookService,
  base: () => OpenAPIHono<AppEnv>,
): OpenAPIHono<AppEnv> {
  const router = base();
  router.openapi(createWebhookRoute, async (c) => {
    const created = await service.create(c.req.valid('param').name, c.req.valid('json'));
    return c.json({ ...created, events: created.events as Events }, 201);
  });
  router.openapi(listWebhooksRoute, async (c) => {
    const endpoints = await service.list(c.req.valid('param').name);
    return c.json({ endpoints: endpoints.map((e) => ({ ...e, events: e.events as Events })) }, 200);
  });
  router.openapi(deleteWebhookRoute, async (c) => {
    const { name, id } = c.req.valid('param');
    await service.remove(name, id);
    return c.body(null, 204);
  });
  router.openapi(rotateWebhookSecretRoute, async (c) => {
    const { name, id } = c.req.valid('param');
    const rotated = await service.rotateSecret(name, id);
    return c.json({ ...rotated, events: rotated.events as Events }, 200);
  });
  router.openapi(listWebhookDeliveriesRoute, async (c) => {
    const { name, id } = c.req.valid('param');
    const deliveries = await service.deliveries(name, id, c.req.valid('query'));
    return c.json(
      { deliveries: deliveries.map((d) => ({ ...d, type: d.type as Events[number] })) },
      200,
    );
  });
  router.openapi(retryWebhookDeliveryRoute, async (c) => {
    const { name, id, deliveryId } = c.req.valid('param');
    await service.retry(name, id, deliveryId);
    return c.body(null, 202);
  });
  router.openapi(failingWebhooksRoute, async (c) => {
    const endpoints = await service.failing(50);
    return c.json(
      {
        endpoints: endpoints.map((e) => ({
          ...e,
          lastAttemptAt: e.lastAttemptAt === null ? null : new Date(e.lastAttemptAt).toISOString(),
        })),
      },
      200,
    );
  });
  return router;
}
