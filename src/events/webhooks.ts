import { newId } from '../platform/ids.js';
import type { EventRecord } from './events.js';
import { maskNumber } from './number-protection.js';

/**
 * The outgoing webhook events (docs/webhooks.md). Each is derived from an entry of the event record
 * (events.ts) as it is written, so an event goes out iff its record was committed: the outbox row
 * is part of the same write as the record, which is itself part of the same write as the change it
 * describes (see webhookFor and storage/shared/events.ts).
 */
export const WEBHOOK_EVENT_TYPES = [
  'verification.started',
  'verification.approved',
  'verification.failed',
  'delivery.failed',
  'fallback.started',
  'abuse.refused',
  'optin.confirmed',
  'optin.stopped',
  'factor.locked',
] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** What an event carries: ids, the app, the channel, a reason, the masked number; never a code or a full number. */
export type WebhookData = Record<string, string | number | boolean | string[] | null>;

/** The refusals that are abuse rules firing (limits/guard.ts), as opposed to a caller's mistakes. */
const ABUSE_REASONS = new Set([
  'rate_limited',
  'blocked',
  'unsupported_number_type',
  'abuse_suspected',
]);

const detail = (event: EventRecord, key: string): unknown => event.details?.[key];

/** The webhook event a record of the event log stands for, if any (data without app and ids added below). */
export function webhookEventOf(
  event: EventRecord,
): { type: WebhookEventType; data: WebhookData } | undefined {
  const v = event.verificationId;
  const base: WebhookData = {};
  if (v !== undefined) base.verificationId = v;
  if (event.channel !== undefined) base.channel = event.channel;
  if (event.number !== undefined) base.to = maskNumber(event.number);
  if (event.country !== undefined) base.country = event.country;
  const exhausted = event.reason === 'incorrect_code' && detail(event, 'attemptsRemaining') === 0;
  if (event.kind === 'success') {
    if (v === undefined) return optinEvent(event, base);
    if (event.reason === 'started') return { type: 'verification.started', data: base };
    if (event.reason === 'approved') return { type: 'verification.approved', data: base };
    if (event.reason === 'canceled')
      return { type: 'verification.failed', data: { ...base, reason: 'canceled' } };
    if (event.reason === 'fallback')
      return {
        type: 'fallback.started',
        data: { ...base, channel: 'flashcall', reason: String(detail(event, 'fallbackReason')) },
      };
    return undefined;
  }
  if (event.kind !== 'failure') return undefined;
  if (v !== undefined && exhausted)
    return { type: 'verification.failed', data: { ...base, reason: 'max_attempts_exceeded' } };
  if (v !== undefined && event.reason === 'expired')
    return { type: 'verification.failed', data: { ...base, reason: 'expired' } };
  if (event.reason === 'delivery_failed') {
    const errorCode = event.providerError?.split(':')[0] ?? null;
    return {
      type: 'delivery.failed',
      data: { ...base, provider: event.provider ?? null, errorCode, reason: 'delivery_failed' },
    };
  }
  const factorId = detail(event, 'factorId');
  if (exhausted && typeof factorId === 'string')
    return {
      type: 'factor.locked',
      data: { factorId, user: String(detail(event, 'user')), channel: 'totp' },
    };
  if (ABUSE_REASONS.has(event.reason) && event.rule !== undefined)
    return { type: 'abuse.refused', data: { ...base, reason: event.reason, rule: event.rule } };
  return undefined;
}

function optinEvent(
  event: EventRecord,
  base: WebhookData,
): { type: WebhookEventType; data: WebhookData } | undefined {
  const listId = detail(event, 'listId');
  const lists = detail(event, 'lists');
  const data: WebhookData = { ...base };
  if (typeof listId === 'string') data.listId = listId;
  if (Array.isArray(lists)) data.listIds = lists.map(String);
  if (event.reason === 'optin_confirmed') return { type: 'optin.confirmed', data };
  if (event.reason === 'optin_unsubscribed') return { type: 'optin.stopped', data };
  return undefined;
}

/** Which apps' endpoints subscribe to which types: a snapshot read synchronously on the write path. */
export interface WebhookSubscriptions {
  /** True when an endpoint of `app` subscribes to `type` (or to `*`). */
  wants(app: string, type: WebhookEventType): boolean;
  /** True when `app` has any endpoint: checked first, so an app without one pays a map lookup only. */
  hasAny?(app: string): boolean;
}

/**
 * The outbox entry attached to an event record as it is written (the `webhook` column), which the
 * database turns into one delivery row per subscribed endpoint in the same statement: its JSON
 * `{ id, type, body }`, `body` being the exact text that will be signed and sent.
 */
export function webhookFor(
  subscriptions: WebhookSubscriptions,
  event: EventRecord,
): string | undefined {
  if (event.app === undefined || subscriptions.hasAny?.(event.app) === false) return undefined;
  const found = webhookEventOf(event);
  if (found === undefined || !subscriptions.wants(event.app, found.type)) return undefined;
  return outboxEntry(event.app, found.type, event.at, found.data);
}

/** The outbox entry of one event: a fresh webhook-id, and the body that is signed and sent. */
export function outboxEntry(
  app: string,
  type: WebhookEventType,
  at: number,
  data: WebhookData,
): string {
  const body = JSON.stringify({
    type,
    timestamp: new Date(at).toISOString(),
    data: { app, ...data },
  });
  return JSON.stringify({ id: newId('msg', at), type, body });
}
