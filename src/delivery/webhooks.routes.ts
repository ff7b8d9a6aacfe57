import { createRoute, z } from '@hono/zod-openapi';
import { problemResponses } from '../http/problem.js';

/** Provider status callbacks. Authenticated by their signature, not by an API key. */

const TAGS = ['Webhooks'];
/** No API key: a gateway has none. Each route checks the signature its description names instead. */
const SIGNED_NOT_KEYED: [] = [];

export const HttpStatusBody = z
  .object({
    messageId: z
      .string()
      .min(1)
      .max(128)
      .openapi({ description: 'The id the gateway answered the send with (`id` or `messageId`)' }),
    status: z.enum(['sent', 'delivered', 'failed', 'undelivered']),
    errorCode: z.string().max(64).optional(),
    errorMessage: z.string().max(300).optional(),
  })
  .openapi('HttpGatewayStatus');

export const TwilioStatusBody = z
  .object({
    AccountSid: z.string().max(64).optional(),
    MessageSid: z.string().max(64).optional(),
    MessageStatus: z.string().max(32).optional(),
    CallSid: z.string().max(64).optional(),
    CallStatus: z.string().max(32).optional(),
    ErrorCode: z.string().max(16).optional(),
    ErrorMessage: z.string().max(300).optional(),
  })
  .catchall(z.string())
  .openapi('TwilioStatusCallback', {
    description:
      "Twilio's form-encoded status callback (Messages or Calls); every parameter is signed",
  });

const StatusResult = z
  .object({ result: z.enum(['applied', 'unchanged']) })
  .openapi('StatusCallbackResult');

export const httpStatusRoute = createRoute({
  method: 'post',
  path: '/v1/webhooks/http/status',
  operationId: 'receiveHttpStatus',
  tags: TAGS,
  security: SIGNED_NOT_KEYED,
  summary: 'Delivery status from the generic HTTP gateway',
  description:
    'Signed like outgoing requests: `x-otp-timestamp` (Unix seconds, within 5 minutes) and `x-otp-signature: v1=<hex HMAC-SHA256 of "<timestamp>.<raw body>">` under SMS_HTTP_SECRET or VOICE_HTTP_SECRET. A failed or undelivered SMS of an `auto` verification triggers the flash-call fallback.',
  request: {
    body: { content: { 'application/json': { schema: HttpStatusBody } }, required: true },
  },
  responses: {
    200: {
      description: 'Recorded (or already known)',
      content: { 'application/json': { schema: StatusResult } },
    },
    ...problemResponses(
      'invalid_request',
      'malformed_json',
      'payload_too_large',
      'invalid_signature',
      'not_found',
    ),
  },
});

export const twilioStatusRoute = createRoute({
  method: 'post',
  path: '/v1/webhooks/twilio/status',
  operationId: 'receiveTwilioStatus',
  tags: TAGS,
  security: SIGNED_NOT_KEYED,
  summary: 'Message and call status callbacks from Twilio',
  description:
    'Checked with `X-Twilio-Signature` (base64 HMAC-SHA1 under TWILIO_AUTH_TOKEN of PUBLIC_BASE_URL + path followed by the sorted POST parameters). `failed`/`undelivered` for an SMS triggers the flash-call fallback.',
  request: {
    body: {
      content: { 'application/x-www-form-urlencoded': { schema: TwilioStatusBody } },
      required: true,
    },
  },
  responses: {
    200: {
      description: 'Recorded (or already known, or an intermediate status)',
      content: { 'application/json': { schema: StatusResult } },
    },
    ...problemResponses('invalid_request', 'payload_too_large', 'invalid_signature', 'not_found'),
  },
});
