import type { OpenAPIHono } from '@hono/zod-openapi';
import type { EventRecorder } from '../events/events.js';
import type { AppEnv } from '../http/app-env.js';
import type { Clock } from '../platform/clock.js';
import { DomainError } from '../platform/errors.js';
import type { DeliveryStatusService, StatusReport } from './status.service.js';
import { twilioErrorMessage } from './twilio.errors.js';
import { httpStatusRoute, twilioStatusRoute } from './webhooks.routes.js';
import { requireWebhookSignature, type WebhookSecrets } from './webhooks.auth.js';

export type { WebhookSecrets } from './webhooks.auth.js';

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

export function createWebhookRouter(
  deps: WebhookRouterDeps,
  base: () => OpenAPIHono<AppEnv>,
): OpenAPIHono<AppEnv> {
  const router = base();

  router.use(httpStatusRoute.path, requireWebhookSignature('http', 'webhook:http', deps));
  router.use(twilioStatusRoute.path, requireWebhookSignature('twilio', 'webhook:twilio', deps));

  router.openapi(httpStatusRoute, async (c) => {
    const body = c.req.valid('json');
    const error =
      body.errorCode || body.errorMessage
        ? { code: body.errorCode ?? 'unknown', message: body.errorMessage ?? '' }
        : null;
    const outcome = await deps.statuses.apply({
      provider: 'http',
      providerMessageId: body.messageId,
      status: body.status,
      error,
    });
    if (outcome === 'unknown') throw new DomainError('not_found');
    return c.json({ result: outcome }, 200);
  });

  router.openapi(twilioStatusRoute, async (c) => {
    const form = c.req.valid('form');
    const isCall = form.CallSid !== undefined;
    const sid = form.CallSid ?? form.MessageSid;
    const raw = isCall ? form.CallStatus : form.MessageStatus;
    if (!sid || !raw)
      throw new DomainError('invalid_request', {
        details: {
          errors: [
            {
              path: 'MessageSid',
              message: 'a MessageSid with MessageStatus or a CallSid with CallStatus is required',
            },
          ],
        },
      });
    const status = (isCall ? TWILIO_CALL_STATUS : TWILIO_MESSAGE_STATUS)[raw];
    // queued, accepted, sending, initiated…: intermediate states that change nothing.
    if (!status) return c.json({ result: 'unchanged' as const }, 200);
    const error = form.ErrorCode
      ? {
          code: `twilio_${form.ErrorCode}`,
          message: twilioErrorMessage(form.ErrorCode, form.ErrorMessage),
        }
      : null;
    const outcome = await deps.statuses.apply({
      provider: 'twilio',
      providerMessageId: sid,
      status,
      error,
    });
    if (outcome === 'unknown') throw new DomainError('not_found');
    return c.json({ result: outcome }, 200);
  });

  return router;
}
