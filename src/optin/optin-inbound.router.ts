import type { OpenAPIHono } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { requireWebhookSignature, type WebhookSecrets } from '../delivery/webhooks.auth.js';
import type { EventRecorder } from '../events/events.js';
import type { AppEnv } from '../http/app-env.js';
import { getClientAddress } from '../http/client-address.js';
import { problem } from '../http/problem.js';
import type { Clock } from '../platform/clock.js';
import type { OptinService } from './optin.service.js';
import { httpInboundRoute, logInboundRoute, twilioInboundRoute } from './optin.routes.js';

export interface InboundRouterDeps {
  optin: OptinService;
  secrets: WebhookSecrets;
  /** True only with SMS_PROVIDER=log (never in production): the unsigned development route. */
  logInbound: boolean;
  events: EventRecorder;
  clock: Clock;
}

/** POST /v1/webhooks/{log,http,twilio}/inbound: replies to opt-in messages (YES, STOP, HELP). */
export function createInboundRouter(
  deps: InboundRouterDeps,
  base: () => OpenAPIHono<AppEnv>,
): OpenAPIHono<AppEnv> {
  const router = base();

  const logOnly: MiddlewareHandler<AppEnv> = async function logInboundOnlyInDevelopment(c, next) {
    if (!deps.logInbound) return problem(c, 'not_found');
    await next();
  };
  router.use(logInboundRoute.path, logOnly);
  router.use(httpInboundRoute.path, requireWebhookSignature('http', 'webhook:http:inbound', deps));
  router.use(
    twilioInboundRoute.path,
    requireWebhookSignature('twilio', 'webhook:twilio:inbound', deps),
  );

  router.openapi(logInboundRoute, async (c) => {
    const body = c.req.valid('json');
    return c.json(
      { result: await deps.optin.inbound({ provider: 'log', ...body, ip: getClientAddress(c) }) },
      200,
    );
  });

  router.openapi(httpInboundRoute, async (c) => {
    const body = c.req.valid('json');
    return c.json(
      { result: await deps.optin.inbound({ provider: 'http', ...body, ip: getClientAddress(c) }) },
      200,
    );
  });

  router.openapi(twilioInboundRoute, async (c) => {
    const form = c.req.valid('form');
    await deps.optin.inbound({
      provider: 'twilio',
      from: form.From,
      to: form.To,
      body: form.Body,
      messageId: form.MessageSid,
      ip: getClientAddress(c),
    });
    return c.body('<?xml version="1.0" encoding="UTF-8"?><Response/>', 200, {
      'content-type': 'text/xml; charset=utf-8',
    });
  });

  return router;
}
