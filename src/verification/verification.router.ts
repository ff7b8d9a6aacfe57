import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AppEnv } from '../http/app-env.js';
import { getClientAddress } from '../http/client-address.js';
import type { CallerContext, VerificationService } from './verification.service.js';
import {
  cancelRoute,
  checkByNumberRoute,
  checkRoute,
  getRoute,
  resendRoute,
  startRoute,
} from './verification.routes.js';

function caller(c: Context<AppEnv>): CallerContext {
  return {
    app: c.get('principal').app,
    clientIp: getClientAddress(c),
    userAgent: c.req.header('user-agent'),
    onLimitState: (state) => c.set('limitState', state),
  };
}

/** Thin handlers: validated input in, service call, JSON out. Errors become problems in app.ts. */
export function createVerificationRouter(
  service: VerificationService,
  base: () => OpenAPIHono<AppEnv>,
): OpenAPIHono<AppEnv> {
  const router = base();

  router.openapi(startRoute, async (c) => {
    const body = c.req.valid('json');
    return c.json(await service.start(caller(c), body), 201);
  });

  router.openapi(checkByNumberRoute, async (c) => {
    const { to, code, signals, transaction } = c.req.valid('json');
    return c.json(await service.checkByNumber(caller(c), to, code, signals, { transaction }), 200);
  });

  router.openapi(checkRoute, async (c) => {
    const { code, signals, transaction } = c.req.valid('json');
    return c.json(
      await service.check(caller(c), c.req.valid('param').id, code, signals, { transaction }),
      200,
    );
  });

  router.openapi(getRoute, async (c) =>
    c.json(await service.get(caller(c), c.req.valid('param').id), 200),
  );

  router.openapi(cancelRoute, async (c) =>
    c.json(await service.cancel(caller(c), c.req.valid('param').id), 200),
  );

  router.openapi(resendRoute, async (c) => {
    const body = c.req.valid('json');
    return c.json(await service.resend(caller(c), c.req.valid('param').id, body.channel), 200);
  });

  return router;
}
