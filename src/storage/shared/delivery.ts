import {
  and,
  eq,
  gt,
  inArray,
  lte,
  ne,
  notInArray,
  or,
  sql,
  type SQL,
  type SQLWrapper,
  type Table,
} from 'drizzle-orm';
import type {
  DeliveryWithVerification,
  DeliveryRecord,
  DeliveryStatus,
} from '../../delivery/delivery.store.js';
import type { Columns, SqlDialect } from './sql.js';
import type { ClaimedFallback, FallbackReason } from '../../verification/fallback.store.js';

/**
 * The rules of the delivery store (delivery/delivery.store.ts), the same on both dialects: a
 * fallback moves scheduled → claimed → done | void, each step one guarded statement whose guard
 * and SET are below; a claim whose instance died is claimable again after its lease.
 */

type Fallbacks = Columns<
  'verificationId' | 'state' | 'dueAt' | 'reason' | 'claimedBy' | 'claimedAt'
>;
type Verifications = Columns<'id' | 'status' | 'expiresAt' | 'maxAttempts' | 'sends'>;
type Deliveries = Columns<'id' | 'status' | 'provider' | 'providerMessageId'>;

/** Verifications a fallback may still be placed for: pending and unexpired. */
export function stillPending(v: Verifications, now: number): SQL | undefined {
  return and(eq(v.status, 'pending'), gt(v.expiresAt, now));
}

/** The ids of stillPending verifications, as a subquery for IN / NOT IN (claimable, voidable). */
export function pendingIds(v: Verifications & Table, now: number): SQL {
  return sql`(select ${v.id} from ${v} where ${stillPending(v, now)})`;
}

/** A new fallback, due at `dueAt` unless something happens first (inserted only if the verification has none). */
export function scheduledFallback(verificationId: string, dueAt: number) {
  return { verificationId, state: 'scheduled', dueAt };
}

/** The fallback of this verification while still scheduled: what an immediate trigger may claim. */
export function scheduledOf(f: Fallbacks, verificationId: string): SQL | undefined {
  return and(eq(f.verificationId, verificationId), eq(f.state, 'scheduled'));
}

/** A claim by `owner` at `now`, for `reason`. */
export function claimedSet(reason: FallbackReason, now: number, owner: string) {
  return { state: 'claimed', reason, claimedBy: owner, claimedAt: now };
}

/**
 * claimRequested as one upsert: a fallback claimed at once when the verification had none, or the
 * scheduled one claimed (`setWhere`), never one already claimed or done.
 */
export function requestedClaim(f: Fallbacks, verificationId: string, now: number, owner: string) {
  return {
    values: {
      verificationId,
      state: 'claimed',
      dueAt: now,
      reason: 'requested',
      claimedBy: owner,
      claimedAt: now,
    },
    set: claimedSet('requested', now, owner),
    setWhere: eq(f.state, 'scheduled'),
  };
}

/** What claimDue may take: due scheduled fallbacks, and claims older than the lease (their instance died). */
export function claimable(f: Fallbacks, now: number, leaseMs: number): SQL | undefined {
  return or(
    and(eq(f.state, 'scheduled'), lte(f.dueAt, now)),
    and(eq(f.state, 'claimed'), lte(f.claimedAt, now - leaseMs)),
  );
}

/** claimDue's claim: a fallback that became due with no reason of its own was due because no check came. */
export function dueClaimSet(f: Fallbacks, now: number, owner: string) {
  return {
    state: 'claimed',
    reason: sql`coalesce(${f.reason}, 'no_check')`,
    claimedBy: owner,
    claimedAt: now,
  };
}

export function asClaimed(row: { verificationId: string; reason: string | null }): ClaimedFallback {
  return {
    verificationId: row.verificationId,
    reason: (row.reason ?? 'no_check') as FallbackReason,
  };
}

/**
 * What voidSettled voids: scheduled fallbacks whose verification is no longer pending (`pendingIds`,
 * the ids of stillPending), and only once due: the row is written just before its verification,
 * and must not be voided in between.
 */
export function voidable(f: Fallbacks, now: number, pendingIds: SQLWrapper): SQL | undefined {
  return and(eq(f.state, 'scheduled'), lte(f.dueAt, now), notInArray(f.verificationId, pendingIds));
}

export function voidedSet(now: number) {
  return { state: 'void', completedAt: now };
}

/** A claim completes only for its current owner: an instance whose lease was taken over changes nothing. */
export function ownedClaim(f: Fallbacks, verificationId: string, owner: string): SQL | undefined {
  return and(eq(f.verificationId, verificationId), eq(f.state, 'claimed'), eq(f.claimedBy, owner));
}

export function completedSet(state: 'done' | 'void', deliveryId: string | null, now: number) {
  return { state, deliveryId, completedAt: now };
}

/** The verification a fallback may switch to a flash call: still pending and unexpired. */
export function switchable(v: Verifications, verificationId: string, now: number): SQL | undefined {
  return and(eq(v.id, verificationId), eq(v.status, 'pending'), gt(v.expiresAt, now));
}

/** A switch to flash call: its code length, an attempt budget never raised by the cap, and one more send. */
export function flashCallSet(
  v: Verifications,
  dialect: SqlDialect,
  now: number,
  codeLength: number,
  maxAttemptsCap: number,
) {
  return {
    channel: 'flashcall',
    codeLength,
    maxAttempts: dialect.least(v.maxAttempts, maxAttemptsCap),
    sends: sql`${v.sends} + 1`,
    lastSentAt: now,
  };
}

export function byProviderMessage(
  d: Deliveries,
  provider: string,
  providerMessageId: string,
): SQL | undefined {
  return and(eq(d.provider, provider), eq(d.providerMessageId, providerMessageId));
}

/** What a delivery looked up by its provider id is read with: its verification's app, number and country. */
export function ownerColumns<V extends Columns<'app' | 'to' | 'country'>>(
  v: V,
): Pick<V, 'app' | 'to' | 'country'> {
  return { app: v.app, to: v.to, country: v.country };
}

export function withVerification(row: {
  delivery: object;
  app: string;
  to: string;
  country: string | null;
}): DeliveryWithVerification {
  return { ...(row.delivery as DeliveryRecord), app: row.app, to: row.to, country: row.country };
}

/**
 * A provider's status applies once, and only to a delivery not yet final: a replayed or reordered
 * callback (delivered, then sent again) changes nothing.
 */
export function statusChangeable(
  d: Deliveries,
  id: string,
  status: DeliveryStatus,
): SQL | undefined {
  return and(eq(d.id, id), inArray(d.status, ['queued', 'sent']), ne(d.status, status));
}

export function statusSet(
  status: DeliveryStatus,
  error: { code: string; message: string } | null,
  now: number,
) {
  return {
    status,
    errorCode: error?.code ?? null,
    errorMessage: error?.message ?? null,
    updatedAt: now,
  };
}
