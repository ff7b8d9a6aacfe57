import type { PhoneNumber } from '../platform/phone.js';

/** The tightest rate limit a request consumed, as the RateLimit-* headers report it. */
export interface LimitState {
  /** The rule's name, e.g. `number:10m`. */
  policy: string;
  limit: number;
  remaining: number;
  windowSeconds: number;
  resetSeconds: number;
}

/** Receives the limit state of an allowed or refused attempt (the HTTP layer turns it into headers). */
export type LimitStateSink = (state: LimitState) => void;

/** A start (or resend) as the limits and abuse rules see it, before anything is persisted or sent. */
export interface StartAttempt {
  app: string;
  phone: PhoneNumber;
  channel: 'sms' | 'flashcall' | 'auto';
  /** The end user's IP: `signals.ip` when given, the connection's address otherwise. */
  ip: string | undefined;
  /** The connection's address (the calling back end, or the end user when called directly). */
  clientIp: string | undefined;
  userAgent: string | undefined;
  deviceId: string | undefined;
  purpose: string | undefined;
  /** Set for a resend of an existing verification. */
  verificationId?: string | undefined;
  onLimitState?: LimitStateSink | undefined;
}

/** A check as the limits see it. */
export interface CheckAttempt {
  app: string;
  verificationId: string;
  to: string;
  country: string | null;
  ip: string | undefined;
  userAgent: string | undefined;
  onLimitState?: LimitStateSink | undefined;
}

export type CheckOutcome = 'approved' | 'incorrect' | 'locked';

/**
 * Limits and abuse rules around the verification flow. A refusal is a thrown DomainError
 * (rate_limited, blocked, …) carrying its `rule` and `figures`; the service records it as a
 * failure and rethrows it. The default guard refuses nothing.
 */
export interface VerificationGuard {
  beforeStart(attempt: StartAttempt): Promise<void>;
  beforeCheck(attempt: CheckAttempt): Promise<void>;
  /** Told the outcome of every check that consumed an attempt. */
  afterCheck(attempt: CheckAttempt, outcome: CheckOutcome): Promise<void>;
}

export const OPEN_GUARD: VerificationGuard = {
  beforeStart: () => Promise.resolve(),
  beforeCheck: () => Promise.resolve(),
  afterCheck: () => Promise.resolve(),
};
