import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../http/app-env.js';
import type { AdminService } from './admin.service.js';
import {
  createKeyRoute,
  getAppRoute,
  listKeysRoute,
  revokeKeyRoute,
  rotateSigningKeyRoute,
  updateAppRoute,
} from './admin.routes.js';
import { appSettingsView, createdKeyView, keySummaryView } from './admin.views.js';

export function createAdminRouter(
  service: AdminService,
  rotateSigningKey: () => Promise<string>,
  base: () => OpenAPIHono<AppEnv>,
): OpenAPIHono<AppEnv> {
  const router = base();

  router.openapi(createKeyRoute, async (c) => {
    return c.json(createdKeyView(await service.createKey(c.req.valid('json'))), 201);
  });

  router.openapi(listKeysRoute, async (c) => {
    return c.json({ keys: (await service.listKeys()).map(keySummaryView) }, 200);
  });

  router.openapi(revokeKeyRoute, async (c) => {
    await service.revokeKey(c.req.valid('param').id);
    return c.body(null, 204);
  });

  router.openapi(getAppRoute, async (c) =>
    c.json(appSettingsView(await service.getApp(c.req.valid('param').name)), 200),
  );

  router.openapi(updateAppRoute, async (c) =>
    c.json(
      appSettingsView(await service.updateApp(c.req.valid('param').name, c.req.valid('json'))),
      200,
    ),
  );

  router.openapi(rotateSigningKeyRoute, async (c) =>
    c.json({ kid: await rotateSigningKey() }, 200),
  );

  return router;
}
