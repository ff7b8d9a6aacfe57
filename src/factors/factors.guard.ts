/** A factor verification or challenge as per-user and per-IP limits see it. */
export interface FactorAttempt {
  app: string;
  factorId: string;
  user: string;
  kind: 'verify' | 'challenge';
  /** The end user's IP: `signals.ip` when given, the connection's address otherwise. */
  ip: string | undefined;
  userAgent: string | undefined;
}

export type FactorOutcome = 'approved' | 'incorrect' | 'locked' | 'replayed';

/**
 * Limits around factor codes beyond the per-factor attempt count the store enforces (per user
 * across factors, per IP). A refusal is a thrown DomainError (rate_limited, …) carrying its `rule`
 * and `figures`; the service records it as a failure and rethrows it. The default refuses nothing.
 */
export interface FactorGuard {
  beforeAttempt(attempt: FactorAttempt): Promise<void>;
  /** Told the outcome of every attempt that was counted. */
  afterAttempt(attempt: FactorAttempt, outcome: FactorOutcome): Promise<void>;
}

export const OPEN_FACTOR_GUARD: FactorGuard = {
  beforeAttempt: () => Promise.resolve(),
  afterAttempt: () => Promise.resolve(),
};
