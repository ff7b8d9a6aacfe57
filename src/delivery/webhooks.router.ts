import type { OpenAPIHono } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import type { EventRecorder } from '../events/events.js';
import type { AppEnv } from '../http/app-env.js';
import { getClientAddress } from '../http/client-address.js';
import { problem } from '../http/problem.js';
import type { Clock } from '../platform/clock.js';
import { DomainError } from '../platform/errors.js';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyWebhookSignature } from './http.provider.js';
import type { DeliveryStatusService, StatusReport } from './status.service.js';
import { verifyTwilioSignature } from './twilio.provider.js';
import { httpStatusRoute, twilioStatusRoute } from './webhooks.routes.js';

export interface WebhookSecrets {
  /** Secrets of the configured http gateways; empty when none is configured (every callback is refused). */
  httpSecrets: string[];
  twilioAuthToken: string | undefined;
  /** The URL Twilio was given; the signed URL is built from it, not from what a proxy forwarded. */
  publicBaseUrl: string | undefined;
}

export interface WebhookRouterDeps {
  statuses: DeliveryStatusService;
  secrets: WebhookSecrets;
  events: EventRecorder;
  clock: Clock;
}

const TWILIO_MESSAGE_STATUS: Record<string, StatusReport['status'] | undefined> = {
  sent: 'sent',
  delivered: 'delivered',
  read: 'delivered',
  failed: 'failed',
  undelivered: 'undelivered',
  canceled: 'failed',
};

// A flash call has done its job once the phone rang: answered or not, the caller ID is in the call log.
const TWILIO_CALL_STATUS: Record<string, StatusReport['status'] | undefined> = {
  ringing: 'delivered',
  'in-progress': 'delivered',
  completed: 'delivered',
  'no-answer': 'delivered',
  busy: 'failed',
  failed: 'failed',
  canceled: 'failed',
};

/**
 * Refuses a callback whose signature does not verify, before its body is parsed or anything is
 * changed: 401 `invalid_signature`, recorded as a failure with the provider as rule.
 */
function requireSignature(provider: 'http' | 'twilio', deps: WebhookRouterDeps, verify: (c: Parameters<MiddlewareHandler<AppEnv>>[0]) => Promise<boolean>): MiddlewareHandler<AppEnv> {
  return async function requireSignatureMiddleware(c, next) {
    if (!(await verify(c))) {
      await deps.events.record({
        at: deps.clock.now(),
        kind: 'failure',
        reason: 'invalid_signature',
        rule: `webhook:${provider}`,
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

export function createWebhookRouter(deps: WebhookRouterDeps, base: () => OpenAPIHono<AppEnv>): OpenAPIHono<AppEnv> {
  const router = base();

  router.use(
    httpStatusRoute.path,
    requireSignature('http', deps, async (c) =>
      verifyWebhookSignature(deps.secrets.httpSecrets, c.req.header(SIGNATURE_HEADER), c.req.header(TIMESTAMP_HEADER), await c.req.text(), deps.clock.now()),
    ),
  );
  router.use(
    twilioStatusRoute.path,
    requireSignature('twilio', deps, async (c) => {
      const token = deps.secrets.twilioAuthToken;
      if (!token) return false;
      const url = new URL(c.req.url);
      const signedUrl = deps.secrets.publicBaseUrl ? `${deps.secrets.publicBaseUrl}${url.pathname}${url.search}` : url.toString();
      return verifyTwilioSignature(token, c.req.header('x-twilio-signature'), signedUrl, formParams(await c.req.text()));
    }),
  );

  router.openapi(httpStatusRoute, async (c) => {
    const body = c.req.valid('json');
    const error = body.errorCode || body.errorMessage ? { code: body.errorCode ?? 'unknown', message: body.errorMessage ?? '' } : null;
    const outcome = await deps.statuses.apply({ provider: 'http', providerMessageId: body.messageId, status: body.status, error });
    if (outcome === 'unknown') throw new DomainError('not_found');
    return c.json({ result: outcome }, 200);
  });

  router.openapi(twilioStatusRoute, async (c) => {
    const form = c.req.valid('form');
    const isCall = form.CallSid !== undefined;
    const sid = form.CallSid ?? form.MessageSid;
    const raw = isCall ? form.CallStatus : form.MessageStatus;
    if (!sid || !raw) throw new DomainError('invalid_request', { details: { errors: [{ path: 'MessageSid', message: 'a MessageSid with MessageStatus or a CallSid with CallStatus is required' }] } });
    const status = (isCall ? TWILIO_CALL_STATUS : TWILIO_MESSAGE_STATUS)[raw];
    // queued, accepted, sending, initiated…: intermediate states that change nothing.
    if (!status) return c.json({ result: 'unchanged' as const }, 200);
    const error = form.ErrorCode ? { code: `twilio_${form.ErrorCode}`, message: form.ErrorMessage ?? '' } : null;
    const outcome = await deps.statuses.apply({ provider: 'twilio', providerMessageId: sid, status, error });
    if (outcome === 'unknown') throw new DomainError('not_found');
    return c.json({ result: outcome }, 200);
  });

  return router;
}
