import {
  and,
  desc,
  eq,
  inArray,
  lt,
  lte,
  ne,
  notInArray,
  or,
  sql,
  type SQL,
  type Table,
} from 'drizzle-orm';
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

/** Deliveries that need attention: failed for good, or retrying after at least one failed attempt. */
export const troubled = (d: Columns<'status' | 'attempts'>): SQL =>
  or(eq(d.status, 'failed'), and(ne(d.status, 'delivered'), sql`${d.attempts} > 0`)) as SQL;

/**
 * The failing-endpoints panel: per endpoint (id, app, url) with troubled deliveries, how many
 * failed and how many are retrying, the last error, HTTP status and attempt; the most failed first.
 * One statement in either dialect, read back with failingOf.
 */
export function failingEndpointsQuery(
  e: Table & Columns<'id' | 'app' | 'url'>,
  d: Table &
    Columns<'endpointId' | 'status' | 'attempts' | 'updatedAt' | 'lastError' | 'lastStatus'>,
  limit: number,
): SQL {
  return sql`select ${e.id} as endpoint_id, ${e.app} as app, ${e.url} as url,
      sum(case when ${d.status} = 'failed' then 1 else 0 end) as failed,
      sum(case when ${d.status} <> 'failed' then 1 else 0 end) as retrying,
      max(${d.lastError}) as last_error, max(${d.lastStatus}) as last_status,
      max(${d.updatedAt}) as last_attempt_at
    from ${d} inner join ${e} on ${e.id} = ${d.endpointId}
    where ${troubled(d)}
    group by ${e.id}, ${e.app}, ${e.url}
    order by failed desc, ${e.id}
    limit ${limit}`;
}

/** A failingEndpointsQuery row as the drivers return it (node-postgres: sums and bigint maxima as strings). */
export type FailingRow = {
  endpoint_id: string;
  app: string;
  url: string;
  failed: number | string;
  retrying: number | string;
  last_error: string | null;
  last_status: number | string | null;
  last_attempt_at: number | string | null;
};

const numberOrNull = (value: number | string | null): number | null =>
  value === null ? null : Number(value);

export const failingOf = (row: FailingRow): FailingEndpoint => ({
  endpointId: row.endpoint_id,
  app: row.app,
  url: row.url,
  failed: Number(row.failed),
  retrying: Number(row.retrying),
  lastError: row.last_error,
  lastStatus: numberOrNull(row.last_status),
  lastAttemptAt: numberOrNull(row.last_attempt_at),
});

/** A row as both dialects read it back. */
export const deliveryOf = (row: Record<string, unknown>): WebhookDeliveryRecord =>
  row as unknown as WebhookDeliveryRecord;

export type { FailingEndpoint };
