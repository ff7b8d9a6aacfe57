import type { AppStore } from '../admin/admin.store.js';
import type { EventRecord, EventRecorder } from '../events/events.js';
import type { Clock } from '../platform/clock.js';
import { DomainError, type DomainErrorOptions, type Reason } from '../platform/errors.js';
import { newId } from '../platform/ids.js';
import type { TokenIssuer } from '../tokens/tokens.js';
import { canonicalTransaction, transactionHash, type Transaction, type TransactionInput } from '../verification/transaction.js';
import { OPEN_FACTOR_GUARD, type FactorAttempt, type FactorGuard, type FactorOutcome } from './factors.guard.js';
import type { FactorRecord, FactorStore } from './factors.store.js';
import { qrSvg } from './qr.js';
import { RECOVERY_CODE_COUNT, generateRecoveryCode, hashRecoveryCode, normalizeRecoveryCode } from './recovery-codes.js';
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
  regenerateRecoveryCodes(ctx: FactorCaller, id: string): Promise<{ id: string; recoveryCodes: string[] }>;
  /** Re-seals up to `batch` secrets under the current key; returns how many it re-sealed. */
  reseal(batch: number): Promise<number>;
}

type EventFacts = Omit<EventRecord, 'at' | 'kind' | 'reason'>;

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function createFactorService(deps: FactorServiceDeps): FactorService {
  const { store, clock, box, pepper, limits } = deps;
  const guard = deps.guard ?? OPEN_FACTOR_GUARD;

  async function fail(reason: Reason, event: EventFacts, options?: DomainErrorOptions): Promise<never> {
    const details = options?.figures || options?.details ? { ...event.details, ...options.details, ...options.figures } : event.details;
    await deps.events.record({ ...event, at: clock.now(), kind: 'failure', reason, rule: options?.rule, details });
    throw new DomainError(reason, options);
  }

  async function guarded(step: () => Promise<void>, event: EventFacts): Promise<void> {
    try {
      await step();
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      await fail(error.reason, event, { details: error.details, retryAfterSeconds: error.retryAfterSeconds, rule: error.rule, figures: error.figures });
    }
  }

  function facts(ctx: FactorCaller, factor: Pick<FactorRecord, 'id' | 'user'> | undefined, signals?: FactorSignals): EventFacts {
    return {
      app: ctx.app,
      channel: 'totp',
      ip: signals?.ip ?? ctx.clientIp,
      userAgent: signals?.userAgent ?? ctx.userAgent,
      details: factor ? { factorId: factor.id, user: factor.user } : undefined,
    };
  }

  async function view(factor: FactorRecord): Promise<FactorView> {
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
      recoveryCodesRemaining: factor.status === 'verified' ? await store.countUnusedRecoveryCodes(factor.id) : 0,
    };
  }

  async function findOrFail(ctx: FactorCaller, id: string, signals?: FactorSignals): Promise<FactorRecord> {
    const factor = await store.findById(ctx.app, id);
    return factor ?? fail('not_found', { ...facts(ctx, undefined, signals), details: { factorId: id } });
  }

  function secretOf(factor: FactorRecord): Buffer {
    return box.open(factor.secretSealed, factor.id);
  }

  function lockedFor(factor: FactorRecord, now: number): number | undefined {
    return factor.lockedUntil !== null && factor.lockedUntil > now ? Math.ceil((factor.lockedUntil - now) / 1000) : undefined;
  }

  function newRecoveryCodes(factorId: string): { codes: string[]; hashes: string[] } {
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, generateRecoveryCode);
    return { codes, hashes: codes.map((c) => hashRecoveryCode(pepper, factorId, normalizeRecoveryCode(c) ?? c)) };
  }

  /**
   * The shared front of verify and challenge: refuses a locked factor, asks the guard, then takes one
   * attempt in the database. Returns the attempt count and what to tell the guard afterwards.
   */
  async function takeAttempt(ctx: FactorCaller, factor: FactorRecord, kind: FactorAttempt['kind'], signals?: FactorSignals): Promise<{ attempts: number; attempt: FactorAttempt }> {
    const event = facts(ctx, factor, signals);
    const lockedSeconds = lockedFor(factor, clock.now());
    if (lockedSeconds !== undefined) {
      return fail('max_attempts_exceeded', event, { retryAfterSeconds: lockedSeconds, details: { retryAfterSeconds: lockedSeconds }, rule: 'factor:locked' });
    }
    const attempt: FactorAttempt = { app: ctx.app, factorId: factor.id, user: factor.user, kind, ip: event.ip, userAgent: event.userAgent };
    await guarded(() => guard.beforeAttempt(attempt), event);
    const attempts = await store.reserveAttempt(factor.id, clock.now());
    if (attempts === undefined) {
      const current = (await store.findById(ctx.app, factor.id)) ?? factor;
      // Not locked yet: the budget is held by checks still in flight; one of them may lock it or succeed.
      const retryAfterSeconds = lockedFor(current, clock.now()) ?? 1;
      return fail('max_attempts_exceeded', event, { retryAfterSeconds, details: { retryAfterSeconds }, rule: 'factor:attempts', figures: { maxAttempts: factor.maxAttempts } });
    }
    return { attempts, attempt };
  }

  /** A wrong code: locks the factor when that was its last attempt, tells the guard, records, throws. */
  async function wrongCode(ctx: FactorCaller, factor: FactorRecord, attempts: number, attempt: FactorAttempt, rule: string, signals?: FactorSignals): Promise<never> {
    const locked = attempts >= factor.maxAttempts;
    if (locked) await store.lockIfExhausted(factor.id, clock.now() + limits.lockoutSeconds * 1000);
    await guard.afterAttempt(attempt, locked ? 'locked' : 'incorrect');
    const attemptsRemaining = Math.max(0, factor.maxAttempts - attempts);
    return fail('incorrect_code', facts(ctx, factor, signals), { details: { attemptsRemaining }, rule, figures: { attempts, maxAttempts: factor.maxAttempts } });
  }

  async function replayed(ctx: FactorCaller, factor: FactorRecord, attempt: FactorAttempt, step: number, signals?: FactorSignals): Promise<never> {
    await guard.afterAttempt(attempt, 'replayed' satisfies FactorOutcome);
    return fail('already_used', facts(ctx, factor, signals), { rule: 'totp:replay', figures: { step, lastStep: factor.lastStep } });
  }

  return {
    async enroll(ctx, input) {
      const now = clock.now();
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
        secretSealed: box.seal(secret, id),
        lastStep: null,
        attempts: 0,
        maxAttempts: limits.maxAttempts,
        lockedUntil: null,
        createdAt: now,
        verifiedAt: null,
        lastUsedAt: null,
      };
      if (!(await store.createIfBelowLimit(factor, limits.maxPerUser, now - limits.enrolmentTtlSeconds * 1000))) {
        return fail('factor_limit_reached', { ...facts(ctx, factor), details: { user: input.user } }, { details: { maxFactors: limits.maxPerUser }, rule: 'factors:per_user' });
      }
      const secretBase32 = base32(secret);
      const uri = otpauthUri({ issuer: factor.issuer, label: factor.label, secretBase32 });
      await deps.events.record({ ...facts(ctx, factor), at: now, kind: 'success', reason: 'enrolled' });
      return {
        ...(await view(factor)),
        secret: secretBase32,
        otpauthUri: uri,
        qrSvg: await qrSvg(uri),
        algorithm: 'SHA1',
        digits: TOTP_DEFAULTS.digits,
        period: TOTP_DEFAULTS.period,
      };
    },

    async verify(ctx, id, code, signals) {
      const factor = await findOrFail(ctx, id, signals);
      const event = facts(ctx, factor, signals);
      if (factor.status === 'verified') return fail('factor_already_verified', event);
      if (clock.now() - factor.createdAt > limits.enrolmentTtlSeconds * 1000) return fail('expired', event, { rule: 'factor:enrolment_ttl' });
      const { attempts, attempt } = await takeAttempt(ctx, factor, 'verify', signals);
      const step = await matchTotp(secretOf(factor), code, clock.now());
      if (step === undefined) return wrongCode(ctx, factor, attempts, attempt, 'totp', signals);
      const { codes, hashes } = newRecoveryCodes(factor.id);
      if (!(await store.activate(factor.id, step, clock.now(), hashes))) {
        // Lost a race with another activation of the same enrolment.
        const current = await store.findById(ctx.app, id);
        return fail(current ? 'factor_already_verified' : 'not_found', event);
      }
      await guard.afterAttempt(attempt, 'approved');
      await deps.events.record({ ...event, at: clock.now(), kind: 'success', reason: 'factor_verified' });
      const current = (await store.findById(ctx.app, id)) ?? factor;
      return { ...(await view(current)), recoveryCodes: codes };
    },

    async challenge(ctx, id, input) {
      const factor = await findOrFail(ctx, id, input.signals);
      const event = facts(ctx, factor, input.signals);
      if (factor.status !== 'verified') return fail('factor_not_verified', event);
      let transaction: Transaction | null = null;
      if (input.transaction) {
        try {
          transaction = canonicalTransaction(input.transaction);
        } catch (error) {
          if (!(error instanceof DomainError)) throw error;
          return fail(error.reason, event, { details: error.details, rule: 'transaction' });
        }
      }
      const { attempts, attempt } = await takeAttempt(ctx, factor, 'challenge', input.signals);
      let method: ChallengeResult['method'];
      if (input.recoveryCode !== undefined) {
        const normalized = normalizeRecoveryCode(input.recoveryCode);
        const used = normalized !== undefined && (await store.useRecoveryCode(factor.id, hashRecoveryCode(pepper, factor.id, normalized), clock.now()));
        if (!used) return wrongCode(ctx, factor, attempts, attempt, 'recovery_code', input.signals);
        method = 'recovery_code';
      } else {
        const step = await matchTotp(secretOf(factor), input.code ?? '', clock.now());
        if (step === undefined) return wrongCode(ctx, factor, attempts, attempt, 'totp', input.signals);
        // RFC 6238 §5.2: a verifier must not accept the second attempt of a valid code. Refusing every
        // step up to the last accepted one also refuses an older, never-used code of the window.
        if (factor.lastStep !== null && step <= factor.lastStep) return replayed(ctx, factor, attempt, step, input.signals);
        if (!(await store.acceptStep(factor.id, step, clock.now()))) return replayed(ctx, factor, attempt, step, input.signals);
        method = 'totp';
      }
      await guard.afterAttempt(attempt, 'approved');
      const extra: Record<string, unknown> = { factor_id: factor.id, method };
      if (transaction) extra.txn_hash = transactionHash(transaction);
      const challengeId = newId('chl', clock.now());
      const token = await deps.tokens.sign({ subject: factor.user, audience: factor.app, id: challengeId, amr: ['otp'], extra });
      await deps.events.record({ ...event, at: clock.now(), kind: 'success', reason: 'approved', rule: method });
      return { id: challengeId, status: 'approved', method, token, transaction, recoveryCodesRemaining: await store.countUnusedRecoveryCodes(factor.id) };
    },

    async list(ctx, user) {
      return Promise.all((await store.listByUser(ctx.app, user)).map(view));
    },

    async get(ctx, id) {
      return view(await findOrFail(ctx, id));
    },

    async remove(ctx, id) {
      const factor = await findOrFail(ctx, id);
      if (!(await store.delete(ctx.app, id))) return fail('not_found', facts(ctx, factor));
      await deps.events.record({ ...facts(ctx, factor), at: clock.now(), kind: 'success', reason: 'factor_deleted' });
    },

    async regenerateRecoveryCodes(ctx, id) {
      const factor = await findOrFail(ctx, id);
      if (factor.status !== 'verified') return fail('factor_not_verified', facts(ctx, factor));
      const { codes, hashes } = newRecoveryCodes(factor.id);
      if (!(await store.replaceRecoveryCodes(factor.id, hashes, clock.now()))) return fail('not_found', facts(ctx, factor));
      await deps.events.record({ ...facts(ctx, factor), at: clock.now(), kind: 'success', reason: 'recovery_codes_regenerated' });
      return { id: factor.id, recoveryCodes: codes };
    },

    async reseal(batch) {
      let count = 0;
      for (const row of await store.listSealedNotUnder(box.currentKid, batch)) {
        const next = box.seal(box.open(row.secretSealed, row.id), row.id);
        if (await store.replaceSealed(row.id, row.secretSealed, next)) count++;
      }
      return count;
    },
  };
}
