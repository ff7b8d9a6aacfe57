import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AppEnv } from '../http/app-env.js';
import { getClientAddress } from '../http/client-address.js';
import type { FactorCaller, FactorService } from './factors.service.js';
import {
  challengeRoute,
  deleteFactorRoute,
  enrollRoute,
  getFactorRoute,
  listFactorsRoute,
  regenerateRecoveryCodesRoute,
  verifyFactorRoute,
} from './factors.routes.js';

function caller(c: Context<AppEnv>): FactorCaller {
  return {
    app: c.get('principal').app,
    clientIp: getClientAddress(c),
    userAgent: c.req.header('user-agent'),
  };
}

/** Thin handlers: validated input in, service call, JSON out. Errors become problems in app.ts. */
export function createFactorsRouter(
  service: FactorService,
  base: () => OpenAPIHono<AppEnv>,
): OpenAPIHono<AppEnv> {
  const router = base();

  router.openapi(enrollRoute, async (c) => {
    // The secret is in this body: no shared cache may keep it.
    c.header('cache-control', 'no-store');
    return c.json(await service.enroll(caller(c), c.req.valid('json')), 201);
  });

  router.openapi(verifyFactorRoute, async (c) => {
    const { code, signals } = c.req.valid('json');
    c.header('cache-control', 'no-store');
    return c.json(await service.verify(caller(c), c.req.valid('param').id, code, signals), 200);
  });

  router.openapi(challengeRoute, async (c) =>
    c.json(await service.challenge(caller(c), c.req.valid('param').id, c.req.valid('json')), 200),
  );

  router.openapi(listFactorsRoute, async (c) =>
    c.json({ factors: await service.list(caller(c), c.req.valid('query').user) }, 200),
  );

  router.openapi(getFactorRoute, async (c) =>
    c.json(await service.get(caller(c), c.req.valid('param').id), 200),
  );

  router.openapi(deleteFactorRoute, async (c) => {
    await service.remove(caller(c), c.req.valid('param').id);
    return c.body(null, 204);
  });

  router.openapi(regenerateRecoveryCodesRoute, async (c) => {
    c.header('cache-control', 'no-store');
    return c.json(await service.regenerateRecoveryCodes(caller(c), c.req.valid('param').id), 200);
  });

  return router;
}
