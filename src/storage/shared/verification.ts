import { and, eq, gt, isNull, lt, lte, or, sql, type SQL } from 'drizzle-orm';
import type { SendSlot, VerificationRecord } from '../../verification/verification.store.js';
import type { Columns, Operand, RowOf, SqlDialect, Written } from './sql.js';
import type { DeliveryRecord } from '../../delivery/delivery.store.js';

/**
 * The rules of the verification store (verification/verification.store.ts), the same on both
 * dialects: which rows a transition may change (its guard), what it writes (its SET) and what a
 * refusal means. The dialect stores run them: SQLite as statements prepared once on a synchronous
 * connection, PostgreSQL as named prepared statements and data-modifying CTEs.
 */

const p = sql.placeholder;

type Verifications = Columns<
  | 'id'
  | 'app'
  | 'to'
  | 'status'
  | 'expiresAt'
  | 'attempts'
  | 'maxAttempts'
  | 'sends'
  | 'maxSends'
  | 'lastSentAt'
>;

/** This app's verification by id: another app's id is not found. */
export function ofApp(
  v: Verifications,
  id: Operand<string>,
  app: Operand<string>,
): SQL | undefined {
  return and(eq(v.id, id), eq(v.app, app));
}

/** The number's verifications of one app that are pending and unexpired at `now` (the newest is the one a check matches). */
export function pendingFor(
  v: Verifications,
  app: Operand<string>,
  to: Operand<string>,
  now: Operand<number>,
): SQL | undefined {
  return and(eq(v.app, app), eq(v.to, to), eq(v.status, 'pending'), gt(v.expiresAt, now));
}

/**
 * The guard of every check attempt, with the placeholders `id` and `now`: pending, unexpired and
 * below its attempt limit. Approving and failing attempts share it, so at most `maxAttempts`
 * attempts are ever taken, and none once approved.
 */
export function attemptOpen(v: Verifications): SQL | undefined {
  return and(
    eq(v.id, p('id')),
    eq(v.status, 'pending'),
    gt(v.expiresAt, p('now')),
    lt(v.attempts, v.maxAttempts),
  );
}

/** The attempt that matched (placeholders `now`, `channel`): one attempt taken, pending → approved. */
export function approvingSet(v: Verifications, dialect: SqlDialect) {
  return {
    attempts: sql`${v.attempts} + 1`,
    status: 'approved',
    approvedAt: dialect.typed(p('now'), 'bigint'),
    approvedChannel: dialect.typed(p('channel'), 'text'),
  };
}

/** The attempt that did not match: one attempt taken, and locked when it was the last. */
export function failingSet(v: Verifications) {
  return {
    attempts: sql`${v.attempts} + 1`,
    // SET reads the row as it was: its last attempt is the one that makes attempts + 1 reach the limit.
    status: sql`case when ${v.attempts} + 1 >= ${v.maxAttempts} then 'locked' else ${v.status} end`,
  };
}

/** What a taken attempt returns (TakenAttempt), in the dialect's own column types. */
export function takenColumns<C extends Columns<'attempts' | 'status'>>(
  v: C,
): { attempts: C['attempts']; status: C['status'] } {
  return { attempts: v.attempts, status: v.status };
}

/** What cancelPending may cancel: this app's verification, still pending and unexpired. */
export function cancelable(
  v: Verifications,
  id: Operand<string>,
  app: Operand<string>,
  now: Operand<number>,
): SQL | undefined {
  return and(eq(v.id, id), eq(v.app, app), eq(v.status, 'pending'), gt(v.expiresAt, now));
}

export function canceledSet(now: Written<number>) {
  return { status: 'canceled', canceledAt: now };
}

/**
 * The guard of reserveSend: pending, unexpired, below its send limit, and the last send at least a
 * cooldown old (`sentBefore` = now − cooldown).
 */
export function sendable(
  v: Verifications,
  id: Operand<string>,
  now: Operand<number>,
  sentBefore: Operand<number>,
): SQL | undefined {
  return and(
    eq(v.id, id),
    eq(v.status, 'pending'),
    gt(v.expiresAt, now),
    lt(v.sends, v.maxSends),
    or(isNull(v.lastSentAt), lte(v.lastSentAt, sentBefore)),
  );
}

export function sentSet(v: Verifications, now: Written<number>) {
  return { sends: sql`${v.sends} + 1`, lastSentAt: now };
}

/**
 * Why reserveSend's guarded UPDATE refused, read from the row afterwards only to say it (the
 * decision was the UPDATE's): gone or settled, expired, out of sends, or still cooling down.
 */
export function refusedSend(
  current:
    | Pick<RowOf<VerificationRecord>, 'status' | 'expiresAt' | 'sends' | 'maxSends' | 'lastSentAt'>
    | undefined,
  now: number,
  cooldownMs: number,
): SendSlot {
  if (!current || current.status !== 'pending') return { ok: false, why: 'not_pending' };
  if (current.expiresAt <= now) return { ok: false, why: 'expired' };
  if (current.sends >= current.maxSends) return { ok: false, why: 'max_sends' };
  return { ok: false, why: 'cooldown', retryAt: (current.lastSentAt ?? now) + cooldownMs };
}

/** What completeDelivery records of the provider's answer, from the placeholders named after DeliveryRecord's fields. */
export function completionSet(dialect: SqlDialect) {
  return {
    status: dialect.typed(p('status'), 'text'),
    providerMessageId: dialect.typed(p('providerMessageId'), 'text'),
    errorCode: dialect.typed(p('errorCode'), 'text'),
    errorMessage: dialect.typed(p('errorMessage'), 'text'),
    updatedAt: dialect.typed(p('updatedAt'), 'bigint'),
  } satisfies Partial<Record<keyof DeliveryRecord, SQL>>;
}
