import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyWebhookSignature } from '../delivery/http.provider.js';
import { verifyTwilioSignature } from '../delivery/twilio.provider.js';
import type { WebhookSecrets } from '../delivery/webhooks.router.js';
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

/** Refuses an unsigned or mis-signed inbound message before its body is used: 401 invalid_signature, recorded. */
function requireSignature(provider: 'http' | 'twilio', deps: InboundRouterDeps, verify: (c: Context<AppEnv>) => Promise<boolean>): MiddlewareHandler<AppEnv> {
  return async function requireInboundSignature(c, next) {
    if (!(await verify(c))) {
      await deps.events.record({
        at: deps.clock.now(),
        kind: 'failure',
        reason: 'invalid_signature',
        rule: `webhook:${provider}:inbound`,
        provider,
        ip: getClientAddress(c),
        userAgent: c.req.header('user-agent'),
      });
      return problem(c, 'invalid_signature');
    }
    await next();
  };
}

function formParams(raw: string): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(raw)) params[key] = value;
  return params;
}

/** POST /v1/webhooks/{log,http,twilio}/inbound: replies to opt-in messages (YES, STOP, HELP). */
export function createInboundRouter(deps: InboundRouterDeps, base: () => OpenAPIHono<AppEnv>): OpenAPIHono<AppEnv> {
  const router = base();

  const logOnly: MiddlewareHandler<AppEnv> = async function logInboundOnlyInDevelopment(c, next) {
    if (!deps.logInbound) return problem(c, 'not_found');
    await next();
  };
  router.use(logInboundRoute.path, logOnly);
  router.use(
    httpInboundRoute.path,
    requireSignature('http', deps, async (c) =>
      verifyWebhookSignature(deps.secrets.httpSecrets, c.req.header(SIGNATURE_HEADER), c.req.header(TIMESTAMP_HEADER), await c.req.text(), deps.clock.now()),
    ),
  );
  router.use(
    twilioInboundRoute.path,
    requireSignature('twilio', deps, async (c) => {
      const token = deps.secrets.twilioAuthToken;
      if (!token) return false;
      const url = new URL(c.req.url);
      const signedUrl = deps.secrets.publicBaseUrl ? `${deps.secrets.publicBaseUrl}${url.pathname}${url.search}` : url.toString();
      return verifyTwilioSignature(token, c.req.header('x-twilio-signature'), signedUrl, formParams(await c.req.text()));
    }),
  );

  router.openapi(logInboundRoute, async (c) => {
    const body = c.req.valid('json');
    return c.json({ result: await deps.optin.inbound({ provider: 'log', ...body, ip: getClientAddress(c) }) }, 200);
  });

  router.openapi(httpInboundRoute, async (c) => {
    const body = c.req.valid('json');
    return c.json({ result: await deps.optin.inbound({ provider: 'http', ...body, ip: getClientAddress(c) }) }, 200);
  });

  router.openapi(twilioInboundRoute, async (c) => {
    const form = c.req.valid('form');
    await deps.optin.inbound({ provider: 'twilio', from: form.From, to: form.To, body: form.Body, messageId: form.MessageSid, ip: getClientAddress(c) });
    return c.body('<?xml version="1.0" encoding="UTF-8"?><Response/>', 200, { 'content-type': 'text/xml; charset=utf-8' });
  });

  return router;
}
