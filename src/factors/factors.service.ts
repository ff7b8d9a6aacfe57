import type { AppStore } from '../admin/admin.store.js';
import type { EventRecord, EventRecorder } from '../events/events.js';
import type { Clock } from '../platform/clock.js';
import { DomainError, type DomainErrorOptions, type Reason } from '../platform/errors.js';
import { newId } from '../platform/ids.js';
import type { TokenIssuer } from '../tokens/tokens.js';
import {
  canonicalTransaction,
  transactionHash,
  type Transaction,
  type TransactionInput,
} from '../verification/transaction.js';
import {
  OPEN_FACTOR_GUARD,
  type FactorAttempt,
  type FactorGuard,
  type FactorOutcome,
} from './factors.guard.js';
import type { FactorRecord, FactorStore } from './factors.store.js';
import { qrSvg } from './qr.js';
import {
  RECOVERY_CODE_COUNT,
  generateRecoveryCode,
  hashRecoveryCode,
  normalizeRecoveryCode,
} from './recovery-codes.js';
import type { SecretBox } from './secret-box.js';
import { TOTP_DEFAULTS, base32, matchTotp, newTotpSecret, otpauthUri } from './totp.js';

/** The caller as the HTTP layer saw it. */
export interface FactorCaller {
  app: string;
  clientIp: string | undefined;
  userAgent: string | undefined;
}

/** Describes the end user on whose behalf a back end calls. */
export interface FactorSignals {
  ip?: string | undefined;
  userAgent?: string | undefined;
  deviceId?: string | undefined;
}

export interface EnrollInput {
  user: string;
  type: 'totp';
  label?: string | undefined;
  issuer?: string | undefined;
}

export interface FactorView {
  id: string;
  user: string;
  type: 'totp';
  status: 'unverified' | 'verified';
  label: string;
  issuer: string;
  createdAt: string;
  verifiedAt: string | null;
  lastUsedAt: string | null;
  recoveryCodesRemaining: number;
}

export interface Enrolment extends FactorView {
  /** Base32, shown once: the only time the secret leaves the service. */
  secret: string;
  otpauthUri: string;
  qrSvg: string;
  algorithm: 'SHA1';
  digits: number;
  period: number;
}

export interface Activation extends FactorView {
  /** Shown once; only their hashes are stored. */
  recoveryCodes: string[];
}

export interface ChallengeInput {
  code?: string | undefined;
  recoveryCode?: string | undefined;
  transaction?: TransactionInput | undefined;
  signals?: FactorSignals | undefined;
}

export interface ChallengeResult {
  id: string;
  status: 'approved';
  method: 'totp' | 'recovery_code';
  token: string;
  transaction: Transaction | null;
  recoveryCodesRemaining: number;
}

export interface FactorLimits {
  /** Failed attempts before a factor locks (MAX_CHECK_ATTEMPTS, as for verifications). */
  maxAttempts: number;
  /** How long a locked factor refuses every code. */
  lockoutSeconds: number;
  /** Factors a user may have per app. */
  maxPerUser: number;
  /** How long an enrolment may wait for its first code. */
  enrolmentTtlSeconds: number;
}

export interface FactorServiceDeps {
  store: FactorStore;
  apps: AppStore;
  box: SecretBox;
  events: EventRecorder;
  tokens: TokenIssuer;
  clock: Clock;
  pepper: Buffer;
  limits: FactorLimits;
  /** Per-user and per-IP limits; refuses nothing when absent. */
  guard?: FactorGuard;
}

export interface FactorService {
  /** Creates an unverified TOTP factor and returns its secret, once. Throws factor_limit_reached. */
  enroll(ctx: FactorCaller, input: EnrollInput): Promise<Enrolment>;
  /**
   * Activates a factor with its first code and issues recovery codes. Throws not_found,
   * factor_already_verified, expired (enrolment too old), incorrect_code, max_attempts_exceeded.
   */
  verify(ctx: FactorCaller, id: string, code: string, signals?: FactorSignals): Promise<Activation>;
  /**
   * Approves a TOTP code or a recovery code, at most once per time step or recovery code, counting
   * every attempt atomically and recording every failure. Throws not_found, factor_not_verified,
   * incorrect_code, already_used, max_attempts_exceeded, invalid_request (transaction).
   */
  challenge(ctx: FactorCaller, id: string, input: ChallengeInput): Promise<ChallengeResult>;
  list(ctx: FactorCaller, user: string): Promise<FactorView[]>;
  get(ctx: FactorCaller, id: string): Promise<FactorView>;
  /** Deletes a factor and its recovery codes. Throws not_found. */
  remove(ctx: FactorCaller, id: string): Promise<void>;
  /** Replaces the recovery codes of a verified factor; the old ones stop working. */
  regenerateRecoveryCodes(
    ctx: FactorCaller,
    id: string,
  ): Promise<{ id: string; recoveryCodes: string[] }>;
  /** Re-seals up to `batch` secrets under the current key; returns how many it re-sealed. */
  reseal(batch: number): Promise<number>;
}

type EventFacts = Omit<EventRecord, 'at' | 'kind' | 'reason'>;

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** The dependencies as the functions below use them, with the default guard filled in. */
interface ResolvedFactorDeps extends FactorServiceDeps {
  guard: FactorGuard;
}

export function createFactorService(deps: FactorServiceDeps): FactorService {
  const d: ResolvedFactorDeps = { ...deps, guard: deps.guard ?? OPEN_FACTOR_GUARD };
  const viewOf = (factor: FactorRecord): Promise<FactorView> => view(d, factor);
  return {
    enroll: (ctx, input) => enroll(d, ctx, input),
    verify: (ctx, id, code, signals) => verify(d, ctx, id, code, signals),
    challenge: (ctx, id, input) => challenge(d, ctx, id, input),
    list: async (ctx, user) => Promise.all((await d.store.listByUser(ctx.app, user)).map(viewOf)),
    get: async (ctx, id) => view(d, await findOrFail(d, ctx, id)),
    remove: (ctx, id) => remove(d, ctx, id),
    regenerateRecoveryCodes: (ctx, id) => regenerateRecoveryCodes(d, ctx, id),
    reseal: (batch) => reseal(d, batch),
  };
}

async function fail(
  deps: ResolvedFactorDeps,
  reason: Reason,
  event: EventFacts,
  options?: DomainErrorOptions,
): Promise<never> {
  const details =
    options?.figures || options?.details
      ? { ...event.details, ...options.details, ...options.figures }
      : event.details;
  await deps.events.record({
    ...event,
    at: deps.clock.now(),
    kind: 'failure',
    reason,
    rule: options?.rule,
    details,
  });
  throw new DomainError(reason, options);
}

async function guarded(
  deps: ResolvedFactorDeps,
  step: () => Promise<void>,
  event: EventFacts,
): Promise<void> {
  try {
    await step();
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    await fail(deps, error.reason, event, {
      details: error.details,
      retryAfterSeconds: error.retryAfterSeconds,
      rule: error.rule,
      figures: error.figures,
    });
  }
}

function facts(
  ctx: FactorCaller,
  factor: Pick<FactorRecord, 'id' | 'user'> | undefined,
  signals?: FactorSignals,
): EventFacts {
  return {
    app: ctx.app,
    channel: 'totp',
    ip: signals?.ip ?? ctx.clientIp,
    userAgent: signals?.userAgent ?? ctx.userAgent,
    details: factor ? { factorId: factor.id, user: factor.user } : undefined,
  };
}

async function view(deps: ResolvedFactorDeps, factor: FactorRecord): Promise<FactorView> {
  return {
    id: factor.id,
    user: factor.user,
    type: factor.type,
    status: factor.status,
    label: factor.label,
    issuer: factor.issuer,
    createdAt: iso(factor.createdAt) ?? '',
    verifiedAt: iso(factor.verifiedAt),
    lastUsedAt: iso(factor.lastUsedAt),
    recoveryCodesRemaining:
      factor.status === 'verified' ? await deps.store.countUnusedRecoveryCodes(factor.id) : 0,
  };
}

async function findOrFail(
  deps: ResolvedFactorDeps,
  ctx: FactorCaller,
  id: string,
  signals?: FactorSignals,
): Promise<FactorRecord> {
  const factor = await deps.store.findById(ctx.app, id);
  return (
    factor ??
    fail(deps, 'not_found', { ...facts(ctx, undefined, signals), details: { factorId: id } })
  );
}

function secretOf(deps: ResolvedFactorDeps, factor: FactorRecord): Buffer {
  return deps.box.open(factor.secretSealed, factor.id);
}

function lockedFor(factor: FactorRecord, now: number): number | undefined {
  return factor.lockedUntil !== null && factor.lockedUntil > now
    ? Math.ceil((factor.lockedUntil - now) / 1000)
    : undefined;
}

function newRecoveryCodes(
  deps: ResolvedFactorDeps,
  factorId: string,
): { codes: string[]; hashes: string[] } {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, generateRecoveryCode);
  return {
    codes,
    hashes: codes.map((c) =>
      hashRecoveryCode(deps.pepper, factorId, normalizeRecoveryCode(c) ?? c),
    ),
  };
}

/**
 * The shared front of verify and challenge: refuses a locked factor, asks the guard, then takes one
 * attempt in the database. Returns the attempt count and what to tell the guard afterwards.
 */
async function takeAttempt(
  deps: ResolvedFactorDeps,
  ctx: FactorCaller,
  factor: FactorRecord,
  kind: FactorAttempt['kind'],
  signals?: FactorSignals,
): Promise<{ attempts: number; attempt: FactorAttempt }> {
  const { store, clock } = deps;
  const event = facts(ctx, factor, signals);
  const lockedSeconds = lockedFor(factor, clock.now());
  if (lockedSeconds !== undefined) {
    return fail(deps, 'max_attempts_exceeded', event, {
      retryAfterSeconds: lockedSeconds,
      details: { retryAfterSeconds: lockedSeconds },
      rule: 'factor:locked',
    });
  }
  const attempt: FactorAttempt = {
    app: ctx.app,
    factorId: factor.id,
    user: factor.user,
    kind,
    ip: event.ip,
    userAgent: event.userAgent,
  };
  await guarded(deps, () => deps.guard.beforeAttempt(attempt), event);
  const attempts = await store.reserveAttempt(factor.id, clock.now());
  if (attempts === undefined) {
    const current = (await store.findById(ctx.app, factor.id)) ?? factor;
    // Not locked yet: the budget is held by checks still in flight; one of them may lock it or succeed.
    const retryAfterSeconds = lockedFor(current, clock.now()) ?? 1;
    return fail(deps, 'max_attempts_exceeded', event, {
      retryAfterSeconds,
      details: { retryAfterSeconds },
      rule: 'factor:attempts',
      figures: { maxAttempts: factor.maxAttempts },
    });
  }
  return { attempts, attempt };
}

/** A wrong code: locks the factor when that was its last attempt, tells the guard, records, throws. */
async function wrongCode(
  deps: ResolvedFactorDeps,
  ctx: FactorCaller,
  factor: FactorRecord,
  attempts: number,
  attempt: FactorAttempt,
  rule: string,
  signals?: FactorSignals,
): Promise<never> {
  const locked = attempts >= factor.maxAttempts;
  if (locked)
    await deps.store.lockIfExhausted(
      factor.id,
      deps.clock.now() + deps.limits.lockoutSeconds * 1000,
    );
  await deps.guard.afterAttempt(attempt, locked ? 'locked' : 'incorrect');
  const attemptsRemaining = Math.max(0, factor.maxAttempts - attempts);
  return fail(deps, 'incorrect_code', facts(ctx, factor, signals), {
    details: { attemptsRemaining },
    rule,
    figures: { attempts, maxAttempts: factor.maxAttempts },
  });
}

async function replayed(
  deps: ResolvedFactorDeps,
  ctx: FactorCaller,
  factor: FactorRecord,
  attempt: FactorAttempt,
  step: number,
  signals?: FactorSignals,
): Promise<never> {
  await deps.guard.afterAttempt(attempt, 'replayed' satisfies FactorOutcome);
  return fail(deps, 'already_used', facts(ctx, factor, signals), {
    rule: 'totp:replay',
    figures: { step, lastStep: factor.lastStep },
  });
}

async function enroll(
  deps: ResolvedFactorDeps,
  ctx: FactorCaller,
  input: EnrollInput,
): Promise<Enrolment> {
  const { limits } = deps;
  const now = deps.clock.now();
  const settings = await deps.apps.get(ctx.app);
  const id = newId('fac', now);
  const secret = newTotpSecret();
  const factor: FactorRecord = {
    id,
    app: ctx.app,
    user: input.user,
    type: 'totp',
    status: 'unverified',
    label: input.label ?? input.user,
    issuer: input.issuer ?? settings?.brand ?? ctx.app,
    secretSealed: deps.box.seal(secret, id),
    lastStep: null,
    attempts: 0,
    maxAttempts: limits.maxAttempts,
    lockedUntil: null,
    createdAt: now,
    verifiedAt: null,
    lastUsedAt: null,
  };
  if (
    !(await deps.store.createIfBelowLimit(
      factor,
      limits.maxPerUser,
      now - limits.enrolmentTtlSeconds * 1000,
    ))
  ) {
    return fail(
      deps,
      'factor_limit_reached',
      { ...facts(ctx, factor), details: { user: input.user } },
      { details: { maxFactors: limits.maxPerUser }, rule: 'factors:per_user' },
    );
  }
  const secretBase32 = base32(secret);
  const uri = otpauthUri({ issuer: factor.issuer, label: factor.label, secretBase32 });
  await deps.events.record({ ...facts(ctx, factor), at: now, kind: 'success', reason: 'enrolled' });
  return {
    ...(await view(deps, factor)),
    secret: secretBase32,
    otpauthUri: uri,
    qrSvg: await qrSvg(uri),
    algorithm: 'SHA1',
    digits: TOTP_DEFAULTS.digits,
    period: TOTP_DEFAULTS.period,
  };
}

async function verify(
  deps: ResolvedFactorDeps,
  ctx: FactorCaller,
  id: string,
  code: string,
  signals?: FactorSignals,
): Promise<Activation> {
  const { store, clock } = deps;
  const factor = await findOrFail(deps, ctx, id, signals);
  const event = facts(ctx, factor, signals);
  if (factor.status === 'verified') return fail(deps, 'factor_already_verified', event);
  if (clock.now() - factor.createdAt > deps.limits.enrolmentTtlSeconds * 1000)
    return fail(deps, 'expired', event, { rule: 'factor:enrolment_ttl' });
  const { attempts, attempt } = await takeAttempt(deps, ctx, factor, 'verify', signals);
  const step = await matchTotp(secretOf(deps, factor), code, clock.now());
  if (step === undefined) return wrongCode(deps, ctx, factor, attempts, attempt, 'totp', signals);
  const { codes, hashes } = newRecoveryCodes(deps, factor.id);
  if (!(await store.activate(factor.id, step, clock.now(), hashes))) {
    // Lost a race with another activation of the same enrolment.
    const current = await store.findById(ctx.app, id);
    return fail(deps, current ? 'factor_already_verified' : 'not_found', event);
  }
  await deps.guard.afterAttempt(attempt, 'approved');
  await deps.events.record({
    ...event,
    at: clock.now(),
    kind: 'success',
    reason: 'factor_verified',
  });
  const current = (await store.findById(ctx.app, id)) ?? factor;
  return { ...(await view(deps, current)), recoveryCodes: codes };
}

async function challenge(
  deps: ResolvedFactorDeps,
  ctx: FactorCaller,
  id: string,
  input: ChallengeInput,
): Promise<ChallengeResult> {
  const { store, clock } = deps;
  const factor = await findOrFail(deps, ctx, id, input.signals);
  const event = facts(ctx, factor, input.signals);
  if (factor.status !== 'verified') return fail(deps, 'factor_not_verified', event);
  let transaction: Transaction | null = null;
  if (input.transaction) {
    try {
      transaction = canonicalTransaction(input.transaction);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      return fail(deps, error.reason, event, { details: error.details, rule: 'transaction' });
    }
  }
  const { attempts, attempt } = await takeAttempt(deps, ctx, factor, 'challenge', input.signals);
  let method: ChallengeResult['method'];
  if (input.recoveryCode !== undefined) {
    const normalized = normalizeRecoveryCode(input.recoveryCode);
    const used =
      normalized !== undefined &&
      (await store.useRecoveryCode(
        factor.id,
        hashRecoveryCode(deps.pepper, factor.id, normalized),
        clock.now(),
      ));
    if (!used)
      return wrongCode(deps, ctx, factor, attempts, attempt, 'recovery_code', input.signals);
    method = 'recovery_code';
  } else {
    const step = await matchTotp(secretOf(deps, factor), input.code ?? '', clock.now());
    if (step === undefined)
      return wrongCode(deps, ctx, factor, attempts, attempt, 'totp', input.signals);
    // RFC 6238 §5.2: a verifier must not accept the second attempt of a valid code. Refusing every
    // step up to the last accepted one also refuses an older, never-used code of the window.
    if (factor.lastStep !== null && step <= factor.lastStep)
      return replayed(deps, ctx, factor, attempt, step, input.signals);
    if (!(await store.acceptStep(factor.id, step, clock.now())))
      return replayed(deps, ctx, factor, attempt, step, input.signals);
    method = 'totp';
  }
  await deps.guard.afterAttempt(attempt, 'approved');
  const extra: Record<string, unknown> = { factor_id: factor.id, method };
  if (transaction) extra.txn_hash = transactionHash(transaction);
  const challengeId = newId('chl', clock.now());
  const token = await deps.tokens.sign({
    subject: factor.user,
    audience: factor.app,
    id: challengeId,
    amr: ['otp'],
    extra,
  });
  await deps.events.record({
    ...event,
    at: clock.now(),
    kind: 'success',
    reason: 'approved',
    rule: method,
  });
  return {
    id: challengeId,
    status: 'approved',
    method,
    token,
    transaction,
    recoveryCodesRemaining: await store.countUnusedRecoveryCodes(factor.id),
  };
}

async function remove(deps: ResolvedFactorDeps, ctx: FactorCaller, id: string): Promise<void> {
  const factor = await findOrFail(deps, ctx, id);
  if (!(await deps.store.delete(ctx.app, id))) return fail(deps, 'not_found', facts(ctx, factor));
  await deps.events.record({
    ...facts(ctx, factor),
    at: deps.clock.now(),
    kind: 'success',
    reason: 'factor_deleted',
  });
}

async function regenerateRecoveryCodes(
  deps: ResolvedFactorDeps,
  ctx: FactorCaller,
  id: string,
): Promise<{ id: string; recoveryCodes: string[] }> {
  const factor = await findOrFail(deps, ctx, id);
  if (factor.status !== 'verified') return fail(deps, 'factor_not_verified', facts(ctx, factor));
  const { codes, hashes } = newRecoveryCodes(deps, factor.id);
  if (!(await deps.store.replaceRecoveryCodes(factor.id, hashes, deps.clock.now())))
    return fail(deps, 'not_found', facts(ctx, factor));
  await deps.events.record({
    ...facts(ctx, factor),
    at: deps.clock.now(),
    kind: 'success',
    reason: 'recovery_codes_regenerated',
  });
  return { id: factor.id, recoveryCodes: codes };
}

async function reseal(deps: ResolvedFactorDeps, batch: number): Promise<number> {
  const { store, box } = deps;
  let count = 0;
  for (const row of await store.listSealedNotUnder(box.currentKid, batch)) {
    const next = box.seal(box.open(row.secretSealed, row.id), row.id);
    if (await store.replaceSealed(row.id, row.secretSealed, next)) count++;
  }
  return count;
}
