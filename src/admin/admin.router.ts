import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../http/app-env.js';
import type { AdminService } from './admin.service.js';
import type { AppSettings } from './admin.store.js';
import { createKeyRoute, getAppRoute, listKeysRoute, revokeKeyRoute, rotateSigningKeyRoute, updateAppRoute } from './admin.routes.js';

const iso = (ms: number): string => new Date(ms).toISOString();
const appView = (a: AppSettings) => ({ ...a, createdAt: iso(a.createdAt), updatedAt: iso(a.updatedAt) });

export function createAdminRouter(service: AdminService, rotateSigningKey: () => Promise<string>, base: () => OpenAPIHono<AppEnv>): OpenAPIHono<AppEnv> {
  const router = base();

  router.openapi(createKeyRoute, async (c) => {
    const created = await service.createKey(c.req.valid('json'));
    return c.json({ ...created, createdAt: iso(created.createdAt) }, 201);
  });

  router.openapi(listKeysRoute, async (c) => {
    const keys = await service.listKeys();
    return c.json({ keys: keys.map((k) => ({ ...k, createdAt: iso(k.createdAt), revokedAt: k.revokedAt === null ? null : iso(k.revokedAt) })) }, 200);
  });

  router.openapi(revokeKeyRoute, async (c) => {
    await service.revokeKey(c.req.valid('param').id);
    return c.body(null, 204);
  });

  router.openapi(getAppRoute, async (c) => c.json(appView(await service.getApp(c.req.valid('param').name)), 200));

  router.openapi(updateAppRoute, async (c) => c.json(appView(await service.updateApp(c.req.valid('param').name, c.req.valid('json'))), 200));

  router.openapi(rotateSigningKeyRoute, async (c) => c.json({ kid: await rotateSigningKey() }, 200));

  return router;
}
