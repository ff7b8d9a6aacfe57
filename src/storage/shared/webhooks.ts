import { and, desc, eq, inArray, lt, lte, ne, notInArray, or, sql, type SQL } from 'drizzle-orm';
import type {
  FailingEndpoint,
  WebhookAttemptOutcome,
  WebhookDeliveryRecord,
  WebhookDeliveryStatus,
} from '../../webhooks/webhooks.store.js';
import type { Columns } from './sql.js';

/**
 * The rules of the webhook store (webhooks/webhooks.store.ts), the same on both dialects: a
 * delivery moves pending → delivering (a lease) → delivered | pending (a retry) | failed, each step
 * one guarded UPDATE whose guard and SET are below.
 */

type Deliveries = Columns<
  | 'id'
  | 'endpointId'
  | 'app'
  | 'status'
  | 'nextAttemptAt'
  | 'leaseOwner'
  | 'leaseUntil'
  | 'createdAt'
  | 'attempts'
>;
type Endpoints = Columns<'id' | 'app'>;

/** Deliveries a worker may take at `now`: due, or leased by a worker whose lease ran out (it died). */
export function claimable(d: Deliveries, now: number, skipEndpoints: readonly string[]): SQL {
  const due = or(
    and(eq(d.status, 'pending'), lte(d.nextAttemptAt, now)),
    and(eq(d.status, 'delivering'), lt(d.leaseUntil, now)),
  ) as SQL;
  return skipEndpoints.length === 0
    ? due
    : (and(due, notInArray(d.endpointId, [...skipEndpoints])) as SQL);
}

export const leaseSet = (owner: string, now: number, leaseUntil: number) => ({
  status: 'delivering',
  leaseOwner: owner,
  leaseUntil,
  updatedAt: now,
});

/** The delivery while `owner` holds it. */
export const heldBy = (d: Deliveries, id: string, owner: string): SQL =>
  and(eq(d.id, id), eq(d.leaseOwner, owner), eq(d.status, 'delivering')) as SQL;

export const releasedSet = () => ({ status: 'pending', leaseOwner: null, leaseUntil: null });

export function outcomeSet(outcome: WebhookAttemptOutcome) {
  return {
    status: outcome.status,
    attempts: outcome.attempts,
    nextAttemptAt: outcome.nextAttemptAt,
    lastStatus: outcome.lastStatus,
    lastError: outcome.lastError,
    lastResponse: outcome.lastResponse,
    leaseOwner: null,
    leaseUntil: null,
    updatedAt: outcome.at,
    ...(outcome.status === 'delivered' ? { deliveredAt: outcome.at } : {}),
  };
}

export function deliveriesOf(
  d: Deliveries,
  app: string,
  endpointId: string,
  status: WebhookDeliveryStatus | undefined,
): SQL {
  return and(
    eq(d.app, app),
    eq(d.endpointId, endpointId),
    status === undefined ? undefined : eq(d.status, status),
  ) as SQL;
}

export const newestFirst = (d: Deliveries) => [desc(d.createdAt), desc(d.id)];

/** A manual retry: any delivery not in flight, due now, with the whole retry schedule again. */
export const retryable = (d: Deliveries, app: string, endpointId: string, id: string): SQL =>
  and(
    eq(d.id, id),
    eq(d.app, app),
    eq(d.endpointId, endpointId),
    ne(d.status, 'delivering'),
  ) as SQL;

export const retrySet = (now: number) => ({
  status: 'pending',
  attempts: 0,
  nextAttemptAt: now,
  updatedAt: now,
});

export const inQueue = (d: Deliveries): SQL => inArray(d.status, ['pending', 'delivering']);

export const ofEndpoint = (e: Endpoints, app: string, id: string): SQL =>
  and(eq(e.app, app), eq(e.id, id)) as SQL;

/** The columns of the failing-endpoints panel, for a GROUP BY endpoint (id, app, url). */
export function failingColumns(
  e: Columns<'id' | 'app' | 'url'>,
  d: Columns<'status' | 'attempts' | 'updatedAt' | 'lastError' | 'lastStatus'>,
) {
  return {
    endpointId: sql<string>`${e.id}`,
    app: sql<string>`${e.app}`,
    url: sql<string>`${e.url}`,
    failed: sql<number>`sum(case when ${d.status} = 'failed' then 1 else 0 end)`.mapWith(Number),
    retrying: sql<number>`sum(case when ${d.status} <> 'failed' then 1 else 0 end)`.mapWith(Number),
    lastError: sql<string | null>`max(${d.lastError})`,
    lastStatus: sql<number | null>`max(${d.lastStatus})`,
    lastAttemptAt: sql<number | null>`max(${d.updatedAt})`.mapWith(Number),
  };
}

/** Deliveries that failed for good or are being retried after a failure. */
export const troubled = (d: Columns<'status' | 'attempts'>): SQL =>
  or(eq(d.status, 'failed'), and(ne(d.status, 'delivered'), sql`${d.attempts} > 0`)) as SQL;

/** A row as both dialects read it back. */
export const deliveryOf = (row: Record<string, unknown>): WebhookDeliveryRecord =>
  row as unknown as WebhookDeliveryRecord;

export type { FailingEndpoint };
