import { createRoute, z } from '@hono/zod-openapi';
import { apiKeyScope } from '../http/scopes.js';
import { problemResponses } from '../http/problem.js';
import { Signals } from '../http/signals.js';

/** The public contract of /v1/lists (double opt-in) and the inbound-message webhooks. */

/** Every route here needs an API key with the `optin` scope (enforced from this declaration: http/scopes.ts). */
const SECURITY = apiKeyScope('optin');
const TAGS = ['Marketing lists'];
const json = <T>(schema: T) => ({ content: { 'application/json': { schema } } });

const COMMON = [
  'invalid_request',
  'malformed_json',
  'unsupported_media_type',
  'payload_too_large',
  'unauthorized',
  'forbidden',
] as const;
const START_REFUSALS = [
  'rate_limited',
  'blocked',
  'unsupported_number_type',
  'abuse_suspected',
] as const;
const LOCALE = z
  .string()
  .regex(/^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$/)
  .openapi({
    description: 'BCP 47 language of the messages (en, fr, es, de, uk; others fall back to en)',
    example: 'fr',
  });

const Templates = z
  .object({
    confirmation: z.string().min(1).max(480).optional().openapi({
      description: 'Must contain {code} and the word STOP; {brand} and {list} are filled in',
    }),
    stopped: z
      .string()
      .min(1)
      .max(480)
      .optional()
      .openapi({ description: 'The final message after STOP' }),
    help: z
      .string()
      .min(1)
      .max(480)
      .optional()
      .openapi({ description: "The answer to HELP; {contact} is the list's helpContact" }),
  })
  .strict()
  .openapi('ListTemplates');

export const CreateListBody = z
  .object({
    name: z.string().min(1).max(80).openapi({
      description: 'What people sign up for, as the messages name it',
      example: 'Weekly deals',
    }),
    brand: z.string().min(1).max(40).openapi({ example: 'ACME' }),
    sender: z
      .string()
      .regex(/^(\+[1-9][0-9]{4,14}|[0-9]{3,8}|[A-Za-z0-9 ]{1,11})$/)
      .openapi({
        description:
          'The E.164 number, short code or alphanumeric ID messages go from; replies to it are matched to the list',
        example: '+14155550100',
      }),
    confirmationWindowHours: z
      .number()
      .int()
      .min(1)
      .max(720)
      .optional()
      .openapi({ description: 'How long a sign-up may be confirmed (default 48)' }),
    templates: z
      .partialRecord(z.enum(['en', 'fr', 'es', 'de', 'uk']), Templates)
      .optional()
      .openapi({ description: 'Message texts per locale; missing ones use the built-in texts' }),
    helpContact: z.string().min(1).max(80).optional().openapi({
      description: 'Where HELP points to (URL, e-mail or phone)',
      example: 'acme.example/help',
    }),
  })
  .strict()
  .openapi('CreateList');

export const ListSchema = z
  .object({
    id: z.string().openapi({ example: 'lst_0m3k9c4x5v7w8y2z1a6b3d4e5f' }),
    name: z.string(),
    brand: z.string(),
    sender: z.string(),
    confirmationWindowHours: z.number(),
    templates: z.record(z.string(), Templates),
    helpContact: z.string().nullable(),
    createdAt: z.iso.datetime(),
  })
  .openapi('List');

export const SubscribeBody = z
  .object({
    to: z.string().max(64).openapi({ description: 'E.164 phone number', example: '+14155550123' }),
    consentText: z.string().min(1).max(2000).openapi({
      description: 'The exact consent wording the person agreed to',
      example: 'I agree to receive weekly deals by SMS from ACME. Up to 4 msgs/month.',
    }),
    consentVersion: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .openapi({ description: 'Your version label of the consent text (default: its SHA-256)' }),
    source: z.string().min(1).max(200).openapi({
      description: 'Where the person signed up',
      example: 'https://acme.example/deals#form',
    }),
    locale: LOCALE.optional(),
    signals: Signals.optional().openapi({
      description: "The end user's IP and user agent (default: the caller's)",
    }),
  })
  .strict()
  .openapi('Subscribe');

export const ConfirmBody = z
  .object({
    to: z.string().max(64).openapi({ example: '+14155550123' }),
    code: z
      .string()
      .min(1)
      .max(32)
      .openapi({ description: 'The code of the confirmation SMS', example: '123456' }),
    signals: Signals.optional(),
  })
  .strict()
  .openapi('ConfirmSubscription');

const STATUS = z.enum(['pending', 'confirmed', 'unsubscribed', 'expired']);

export const SubscriberSchema = z
  .object({
    listId: z.string(),
    to: z.string().openapi({ example: '+14155550123' }),
    status: STATUS,
    locale: z.string(),
    requestedAt: z.iso.datetime(),
    expiresAt: z.iso
      .datetime()
      .openapi({ description: 'End of the confirmation window of the latest sign-up' }),
    confirmedAt: z.iso.datetime().nullable(),
    unsubscribedAt: z.iso.datetime().nullable(),
  })
  .openapi('Subscriber');

const SubscriberPage = z
  .object({
    items: z.array(SubscriberSchema),
    nextCursor: z
      .string()
      .nullable()
      .openapi({ description: 'Pass as `cursor` for the next page; null on the last' }),
  })
  .openapi('SubscriberPage');

const LedgerEntrySchema = z
  .object({
    id: z.number().int(),
    at: z.iso.datetime(),
    type: z.enum([
      'requested',
      'message_sent',
      'message_failed',
      'reply_received',
      'confirmed',
      'expired',
      'unsubscribed',
      'help_sent',
    ]),
    channel: z.enum(['api', 'sms', 'web', 'system']),
    ip: z.string().nullable(),
    userAgent: z.string().nullable(),
    source: z.string().nullable(),
    consentText: z.string().nullable(),
    consentTextVersion: z.string().nullable(),
    text: z.string().nullable().openapi({
      description: 'The message sent or received; a code in a sent message is masked (•)',
    }),
    textSha256: z
      .string()
      .nullable()
      .openapi({ description: 'SHA-256 (hex) of the exact text, code included' }),
    details: z.record(z.string(), z.unknown()).nullable(),
  })
  .openapi('ConsentLedgerEntry');

export const ConsentSchema = z
  .object({
    list: ListSchema,
    subscriber: SubscriberSchema,
    trail: z.array(LedgerEntrySchema),
    generatedAt: z.iso.datetime(),
  })
  .openapi('ConsentRecord');

const ListParam = z.object({
  listId: z
    .string()
    .max(64)
    .openapi({ param: { name: 'listId', in: 'path' }, example: 'lst_0m3k9c4x5v7w8y2z1a6b3d4e5f' }),
});
const NumberParams = ListParam.extend({
  number: z
    .string()
    .max(64)
    .openapi({
      param: { name: 'number', in: 'path' },
      description: 'URL-encoded E.164 (%2B14155550123)',
      example: '%2B14155550123',
    }),
});

export const createListRoute = createRoute({
  method: 'post',
  path: '/v1/lists',
  operationId: 'createList',
  tags: TAGS,
  security: SECURITY,
  summary: 'Create a marketing list with double opt-in',
  description:
    'Creates a list whose sign-ups are confirmed by the person (reply YES or enter the code) before they count. A custom confirmation text must contain {code} and the word STOP. Scope `optin`.',
  request: { body: { ...json(CreateListBody), required: true } },
  responses: {
    201: { description: 'Created', ...json(ListSchema) },
    ...problemResponses(...COMMON),
  },
});

export const getListRoute = createRoute({
  method: 'get',
  path: '/v1/lists/{listId}',
  operationId: 'getList',
  tags: TAGS,
  security: SECURITY,
  summary: 'Read a list',
  description: 'One list of the calling app, with its message templates. Scope `optin`.',
  request: { params: ListParam },
  responses: {
    200: { description: 'The list', ...json(ListSchema) },
    ...problemResponses('unauthorized', 'forbidden', 'not_found'),
  },
});

export const subscribeRoute = createRoute({
  method: 'post',
  path: '/v1/lists/{listId}/subscribers',
  operationId: 'subscribeNumber',
  tags: TAGS,
  security: SECURITY,
  summary: 'Sign a number up: send the confirmation request',
  description:
    'Records the request (IP, user agent, source, consent text) and texts the number: reply YES, or enter the code. Limited and abuse-checked like a verification start. A number already confirmed gets 200 and no message.',
  request: { params: ListParam, body: { ...json(SubscribeBody), required: true } },
  responses: {
    200: { description: 'Already confirmed; nothing sent', ...json(SubscriberSchema) },
    202: {
      description: 'Pending: the confirmation request is on its way',
      ...json(SubscriberSchema),
    },
    ...problemResponses(...COMMON, 'not_found', 'invalid_phone', ...START_REFUSALS),
  },
});

export const confirmRoute = createRoute({
  method: 'post',
  path: '/v1/lists/{listId}/subscribers/confirm',
  operationId: 'confirmSubscription',
  tags: TAGS,
  security: SECURITY,
  summary: 'Confirm a sign-up with the code of its SMS (web confirmation)',
  description:
    'The web confirmation: the code of the confirmation SMS, checked like a verification code (attempts counted, locked after OPTIN_MAX_CONFIRM_ATTEMPTS). Confirmation is recorded in the consent ledger with the IP and user agent. Scope `optin`.',
  request: { params: ListParam, body: { ...json(ConfirmBody), required: true } },
  responses: {
    200: { description: 'Confirmed', ...json(SubscriberSchema) },
    ...problemResponses(
      ...COMMON,
      'invalid_phone',
      'not_found',
      'expired',
      'already_used',
      'incorrect_code',
      'max_attempts_exceeded',
      'rate_limited',
    ),
  },
});

export const listSubscribersRoute = createRoute({
  method: 'get',
  path: '/v1/lists/{listId}/subscribers',
  operationId: 'listSubscribers',
  tags: TAGS,
  security: SECURITY,
  summary: 'Page through subscribers (JSON, or CSV with Accept: text/csv or format=csv)',
  description:
    "One page of the subscribers of a list, filtered by status, as JSON or as CSV (cells a spreadsheet would run as a formula get a leading `'`). Scope `optin`.",
  request: {
    params: ListParam,
    query: z.object({
      status: STATUS.optional(),
      cursor: z.string().max(64).optional(),
      limit: z.coerce.number().int().min(1).max(1000).default(100),
      format: z.enum(['json', 'csv']).optional(),
    }),
  },
  responses: {
    200: {
      description:
        'One page; CSV columns: to,status,locale,requested_at,expires_at,confirmed_at,unsubscribed_at (next cursor in the Link header)',
      content: {
        'application/json': { schema: SubscriberPage },
        'text/csv': { schema: z.string() },
      },
    },
    ...problemResponses('invalid_request', 'unauthorized', 'forbidden', 'not_found'),
  },
});

export const unsubscribeRoute = createRoute({
  method: 'delete',
  path: '/v1/lists/{listId}/subscribers/{number}',
  operationId: 'unsubscribeNumber',
  tags: TAGS,
  security: SECURITY,
  summary: 'Unsubscribe a number from this list (no message is sent)',
  description:
    "Unsubscribes the number from this list only, recorded in the ledger with the caller's IP and user agent; no message is sent. Scope `optin`.",
  request: { params: NumberParams },
  responses: {
    200: { description: 'Unsubscribed (or already was)', ...json(SubscriberSchema) },
    ...problemResponses('invalid_phone', 'unauthorized', 'forbidden', 'not_found'),
  },
});

export const consentRoute = createRoute({
  method: 'get',
  path: '/v1/lists/{listId}/subscribers/{number}/consent',
  operationId: 'getConsentRecord',
  tags: TAGS,
  security: SECURITY,
  summary:
    'The consent trail of a number: JSON, or a printable HTML record (Accept: text/html or format=html)',
  description:
    'The whole consent trail of a number on a list (request, messages with codes masked, replies, confirmation, unsubscription), oldest first: JSON, or a printable HTML record without script. Scope `optin`.',
  request: {
    params: NumberParams,
    query: z.object({ format: z.enum(['json', 'html']).optional() }),
  },
  responses: {
    200: {
      description: 'Every ledger entry, oldest first',
      content: {
        'application/json': { schema: ConsentSchema },
        'text/html': { schema: z.string() },
      },
    },
    ...problemResponses('invalid_phone', 'unauthorized', 'forbidden', 'not_found'),
  },
});

// ---- inbound messages ------------------------------------------------------------------------

const WEBHOOK_TAGS = ['Webhooks'];
/** No API key: a gateway has none. Each route checks the signature its description names (the log route is development only). */
const SIGNED_NOT_KEYED: [] = [];

export const InboundJsonBody = z
  .object({
    from: z
      .string()
      .min(1)
      .max(64)
      .openapi({ description: 'The number that sent the message', example: '+14155550123' }),
    to: z.string().min(1).max(64).openapi({
      description: "The list's sender the message was sent to",
      example: '+14155550100',
    }),
    body: z.string().max(1600),
    messageId: z.string().max(128).optional(),
  })
  .openapi('InboundMessage');

export const TwilioInboundBody = z
  .object({
    From: z.string().max(64),
    To: z.string().max(64),
    Body: z.string().max(1600).default(''),
    MessageSid: z.string().max(64).optional(),
  })
  .catchall(z.string())
  .openapi('TwilioInboundMessage', {
    description: "Twilio's form-encoded incoming-message webhook; every parameter is signed",
  });

const InboundResult = z
  .object({ result: z.enum(['confirmed', 'unsubscribed', 'help', 'ignored']) })
  .openapi('InboundResult');

export const logInboundRoute = createRoute({
  method: 'post',
  path: '/v1/webhooks/log/inbound',
  operationId: 'receiveLogInbound',
  tags: WEBHOOK_TAGS,
  security: SIGNED_NOT_KEYED,
  summary: 'An inbound SMS in development (SMS_PROVIDER=log only; unsigned)',
  description:
    'Answers 404 unless SMS_PROVIDER=log, which production refuses: with the log provider there is no real gateway to sign anything.',
  request: { body: { ...json(InboundJsonBody), required: true } },
  responses: {
    200: { description: 'Handled', ...json(InboundResult) },
    ...problemResponses('invalid_request', 'malformed_json', 'payload_too_large', 'not_found'),
  },
});

export const httpInboundRoute = createRoute({
  method: 'post',
  path: '/v1/webhooks/http/inbound',
  operationId: 'receiveHttpInbound',
  tags: WEBHOOK_TAGS,
  security: SIGNED_NOT_KEYED,
  summary: 'An inbound SMS from the generic HTTP gateway',
  description:
    'Signed like the status callback: `x-otp-timestamp` and `x-otp-signature: v1=<hex HMAC-SHA256 of "<timestamp>.<raw body>">` under SMS_HTTP_SECRET.',
  request: { body: { ...json(InboundJsonBody), required: true } },
  responses: {
    200: { description: 'Handled', ...json(InboundResult) },
    ...problemResponses(
      'invalid_request',
      'malformed_json',
      'payload_too_large',
      'invalid_signature',
    ),
  },
});

export const twilioInboundRoute = createRoute({
  method: 'post',
  path: '/v1/webhooks/twilio/inbound',
  operationId: 'receiveTwilioInbound',
  tags: WEBHOOK_TAGS,
  security: SIGNED_NOT_KEYED,
  summary: 'An inbound SMS from Twilio (the number\'s "A message comes in" webhook)',
  description:
    'Checked with `X-Twilio-Signature` like the status callback. Answers empty TwiML: replies (the STOP confirmation, HELP) are sent through the API and recorded.',
  request: {
    body: {
      content: { 'application/x-www-form-urlencoded': { schema: TwilioInboundBody } },
      required: true,
    },
  },
  responses: {
    200: {
      description: 'Handled; empty TwiML',
      content: { 'text/xml': { schema: z.string().openapi({ example: '<Response/>' }) } },
    },
    ...problemResponses('invalid_request', 'payload_too_large', 'invalid_signature'),
  },
});
