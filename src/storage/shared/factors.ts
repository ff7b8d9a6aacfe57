import { and, eq, isNull, lt, lte, or, sql, type SQL } from 'drizzle-orm';
import type { FactorRecord } from '../../factors/factors.store.js';
import { newId } from '../../platform/ids.js';
import type { Columns, RowOf } from './sql.js';

/**
 * The rules of the factor store (factors/factors.store.ts), the same on both dialects: the guards
 * that make attempts, activation, time steps and recovery codes one-winner transitions (RFC 6238
 * §5.2: a time step is accepted once), and what each writes.
 */

type Factors = Columns<
  | 'id'
  | 'app'
  | 'user'
  | 'status'
  | 'createdAt'
  | 'attempts'
  | 'maxAttempts'
  | 'lockedUntil'
  | 'lastStep'
  | 'secretSealed'
>;
type RecoveryCodes = Columns<'factorId' | 'codeHash' | 'usedAt'>;

export function asFactor(row: RowOf<FactorRecord>): FactorRecord {
  return row as FactorRecord;
}

export function ofApp(f: Factors, id: string, app: string): SQL | undefined {
  return and(eq(f.id, id), eq(f.app, app));
}

/** Every factor of one user of one app: what the per-user limit counts. */
export function ofUser(f: Factors, app: string, user: string): SQL | undefined {
  return and(eq(f.app, app), eq(f.user, user));
}

/** A user's enrolments never completed and older than `staleBefore`: removed before the limit is counted, so they do not hold its places. */
export function staleUnverified(
  f: Factors,
  app: string,
  user: string,
  staleBefore: number,
): SQL | undefined {
  return and(
    eq(f.app, app),
    eq(f.user, user),
    eq(f.status, 'unverified'),
    lt(f.createdAt, staleBefore),
  );
}

/** reserveAttempt's guard: not locked at `now`, and an attempt left. */
export function attemptAllowed(f: Factors, id: string, now: number): SQL | undefined {
  return and(
    eq(f.id, id),
    or(isNull(f.lockedUntil), lte(f.lockedUntil, now)),
    lt(f.attempts, f.maxAttempts),
  );
}

export function attemptSet(f: Factors) {
  return { attempts: sql`${f.attempts} + 1` };
}

/** A factor whose attempts are used up, locked by lockIfExhausted. */
export function exhausted(f: Factors, id: string): SQL | undefined {
  return and(eq(f.id, id), sql`${f.attempts} >= ${f.maxAttempts}`);
}

/** Locked until `until`, with a fresh budget of attempts for then. */
export function lockedSet(until: number) {
  return { lockedUntil: until, attempts: 0 };
}

/** A time step later than the last one accepted: an earlier or equal one is a replay. */
function laterStep(f: Factors, step: number): SQL | undefined {
  return or(isNull(f.lastStep), lt(f.lastStep, step));
}

export function activatable(f: Factors, id: string, step: number): SQL | undefined {
  return and(eq(f.id, id), eq(f.status, 'unverified'), laterStep(f, step));
}

export function activatedSet(step: number, now: number) {
  return { status: 'verified', lastStep: step, attempts: 0, verifiedAt: now, lastUsedAt: now };
}

export function stepAcceptable(f: Factors, id: string, step: number): SQL | undefined {
  return and(eq(f.id, id), eq(f.status, 'verified'), laterStep(f, step));
}

export function acceptedSet(step: number, now: number) {
  return { lastStep: step, attempts: 0, lastUsedAt: now };
}

/** The recovery code rows of a factor, one per hash, unused. */
export function recoveryCodeRows(factorId: string, codeHashes: readonly string[], now: number) {
  return codeHashes.map((codeHash) => ({
    id: newId('rcv', now),
    factorId,
    codeHash,
    createdAt: now,
    usedAt: null,
  }));
}

export function unusedCode(r: RecoveryCodes, factorId: string, codeHash: string): SQL | undefined {
  return and(eq(r.factorId, factorId), eq(r.codeHash, codeHash), isNull(r.usedAt));
}

export function unusedCodes(r: RecoveryCodes, factorId: string): SQL | undefined {
  return and(eq(r.factorId, factorId), isNull(r.usedAt));
}

/** A recovery code used: the factor's failed attempts are forgiven, as after a right code. */
export function recoveredSet(now: number) {
  return { attempts: 0, lastUsedAt: now };
}

export function verifiedById(f: Factors, id: string): SQL | undefined {
  return and(eq(f.id, id), eq(f.status, 'verified'));
}

/** The prefix of a secret sealed under key `kid` (`v1.<kid>.…`), compared as a prefix, never with LIKE: key ids may contain `_`. */
export function sealedPrefix(kid: string): string {
  return `v1.${kid}.`;
}

/** replaceSealed's guard: the secret is still the one read (a concurrent re-seal wins once). */
export function sealedAs(f: Factors, id: string, previous: string): SQL | undefined {
  return and(eq(f.id, id), eq(f.secretSealed, previous));
}
