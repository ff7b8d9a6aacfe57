import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../http/app-env.js';
import type { AppLimitsService, AppLimitsView } from './app-limits.service.js';
import { getAppLimitsRoute, putAppLimitsRoute } from './app-limits.routes.js';

const limitsView = (v: AppLimitsView) => ({
  ...v,
  updatedAt: v.updatedAt === null ? null : new Date(v.updatedAt).toISOString(),
});

export function createAppLimitsRouter(
  service: AppLimitsService,
  base: () => OpenAPIHono<AppEnv>,
): OpenAPIHono<AppEnv> {
  const router = base();
  router.openapi(getAppLimitsRoute, async (c) =>
    c.json(limitsView(await service.get(c.req.valid('param').name)), 200),
  );
  router.openapi(putAppLimitsRoute, async (c) =>
    c.json(limitsView(await service.put(c.req.valid('param').name, c.req.valid('json'))), 200),
  );
  return router;
}
