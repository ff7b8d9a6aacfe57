import type { VerificationRecord } from './verification.store.js';

export type FallbackReason = 'provider_failed' | 'delivery_failed' | 'no_check' | 'requested';
export type FallbackState = 'scheduled' | 'claimed' | 'done' | 'void';

export interface FallbackRecord {
  verificationId: string;
  state: FallbackState;
  dueAt: number;
  reason: FallbackReason | null;
  claimedBy: string | null;
  claimedAt: number | null;
  completedAt: number | null;
  deliveryId: string | null;
}

export interface ClaimedFallback {
  verificationId: string;
  reason: FallbackReason;
}

/**
 * Storage of the flash-call fallback of verifications. Every transition is one guarded statement,
 * so its contract holds under concurrent callers and across instances sharing the database.
 */
export interface FallbackStore {
  /** Records that this verification falls back to a flash call at `dueAt` unless something happens first. */
  scheduleFallback(verificationId: string, dueAt: number): Promise<void>;
  /**
   * scheduled → claimed now, for an immediate trigger. Under concurrent callers (and the scheduler)
   * exactly one receives true; false when there is no scheduled fallback.
   */
  claimScheduled(
    verificationId: string,
    reason: FallbackReason,
    now: number,
    owner: string,
  ): Promise<boolean>;
  /**
   * The client asked for a flash call: claims the scheduled fallback, or creates a claimed one when
   * the verification had none. Exactly one concurrent caller receives true; false when a fallback
   * was already claimed or done.
   */
  claimRequested(verificationId: string, now: number, owner: string): Promise<boolean>;
  /**
   * Claims up to `limit` fallbacks that are due at `now` for verifications still pending and
   * unexpired, plus claims older than `leaseMs` never completed (their instance died). Each row is
   * returned to exactly one caller across all instances.
   */
  claimDue(now: number, owner: string, leaseMs: number, limit: number): Promise<ClaimedFallback[]>;
  /**
   * scheduled → void for due fallbacks whose verification is not pending (approved, canceled,
   * expired, or never written because its instance crashed right after scheduling). Never touches
   * a fallback before it is due: its verification may not be written yet.
   */
  voidSettled(now: number): Promise<number>;
  /** claimed → done | void, iff still claimed by `owner`. */
  completeFallback(
    verificationId: string,
    owner: string,
    state: 'done' | 'void',
    deliveryId: string | null,
    now: number,
  ): Promise<void>;
  findFallback(verificationId: string): Promise<FallbackRecord | undefined>;
  /**
   * Switches a pending, unexpired verification to flash call: channel, code length, an attempt
   * budget capped at `maxAttemptsCap` (shared with the SMS codes already sent), and one more send.
   * Returns the updated verification, or undefined when it is no longer pending.
   */
  switchToFlashCall(
    verificationId: string,
    now: number,
    codeLength: number,
    maxAttemptsCap: number,
  ): Promise<VerificationRecord | undefined>;
}
