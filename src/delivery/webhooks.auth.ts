import type { MiddlewareHandler } from 'hono';
import type { EventRecorder } from '../events/events.js';
import type { AppEnv } from '../http/app-env.js';
import { getClientAddress } from '../http/client-address.js';
import { problem } from '../http/problem.js';
import type { Clock } from '../platform/clock.js';
import {
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  verifyTwilioSignature,
  verifyWebhookSignature,
} from './signatures.js';

export interface WebhookSecrets {
  /** Secrets of the configured http gateways; empty when none is configured (every callback is refused). */
  httpSecrets: string[];
  twilioAuthToken: string | undefined;
  /** The URL Twilio was given; the signed URL is built from it, not from what a proxy forwarded. */
  publicBaseUrl: string | undefined;
}

export interface WebhookSignatureDeps {
  secrets: WebhookSecrets;
  events: EventRecorder;
  clock: Clock;
}

function formParams(raw: string): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(raw)) params[key] = value;
  return params;
}

/**
 * Refuses a webhook (status callback or inbound message) whose signature does not verify, before
 * its body is parsed or anything is changed: 401 `invalid_signature`, recorded as a failure with
 * `rule` (e.g. `webhook:twilio`). http gateways sign with HMAC-SHA256 and a timestamp; Twilio with
 * X-Twilio-Signature over the public URL and the form parameters.
 */
export function requireWebhookSignature(
  provider: 'http' | 'twilio',
  rule: string,
  deps: WebhookSignatureDeps,
): MiddlewareHandler<AppEnv> {
  const verify = async (c: Parameters<MiddlewareHandler<AppEnv>>[0]): Promise<boolean> => {
    const raw = await c.req.text();
    if (provider === 'http') {
      return verifyWebhookSignature(
        deps.secrets.httpSecrets,
        c.req.header(SIGNATURE_HEADER),
        c.req.header(TIMESTAMP_HEADER),
        raw,
        deps.clock.now(),
      );
    }
    const token = deps.secrets.twilioAuthToken;
    if (!token) return false;
    const url = new URL(c.req.url);
    const signedUrl = deps.secrets.publicBaseUrl
      ? `${deps.secrets.publicBaseUrl}${url.pathname}${url.search}`
      : url.toString();
    return verifyTwilioSignature(
      token,
      c.req.header('x-twilio-signature'),
      signedUrl,
      formParams(raw),
    );
  };
  return async function requireWebhookSignatureMiddleware(c, next) {
    if (!(await verify(c))) {
      await deps.events.record({
        at: deps.clock.now(),
        kind: 'failure',
        reason: 'invalid_signature',
        rule,
        provider,
        ip: getClientAddress(c),
        userAgent: c.req.header('user-agent'),
      });
      return problem(c, 'invalid_signature');
    }
    await next();
  };
}
