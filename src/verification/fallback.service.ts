import type { Clock } from '../platform/clock.js';
import { newId } from '../platform/ids.js';
import type { EventRecord, EventRecorder } from '../events/events.js';
import { hashCode, type CodeBinding } from './codes.js';
import { parseTransaction, transactionHash } from './transaction.js';
import type { VerificationRecord, VerificationStore } from './verification.store.js';
import type { Channel, DeliveryRecord } from '../delivery/delivery.store.js';
import { drawCallerNumber, type FlashCallPlan } from '../delivery/flashcall.js';
import { redactCode, type SendResult, type VoiceProvider } from '../delivery/provider.js';
import type {
  ClaimedFallback,
  FallbackReason,
  FallbackState,
  FallbackStore,
} from './fallback.store.js';

/** What GET /v1/verifications/{id} shows of a verification's fallback. */
export interface FallbackView {
  state: FallbackState;
  /** Why it fell back (null while only scheduled). */
  reason: FallbackReason | null;
  /** When the timed fallback is (or was) due. */
  dueAt: string;
  /** When the flash call was placed (or the fallback voided). */
  completedAt: string | null;
}

/**
 * Flash calls and the fallback to them. Used by the verification service (first channel, fallback
 * triggers), the webhook routes (status callbacks) and the scheduler (timed fallbacks).
 */
export interface FlashCalls {
  /** N: digits of the code, the last N of the calling number. */
  readonly codeLength: number;
  /** Attempt budget for a verification that (also) went by flash call: lower when N < 6. */
  readonly maxAttempts: number;
  /** A freshly drawn calling number and the delivery row that stores its code's hash (not yet saved). */
  /** `binding` ties the code to a transaction, as for SMS codes (see verification/codes.ts). */
  prepare(
    verificationId: string,
    now: number,
    binding?: CodeBinding,
  ): { delivery: DeliveryRecord; from: string };
  /** Places the call of a saved delivery row and records the provider's answer; never throws for a provider failure. */
  place(v: VerificationRecord, delivery: DeliveryRecord, from: string): Promise<SendResult>;
  /** Persists the timed fallback of a verification started under `auto`. */
  schedule(verificationId: string, dueAt: number): Promise<void>;
  /**
   * Falls back now, at most once per verification across instances: claims the fallback (the
   * scheduled one, or for `requested` a new one), switches the verification to flash call and
   * places the call. False when another trigger already claimed it or none was scheduled.
   */
  fallBack(verificationId: string, reason: FallbackReason): Promise<boolean>;
  /** One scheduler tick: voids settled fallbacks, claims the due ones and places their calls. Returns calls placed. */
  runDue(limit?: number): Promise<number>;
  describe(verificationId: string): Promise<FallbackView | null>;
}

export interface FlashCallDeps {
  plan: FlashCallPlan;
  voice: VoiceProvider;
  verifications: VerificationStore;
  store: FallbackStore;
  events: EventRecorder;
  clock: Clock;
  pepper: Buffer;
  /** Attempt budget when N < 6 (OWASP ASVS 2.7.6: a code under ~20 bits gets fewer guesses). */
  weakCodeMaxAttempts: number;
  defaultMaxAttempts: number;
  /** A claim older than this is taken over: its instance died before placing the call. */
  leaseMs: number;
  onDelivery?: (channel: Channel, provider: string, status: string) => void;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** Six random digits are the 20-bit minimum of OWASP ASVS 2.7.6 / NIST SP 800-63B §5.1.3.1. */
export const STRONG_CODE_LENGTH = 6;

/** The dependencies as the functions below use them, with what the factory decides once: this instance's claim owner and the attempt budget. */
interface ResolvedFlashCallDeps extends FlashCallDeps {
  owner: string;
  maxAttempts: number;
}

export function createFlashCalls(deps: FlashCallDeps): FlashCalls {
  const owner = newId('ins', deps.clock.now());
  const maxAttempts =
    deps.plan.codeLength < STRONG_CODE_LENGTH
      ? Math.min(deps.weakCodeMaxAttempts, deps.defaultMaxAttempts)
      : deps.defaultMaxAttempts;
  const d: ResolvedFlashCallDeps = { ...deps, owner, maxAttempts };
  return {
    codeLength: deps.plan.codeLength,
    maxAttempts,
    prepare: (verificationId, now, binding) => prepare(d, verificationId, now, binding),
    place: (v, delivery, from) => place(d, v, delivery, from),
    schedule: (verificationId, dueAt) => d.store.scheduleFallback(verificationId, dueAt),
    fallBack: (verificationId, reason) => fallBack(d, verificationId, reason),
    runDue: (limit) => runDue(d, limit),
    describe: (verificationId) => describe(d, verificationId),
  };
}

function facts(
  deps: ResolvedFlashCallDeps,
  v: VerificationRecord,
): Omit<EventRecord, 'at' | 'kind' | 'reason'> {
  return {
    app: v.app,
    channel: 'flashcall',
    number: v.to,
    country: v.country ?? undefined,
    verificationId: v.id,
    provider: deps.voice.name,
    // The end user who started the verification (see lifecycleFacts in verification.service.ts).
    ip: v.endUserIp ?? v.clientIp ?? undefined,
  };
}

function prepare(
  deps: ResolvedFlashCallDeps,
  verificationId: string,
  now: number,
  binding?: CodeBinding,
): { delivery: DeliveryRecord; from: string } {
  const drawn = drawCallerNumber(deps.plan);
  return {
    from: drawn.from,
    delivery: {
      id: newId('dlv', now),
      verificationId,
      channel: 'flashcall',
      provider: deps.voice.name,
      status: 'queued',
      codeHash: hashCode(deps.pepper, verificationId, drawn.code, binding),
      providerMessageId: null,
      errorCode: null,
      errorMessage: null,
      callerIdPrefix: drawn.callerIdPrefix,
      createdAt: now,
      updatedAt: now,
    },
  };
}

async function place(
  deps: ResolvedFlashCallDeps,
  v: VerificationRecord,
  delivery: DeliveryRecord,
  from: string,
): Promise<SendResult> {
  const { voice } = deps;
  const result = await voice.call({ to: v.to, from, verificationId: v.id });
  const now = deps.clock.now();
  if (result.status === 'sent') {
    await deps.verifications.completeDelivery(delivery.id, {
      status: 'sent',
      providerMessageId: result.providerMessageId ?? null,
      errorCode: null,
      errorMessage: null,
      updatedAt: now,
    });
  } else {
    // The calling number is the code: never keep it in an error text.
    const errorMessage = redactCode(result.errorMessage, from.slice(-deps.plan.codeLength));
    await deps.verifications.completeDelivery(delivery.id, {
      status: 'failed',
      providerMessageId: null,
      errorCode: result.errorCode,
      errorMessage,
      updatedAt: now,
    });
    await deps.events.record({
      ...facts(deps, v),
      at: now,
      kind: 'failure',
      reason: 'delivery_failed',
      providerError: `${result.errorCode}: ${errorMessage}`.slice(0, 300),
    });
  }
  deps.onDelivery?.('flashcall', voice.name, result.status);
  return result;
}

/**
 * A timed fallback over an SMS the provider accepted but never confirmed (no receipt, no check):
 * a gateway that takes messages and drops them looks exactly like this, so it is a failure of
 * its own in the record, not only a fallback.
 */
async function recordUnconfirmed(
  deps: ResolvedFlashCallDeps,
  v: VerificationRecord,
  now: number,
): Promise<void> {
  const sms = (await deps.verifications.listDeliveries(v.id))
    .filter((d) => d.channel === 'sms')
    .at(-1);
  if (sms?.status !== 'sent') return;
  await deps.events.record({
    ...facts(deps, v),
    channel: 'sms',
    provider: sms.provider,
    at: now,
    kind: 'failure',
    reason: 'delivery_unconfirmed',
    rule: 'fallback:no_check',
    providerError:
      `no_receipt: accepted${sms.providerMessageId === null ? '' : ` as ${sms.providerMessageId}`}, no delivery receipt and no check within ${Math.round((now - sms.updatedAt) / 1000)} s`.slice(
        0,
        300,
      ),
  });
}

/** Runs a claimed fallback to its end: switch, call, complete. */
async function execute(deps: ResolvedFlashCallDeps, claimed: ClaimedFallback): Promise<boolean> {
  const { store, owner } = deps;
  const now = deps.clock.now();
  const v = await store.switchToFlashCall(
    claimed.verificationId,
    now,
    deps.plan.codeLength,
    deps.maxAttempts,
  );
  if (!v) {
    await store.completeFallback(claimed.verificationId, owner, 'void', null, now);
    return false;
  }
  // A fallback code is bound to the same transaction as the SMS code it replaces.
  const binding =
    v.transaction === null
      ? {}
      : { transactionHash: transactionHash(parseTransaction(v.transaction)) };
  const { delivery, from } = prepare(deps, v.id, now, binding);
  await deps.verifications.addDelivery(delivery);
  await deps.events.record({
    ...facts(deps, v),
    at: now,
    kind: 'success',
    reason: 'fallback',
    rule: `fallback:${claimed.reason}`,
    details: { fallbackReason: claimed.reason },
  });
  if (claimed.reason === 'no_check') await recordUnconfirmed(deps, v, now);
  const result = await place(deps, v, delivery, from);
  await store.completeFallback(v.id, owner, 'done', delivery.id, deps.clock.now());
  return result.status === 'sent';
}

async function fallBack(
  deps: ResolvedFlashCallDeps,
  verificationId: string,
  reason: FallbackReason,
): Promise<boolean> {
  const now = deps.clock.now();
  const claimed =
    reason === 'requested'
      ? await deps.store.claimRequested(verificationId, now, deps.owner)
      : await deps.store.claimScheduled(verificationId, reason, now, deps.owner);
  if (!claimed) return false;
  await execute(deps, { verificationId, reason });
  return true;
}

async function runDue(deps: ResolvedFlashCallDeps, limit = 50): Promise<number> {
  const now = deps.clock.now();
  await deps.store.voidSettled(now);
  const due = await deps.store.claimDue(now, deps.owner, deps.leaseMs, limit);
  let placed = 0;
  for (const claimed of due) {
    if (await execute(deps, claimed)) placed += 1;
  }
  return placed;
}

async function describe(
  deps: ResolvedFlashCallDeps,
  verificationId: string,
): Promise<FallbackView | null> {
  const row = await deps.store.findFallback(verificationId);
  if (!row) return null;
  return {
    state: row.state,
    reason: row.reason,
    dueAt: iso(row.dueAt),
    completedAt: row.completedAt === null ? null : iso(row.completedAt),
  };
}
