import type { Clock } from '../platform/clock.js';
import { DomainError, type Reason } from '../platform/errors.js';
import { newId } from '../platform/ids.js';
import type { AppStore } from '../admin/admin.store.js';
import { codeFromCallingNumber } from '../delivery/flashcall.js';
import type { FallbackView, FlashCalls } from './fallback.service.js';
import { redactCode, type SendResult, type SmsProvider } from '../delivery/provider.js';
import type { EventRecord, EventRecorder } from '../events/events.js';
import {
  createFailureRecorder,
  type FailureContext,
  type FailureRecorder,
} from '../events/failures.js';
import { generateCode, hashCode, matchCode } from './codes.js';
import {
  OPEN_GUARD,
  type CheckAttempt,
  type LimitStateSink,
  type StartAttempt,
  type VerificationGuard,
} from '../limits/guard.js';
import { renderVerificationMessage, resolveLocale } from './messages.js';
import { parsePhone, type PhoneNumber } from '../platform/phone.js';
import type { TokenIssuer } from '../tokens/tokens.js';
import {
  canonicalTransaction,
  parseTransaction,
  serializeTransaction,
  transactionHash,
  type Transaction,
  type TransactionInput,
} from './transaction.js';
import type { VerificationRecord, VerificationStore } from './verification.store.js';
import type { Channel, DeliveryRecord, DeliveryStatus } from '../delivery/delivery.store.js';

/** Describes the end user on whose behalf a back end calls. */
export interface EndUserSignals {
  ip?: string | undefined;
  userAgent?: string | undefined;
  deviceId?: string | undefined;
}

/** The caller as the HTTP layer saw it. */
export interface CallerContext {
  app: string;
  /** The connection's address (after trusted proxies). */
  clientIp: string | undefined;
  userAgent: string | undefined;
  /** Told the limit state of limited operations (for RateLimit-* headers). */
  onLimitState?: LimitStateSink | undefined;
}

export interface StartInput {
  to: string;
  country?: string | undefined;
  channel: 'sms' | 'flashcall' | 'auto';
  locale?: string | undefined;
  purpose?: string | undefined;
  ttlSeconds?: number | undefined;
  signals?: EndUserSignals | undefined;
  /** A transaction to approve: the message shows it and the code is bound to it. */
  transaction?: TransactionInput | undefined;
  /**
   * A code the caller chose instead of a generated one (Twilio Verify's custom codes): only for apps
   * whose settings allow it, and only by SMS (a flash call's code is its calling number), so such a
   * verification gets no flash-call fallback. It is stored hashed like any code.
   */
  code?: string | undefined;
  /** The name this request's messages show instead of the app's brand. */
  brand?: string | undefined;
  /** An Android SMS Retriever app hash (11 characters), added to this request's messages. */
  appHash?: string | undefined;
}

/** What a check learns of the verification it runs against, before the outcome (see CheckOptions). */
export interface CheckedVerification {
  id: string;
  to: string;
  channel: Channel;
  createdAt: string;
  transaction: Transaction | null;
}

export interface CheckOptions {
  /** The transaction the code must have been issued for; must equal the one given at start. */
  transaction?: TransactionInput | undefined;
  /**
   * Told the verification the check found, before any outcome, so a caller can describe a wrong code
   * or a refusal without reading it again. Not called when no verification was found.
   */
  onVerification?: ((verification: CheckedVerification) => void) | undefined;
}

export interface VerificationDefaults {
  codeLength: number;
  ttlSeconds: number;
  maxCheckAttempts: number;
  resendCooldownSeconds: number;
  maxSends: number;
}

export interface DeliveryView {
  id: string;
  channel: Channel;
  provider: string;
  status: DeliveryStatus;
  createdAt: string;
  updatedAt: string;
  error: { code: string; message: string } | null;
}

export interface VerificationView {
  id: string;
  to: string;
  channel: Channel;
  status: 'pending' | 'approved' | 'canceled' | 'expired' | 'max_attempts_exceeded';
  purpose: string | null;
  locale: string;
  codeLength: number;
  attempts: number;
  maxAttempts: number;
  attemptsRemaining: number;
  sends: number;
  createdAt: string;
  expiresAt: string;
  approvedAt: string | null;
  transaction: Transaction | null;
  deliveries: DeliveryView[];
  /** Flash call: the calling number's digits before the code, for the client to show (null for SMS). */
  callerIdPrefix: string | null;
  /** The flash-call fallback: scheduled, or claimed/done with its reason; null when there is none. */
  fallback: FallbackView | null;
}

export interface CheckResult {
  id: string;
  to: string;
  status: 'approved';
  channel: Channel;
  token: string;
}

export interface VerificationServiceDeps {
  store: VerificationStore;
  apps: AppStore;
  sms: SmsProvider;
  events: EventRecorder;
  tokens: TokenIssuer;
  clock: Clock;
  pepper: Buffer;
  defaults: VerificationDefaults;
  /** Limits and abuse rules; refuses nothing when absent. */
  guard?: VerificationGuard;
  /** Flash calls and the fallback to them; absent when no FLASHCALL_RANGES are configured. */
  flashCalls?: FlashCalls | undefined;
  /** Under `auto`, fall back to a flash call when no check succeeded this long after the SMS (0: only on failures). */
  fallbackAfterMs?: number;
  onDelivery?: (channel: Channel, provider: string, status: string) => void;
}

export interface VerificationService {
  /** The settings that apply where an app sets nothing (code length, validity, attempts, sends). */
  readonly defaults: VerificationDefaults;
  /**
   * Creates a pending verification and sends its code. Throws invalid_phone, channel_unavailable,
   * invalid_request (a custom code the app may not use, or by flash call).
   */
  start(ctx: CallerContext, input: StartInput): Promise<VerificationView>;
  /**
   * Twilio Verify's start: when the number already has a pending verification of this app for the
   * same transaction (and the app does not use custom codes), sends a new code on it as `resend` does
   * (same id, same rules: cooldown, at most maxSends, the limits), on the channel asked for unless
   * `auto`; otherwise starts a new one as `start` does. Throws what those throw; max_sends_exceeded
   * then carries the seconds until the verification expires and a new one can start.
   */
  startOrResend(ctx: CallerContext, input: StartInput): Promise<VerificationView>;
  /**
   * Approves a pending verification without a code, for an app that chose its codes (custom codes)
   * and checked it itself; an attempt is taken as a check's would be, and the approval is recorded.
   * Throws not_found, invalid_request (the app does not use custom codes), already_used, canceled,
   * expired, max_attempts_exceeded.
   */
  approve(ctx: CallerContext, id: string): Promise<VerificationView>;
  /**
   * Checks a code. Approves at most once, counts every attempt atomically, and records every
   * failure. Throws not_found, expired, already_used, canceled, max_attempts_exceeded, incorrect_code.
   */
  check(
    ctx: CallerContext,
    id: string,
    code: string,
    signals?: EndUserSignals,
    options?: CheckOptions,
  ): Promise<CheckResult>;
  /** Checks a code against the newest pending verification of a number for the calling app. */
  checkByNumber(
    ctx: CallerContext,
    to: string,
    code: string,
    signals?: EndUserSignals,
    options?: CheckOptions,
  ): Promise<CheckResult>;
  get(ctx: CallerContext, id: string): Promise<VerificationView>;
  cancel(ctx: CallerContext, id: string): Promise<VerificationView>;
  /** Sends a new code after the cooldown. Throws resend_too_soon (with retry time), max_sends_exceeded. */
  resend(ctx: CallerContext, id: string, channel?: 'sms' | 'flashcall'): Promise<VerificationView>;
}

/** What an app sets about its messages (apps table), with the service's defaults. */
interface AppMessageSettings {
  brand: string;
  webOtpDomain: string | undefined;
  codeLength: number;
  customCodes: boolean;
}

/** What one request changes in the messages it sends (StartInput's brand and appHash). */
interface MessageOverrides {
  brand?: string | undefined;
  appHash?: string | undefined;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** What every operation works with: the dependencies, and what the factory resolves once from them. */
interface Service extends VerificationServiceDeps, FailureRecorder {
  guard: VerificationGuard;
}

type DeliveryPatch = Pick<
  DeliveryRecord,
  'status' | 'providerMessageId' | 'errorCode' | 'errorMessage' | 'updatedAt'
>;

function statusOf(v: VerificationRecord, now: number): VerificationView['status'] {
  if (v.status === 'locked') return 'max_attempts_exceeded';
  if (v.status === 'pending' && now >= v.expiresAt) return 'expired';
  return v.status;
}

/** Why a verification cannot take a check or a send right now, or undefined when it can. */
function blockedReason(v: VerificationRecord, now: number): Reason | undefined {
  switch (v.status) {
    case 'approved':
      return 'already_used';
    case 'canceled':
      return 'canceled';
    case 'locked':
      return 'max_attempts_exceeded';
    case 'pending':
      if (now >= v.expiresAt) return 'expired';
      if (v.attempts >= v.maxAttempts) return 'max_attempts_exceeded';
      return undefined;
  }
}

function bindingOf(transaction: string | null): { transactionHash?: string } {
  return transaction === null
    ? {}
    : { transactionHash: transactionHash(parseTransaction(transaction)) };
}

/** The canonical transaction, or a recorded invalid_request failure. */
async function canonicalOrFail(
  s: Service,
  input: TransactionInput,
  event: FailureContext,
): Promise<Transaction> {
  try {
    return canonicalTransaction(input);
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    return s.fail(error.reason, event, { details: error.details, rule: 'transaction' });
  }
}

function checkAttempt(
  ctx: CallerContext,
  v: VerificationRecord,
  signals?: EndUserSignals,
): CheckAttempt {
  return {
    app: ctx.app,
    verificationId: v.id,
    to: v.to,
    country: v.country,
    ip: signals?.ip ?? ctx.clientIp,
    userAgent: signals?.userAgent ?? ctx.userAgent,
    onLimitState: ctx.onLimitState,
  };
}

function eventFacts(
  ctx: CallerContext,
  v: VerificationRecord,
  signals?: EndUserSignals,
): FailureContext {
  return {
    app: ctx.app,
    channel: v.channel,
    number: v.to,
    country: v.country ?? undefined,
    ip: signals?.ip ?? ctx.clientIp,
    userAgent: signals?.userAgent ?? ctx.userAgent,
    verificationId: v.id,
  };
}

/**
 * The facts of what happens to a verification (its sends and its approval) as its start recorded
 * them: those belong to the end user who started it, whoever calls later. The abuse report divides
 * approvals by starts per IP, so both must be counted under the same address; a check's failures
 * keep the checking request's address (eventFacts), since that is who guessed.
 */
function lifecycleFacts(ctx: CallerContext, v: VerificationRecord): FailureContext {
  return {
    ...eventFacts(ctx, v),
    ip: v.endUserIp ?? v.clientIp ?? undefined,
    userAgent: v.endUserAgent ?? ctx.userAgent,
  };
}

function deliveryView(d: DeliveryRecord): DeliveryView {
  return {
    id: d.id,
    channel: d.channel,
    provider: d.provider,
    status: d.status,
    createdAt: iso(d.createdAt),
    updatedAt: iso(d.updatedAt),
    error: d.errorCode === null ? null : { code: d.errorCode, message: d.errorMessage ?? '' },
  };
}

/** `known`: the verification's deliveries when the caller has just written them all (not read again). */
async function view(
  s: Service,
  v: VerificationRecord,
  known?: DeliveryRecord[],
): Promise<VerificationView> {
  const deliveries = known ?? (await s.store.listDeliveries(v.id));
  const lastCall = deliveries.filter((d) => d.channel === 'flashcall').at(-1);
  return {
    id: v.id,
    to: v.to,
    channel: v.channel,
    status: statusOf(v, s.clock.now()),
    purpose: v.purpose,
    locale: v.locale,
    codeLength: v.codeLength,
    attempts: v.attempts,
    maxAttempts: v.maxAttempts,
    attemptsRemaining: Math.max(0, v.maxAttempts - v.attempts),
    sends: v.sends,
    createdAt: iso(v.createdAt),
    expiresAt: iso(v.expiresAt),
    approvedAt: v.approvedAt === null ? null : iso(v.approvedAt),
    transaction: v.transaction === null ? null : parseTransaction(v.transaction),
    deliveries: deliveries.map(deliveryView),
    callerIdPrefix: v.channel === 'flashcall' ? (lastCall?.callerIdPrefix ?? null) : null,
    fallback: (await s.flashCalls?.describe(v.id)) ?? null,
  };
}

/** The verification as it is now, read again after a change (or as it was read, if it is gone). */
async function currentView(
  s: Service,
  ctx: CallerContext,
  v: VerificationRecord,
): Promise<VerificationView> {
  return view(s, (await s.store.findById(ctx.app, v.id)) ?? v);
}

/** The app's message settings, read once per request and handed to what needs them. */
async function brandAndDomain(s: Service, app: string): Promise<AppMessageSettings> {
  const settings = await s.apps.get(app);
  return {
    brand: settings?.brand ?? app,
    webOtpDomain: settings?.webOtpDomain ?? undefined,
    codeLength: settings?.codeLength ?? s.defaults.codeLength,
    customCodes: settings?.customCodes ?? false,
  };
}

/** What a provider's answer makes of a delivery, and the event that records it. */
function sendOutcome(
  s: Service,
  ctx: CallerContext,
  v: VerificationRecord,
  delivery: DeliveryRecord,
  code: string,
  result: SendResult,
): { patch: DeliveryPatch; event: EventRecord } {
  const now = s.clock.now();
  if (result.status === 'sent') {
    return {
      patch: {
        status: 'sent',
        providerMessageId: result.providerMessageId ?? null,
        errorCode: null,
        errorMessage: null,
        updatedAt: now,
      },
      // The provider accepted the message: the denominator of delivery and conversion rates in reports.
      event: {
        ...lifecycleFacts(ctx, v),
        at: now,
        kind: 'success',
        reason: 'sent',
        channel: delivery.channel,
        provider: s.sms.name,
      },
    };
  }
  const errorMessage = redactCode(result.errorMessage, code);
  return {
    patch: {
      status: 'failed',
      providerMessageId: null,
      errorCode: result.errorCode,
      errorMessage,
      updatedAt: now,
    },
    event: {
      ...lifecycleFacts(ctx, v),
      at: now,
      kind: 'failure',
      reason: 'delivery_failed',
      provider: s.sms.name,
      providerError: `${result.errorCode}: ${errorMessage}`.slice(0, 300),
    },
  };
}

/**
 * Sends a fresh code for an already persisted delivery row and records the provider's answer (the
 * delivery's new state and its event, in one write). Returns the delivery as it now is.
 */
async function deliver(
  s: Service,
  ctx: CallerContext,
  v: VerificationRecord,
  delivery: DeliveryRecord,
  code: string,
  settings: AppMessageSettings,
  overrides: MessageOverrides = {},
): Promise<{ result: SendResult; delivery: DeliveryRecord }> {
  const body = renderVerificationMessage({
    locale: resolveLocale(v.locale),
    brand: overrides.brand ?? settings.brand,
    code,
    ttlSeconds: Math.round((v.expiresAt - v.createdAt) / 1000),
    webOtpDomain: settings.webOtpDomain,
    appHash: overrides.appHash,
    transaction: v.transaction === null ? undefined : parseTransaction(v.transaction),
  });
  const result = await s.sms.send({ to: v.to, body, verificationId: v.id });
  const { patch, event } = sendOutcome(s, ctx, v, delivery, code, result);
  await s.store.completeDelivery(delivery.id, patch, event);
  s.events.counted?.(event);
  s.onDelivery?.(delivery.channel, s.sms.name, result.status);
  return { result, delivery: { ...delivery, ...patch } };
}

function newDelivery(
  s: Service,
  verificationId: string,
  channel: Channel,
  code: string,
  now: number,
  transaction: string | null,
): DeliveryRecord {
  return {
    id: newId('dlv', now),
    verificationId,
    channel,
    provider: s.sms.name,
    status: 'queued',
    codeHash: hashCode(s.pepper, verificationId, code, bindingOf(transaction)),
    providerMessageId: null,
    errorCode: null,
    errorMessage: null,
    callerIdPrefix: null,
    createdAt: now,
    updatedAt: now,
  };
}

function notFound(s: Service, ctx: CallerContext, signals?: EndUserSignals): Promise<never> {
  return s.fail('not_found', {
    app: ctx.app,
    ip: signals?.ip ?? ctx.clientIp,
    userAgent: signals?.userAgent ?? ctx.userAgent,
  });
}

async function findOrFail(
  s: Service,
  ctx: CallerContext,
  id: string,
  signals?: EndUserSignals,
): Promise<VerificationRecord> {
  return (await s.store.findById(ctx.app, id)) ?? notFound(s, ctx, signals);
}

/** A guarded write refused (a race lost, a boundary crossed since the read): explain it from the current state. */
async function refusedNow(
  s: Service,
  ctx: CallerContext,
  v: VerificationRecord,
  otherwise: Reason,
  facts: FailureContext,
): Promise<never> {
  const current = (await s.store.findById(ctx.app, v.id)) ?? v;
  return s.fail(blockedReason(current, s.clock.now()) ?? otherwise, facts);
}

/**
 * Which delivery a presented code matches, or -1. A flash call's code may also come as the full
 * calling number (an app reading the call log): then only flash-call deliveries whose caller-ID
 * prefix it carries can match. The presented transaction is part of the hashed value: another
 * amount or payee simply does not match.
 */
function matchDelivery(
  s: Service,
  v: VerificationRecord,
  all: DeliveryRecord[],
  code: string,
  presented: string | null,
): DeliveryRecord | undefined {
  const calls = all.filter((d) => d.channel === 'flashcall' && d.callerIdPrefix !== null);
  const fromNumber =
    code.startsWith('+') && s.flashCalls
      ? codeFromCallingNumber(
          code,
          calls.map((d) => d.callerIdPrefix ?? ''),
          s.flashCalls.codeLength,
        )
      : undefined;
  const deliveries = fromNumber === undefined ? all : calls;
  const matched = matchCode(
    s.pepper,
    v.id,
    fromNumber ?? code,
    deliveries.map((d) => d.codeHash),
    bindingOf(presented),
  );
  return matched < 0 ? undefined : deliveries[matched];
}

/** A wrong code: the attempt is taken (the last one locks) and answered incorrect_code with what is left. */
async function refuseWrongCode(
  s: Service,
  ctx: CallerContext,
  v: VerificationRecord,
  attempt: CheckAttempt,
  facts: FailureContext,
): Promise<never> {
  const taken = await s.store.takeAttempt(v.id, s.clock.now());
  if (taken === undefined) return refusedNow(s, ctx, v, 'max_attempts_exceeded', facts);
  await s.guard.afterCheck(attempt, taken.status === 'locked' ? 'locked' : 'incorrect');
  const attemptsRemaining = Math.max(0, v.maxAttempts - taken.attempts);
  return s.fail('incorrect_code', facts, { details: { attemptsRemaining } });
}

/** The right code: approves (at most once, with its event), then signs the result token. */
async function approveChecked(
  s: Service,
  ctx: CallerContext,
  v: VerificationRecord,
  channel: Channel,
  attempt: CheckAttempt,
  facts: FailureContext,
): Promise<CheckResult> {
  const now = s.clock.now();
  // The 'approved' event is appended by the approval itself: written iff this call approved.
  const approved: EventRecord = {
    ...lifecycleFacts(ctx, v),
    at: now,
    kind: 'success',
    reason: 'approved',
    channel,
  };
  if ((await s.store.takeAttempt(v.id, now, { channel, event: approved })) === undefined)
    return refusedNow(s, ctx, v, 'already_used', facts);
  s.events.counted?.(approved);
  await s.guard.afterCheck(attempt, 'approved');
  const binding = bindingOf(v.transaction);
  const extra =
    binding.transactionHash === undefined ? undefined : { txn_hash: binding.transactionHash };
  const token = await s.tokens.sign({
    subject: v.to,
    audience: v.app,
    id: v.id,
    amr: [channel],
    purpose: v.purpose ?? undefined,
    extra,
  });
  return { id: v.id, to: v.to, status: 'approved', channel, token };
}

/**
 * Checks a code against a verification and the deliveries read with it. The code is matched first,
 * then ONE guarded write takes the attempt and settles it (approves, or locks after the last
 * wrong one): a check is one read and one write. The deliveries read are every one whose code could
 * have reached the person, since each is committed before its message or call leaves.
 */
async function checkRecord(
  s: Service,
  ctx: CallerContext,
  v: VerificationRecord,
  all: DeliveryRecord[],
  code: string,
  signals?: EndUserSignals,
  options?: CheckOptions,
): Promise<CheckResult> {
  options?.onVerification?.({
    id: v.id,
    to: v.to,
    channel: v.channel,
    createdAt: iso(v.createdAt),
    transaction: v.transaction === null ? null : parseTransaction(v.transaction),
  });
  const facts = eventFacts(ctx, v, signals);
  const presented = options?.transaction
    ? serializeTransaction(await canonicalOrFail(s, options.transaction, facts))
    : null;
  const blocked = blockedReason(v, s.clock.now());
  if (blocked) return s.fail(blocked, facts);
  const attempt = checkAttempt(ctx, v, signals);
  await s.guarded(() => s.guard.beforeCheck(attempt), facts);
  const matched = matchDelivery(s, v, all, code, presented);
  if (!matched) return refuseWrongCode(s, ctx, v, attempt, facts);
  return approveChecked(s, ctx, v, matched.channel, attempt, facts);
}

/** A resend counts against the number's limits as a start does, under the end user who started it. */
function guardResend(
  s: Service,
  ctx: CallerContext,
  v: VerificationRecord,
  target: Channel,
  facts: FailureContext,
): Promise<void> {
  return s.guarded(
    () =>
      s.guard.beforeStart({
        app: ctx.app,
        phone: parsePhone(v.to),
        channel: target,
        ip: v.endUserIp ?? ctx.clientIp,
        clientIp: ctx.clientIp,
        userAgent: v.endUserAgent ?? ctx.userAgent,
        deviceId: v.endUserDeviceId ?? undefined,
        purpose: v.purpose ?? undefined,
        verificationId: v.id,
        onLimitState: ctx.onLimitState,
      }),
    facts,
  );
}

/** Takes a send slot (cooldown, maxSends), or fails with why there is none. */
async function reserveSendOrFail(
  s: Service,
  ctx: CallerContext,
  v: VerificationRecord,
  now: number,
  facts: FailureContext,
): Promise<void> {
  const slot = await s.store.reserveSend(v.id, now, s.defaults.resendCooldownSeconds * 1000);
  if (slot.ok) return;
  if (slot.why === 'cooldown') {
    const retryAfterSeconds = Math.max(1, Math.ceil(((slot.retryAt ?? now) - now) / 1000));
    return s.fail('resend_too_soon', facts, { retryAfterSeconds, details: { retryAfterSeconds } });
  }
  if (slot.why === 'max_sends') return s.fail('max_sends_exceeded', facts);
  const current = (await s.store.findById(ctx.app, v.id)) ?? v;
  return s.fail(blockedReason(current, now) ?? 'expired', facts);
}

/**
 * Sends a new code for a verification already read (resend, and startOrResend's resend): the
 * cooldown, maxSends and the limits apply; asking for the flash call while on SMS is its fallback.
 */
async function resendRecord(
  s: Service,
  ctx: CallerContext,
  v: VerificationRecord,
  channel: Channel | undefined,
  overrides: MessageOverrides = {},
  known?: AppMessageSettings,
): Promise<VerificationView> {
  const facts = eventFacts(ctx, v);
  const now = s.clock.now();
  const blocked = blockedReason(v, now);
  if (blocked) return s.fail(blocked, facts);
  const flash = s.flashCalls;
  if (channel === 'flashcall' && !flash)
    return s.fail(
      'channel_unavailable',
      { ...facts, channel: 'flashcall' },
      { details: { channel: 'flashcall' } },
    );
  const target: Channel = channel ?? v.channel;
  await guardResend(s, ctx, v, target, facts);
  // Asking for the flash call while still on SMS is the verification's one fallback: it is
  // placed at once (no cooldown), and only once, whatever triggers race for it.
  if (
    flash &&
    target === 'flashcall' &&
    v.channel === 'sms' &&
    (await flash.fallBack(v.id, 'requested'))
  )
    return currentView(s, ctx, v);
  await reserveSendOrFail(s, ctx, v, now, facts);
  if (flash && target === 'flashcall') {
    const { delivery, from } = flash.prepare(v.id, now, bindingOf(v.transaction));
    await s.store.addDelivery(delivery);
    await flash.place(v, delivery, from);
    return currentView(s, ctx, v);
  }
  const settings = known ?? (await brandAndDomain(s, v.app));
  const code = generateCode(settings.codeLength);
  const delivery = newDelivery(s, v.id, 'sms', code, now, v.transaction);
  await s.store.addDelivery(delivery);
  await deliver(s, ctx, v, delivery, code, settings, overrides);
  return currentView(s, ctx, v);
}

/** Whether a start's transaction is the one a pending verification's codes are bound to (both none counts). */
function sameTransaction(stored: string | null, input: TransactionInput | undefined): boolean {
  if (input === undefined) return stored === null;
  try {
    return stored === serializeTransaction(canonicalTransaction(input));
  } catch (error) {
    // A malformed transaction: start() refuses and records it.
    if (error instanceof DomainError) return false;
    throw error;
  }
}

/** Parses a number; a failure is recorded as start records it. */
async function parsedOrFail(
  s: Service,
  ctx: CallerContext,
  to: string,
  country: string | undefined,
  signals?: EndUserSignals,
): Promise<PhoneNumber> {
  try {
    return parsePhone(to, country);
  } catch (error) {
    if (error instanceof DomainError)
      return s.fail(error.reason, {
        app: ctx.app,
        ip: signals?.ip ?? ctx.clientIp,
        userAgent: signals?.userAgent ?? ctx.userAgent,
      });
    throw error;
  }
}

/** What a start decided before anything is counted or written. */
interface StartPlan {
  phone: PhoneNumber;
  transaction: string | null;
  /** The app's message settings when already read (a custom code needs them first). */
  settings: AppMessageSettings | undefined;
  byCall: boolean;
}

/**
 * Refuses what no limit should count (a channel not configured, a malformed transaction, a custom
 * code the app may not use) and decides the channel. Landlines rarely take SMS: under `auto` they
 * get the flash call straight away (not with a custom code: the app checks that code itself and
 * could not know a call's).
 */
async function planStart(
  s: Service,
  ctx: CallerContext,
  input: StartInput,
  phone: PhoneNumber,
): Promise<StartPlan> {
  const facts: FailureContext = {
    app: ctx.app,
    ip: input.signals?.ip ?? ctx.clientIp,
    userAgent: input.signals?.userAgent ?? ctx.userAgent,
    number: phone.e164,
    country: phone.country,
  };
  const flash = s.flashCalls;
  if (input.channel === 'flashcall' && !flash)
    return s.fail(
      'channel_unavailable',
      { ...facts, channel: 'flashcall' },
      { details: { channel: 'flashcall' } },
    );
  const transaction = input.transaction
    ? serializeTransaction(await canonicalOrFail(s, input.transaction, facts))
    : null;
  let settings: AppMessageSettings | undefined;
  if (input.code !== undefined) {
    settings = await brandAndDomain(s, ctx.app);
    const refusal =
      input.channel === 'flashcall'
        ? 'a flash call carries its own code'
        : settings.customCodes
          ? undefined
          : 'this app does not use custom codes';
    if (refusal)
      return s.fail('invalid_request', facts, {
        details: { errors: [{ path: 'code', message: refusal }] },
        rule: 'custom_code',
      });
  }
  const byCall =
    input.code === undefined &&
    flash !== undefined &&
    (input.channel === 'flashcall' || (input.channel === 'auto' && phone.type === 'FIXED_LINE'));
  return { phone, transaction, settings, byCall };
}

/** The limits and abuse rules judge the start by the channel its code will actually go by (a landline may take a call). */
function guardStart(
  s: Service,
  ctx: CallerContext,
  input: StartInput,
  plan: StartPlan,
): Promise<void> {
  const { phone } = plan;
  const ip = input.signals?.ip ?? ctx.clientIp;
  const userAgent = input.signals?.userAgent ?? ctx.userAgent;
  const attempt: StartAttempt = {
    app: ctx.app,
    phone,
    channel: plan.byCall ? 'flashcall' : input.channel,
    ip,
    clientIp: ctx.clientIp,
    userAgent,
    deviceId: input.signals?.deviceId,
    purpose: input.purpose,
    onLimitState: ctx.onLimitState,
  };
  return s.guarded(() => s.guard.beforeStart(attempt), {
    app: ctx.app,
    ip,
    userAgent,
    number: phone.e164,
    country: phone.country,
    numberType: phone.type,
    channel: input.channel,
  });
}

/** The new verification's record, pending, with its first send counted. */
function newVerification(
  s: Service,
  ctx: CallerContext,
  input: StartInput,
  plan: StartPlan,
  codeLength: number,
  now: number,
): VerificationRecord {
  const ttlSeconds = input.ttlSeconds ?? s.defaults.ttlSeconds;
  return {
    id: newId('ver', now),
    app: ctx.app,
    to: plan.phone.e164,
    country: plan.phone.country ?? null,
    requestedChannel: input.channel,
    channel: plan.byCall ? 'flashcall' : 'sms',
    status: 'pending',
    purpose: input.purpose ?? null,
    locale: resolveLocale(input.locale),
    codeLength,
    attempts: 0,
    maxAttempts:
      s.flashCalls && plan.byCall ? s.flashCalls.maxAttempts : s.defaults.maxCheckAttempts,
    sends: 1,
    maxSends: s.defaults.maxSends,
    lastSentAt: now,
    createdAt: now,
    expiresAt: now + ttlSeconds * 1000,
    approvedAt: null,
    approvedChannel: null,
    canceledAt: null,
    clientIp: ctx.clientIp ?? null,
    endUserIp: input.signals?.ip ?? null,
    endUserAgent: input.signals?.userAgent ?? null,
    endUserDeviceId: input.signals?.deviceId ?? null,
    transaction: plan.transaction,
  };
}

function startedEvent(
  ctx: CallerContext,
  v: VerificationRecord,
  input: StartInput,
  provider: string,
  phone: PhoneNumber,
): EventRecord {
  return {
    ...eventFacts(ctx, v, input.signals),
    at: v.createdAt,
    kind: 'success',
    reason: 'started',
    provider,
    numberType: phone.type,
  };
}

/** A start whose first code is a flash call: the verification, its delivery and 'started' in one write, then the call. */
async function startByCall(
  s: Service,
  ctx: CallerContext,
  input: StartInput,
  plan: StartPlan,
  flash: FlashCalls,
): Promise<VerificationView> {
  const now = s.clock.now();
  const v = newVerification(s, ctx, input, plan, flash.codeLength, now);
  const { delivery, from } = flash.prepare(v.id, now, bindingOf(plan.transaction));
  const started = startedEvent(ctx, v, input, delivery.provider, plan.phone);
  await s.store.create(v, delivery, started);
  s.events.counted?.(started);
  await flash.place(v, delivery, from);
  return view(s, v);
}

/** A start by SMS: the fallback (under `auto`), then the verification with its delivery and 'started', then the message. */
async function startBySms(
  s: Service,
  ctx: CallerContext,
  input: StartInput,
  plan: StartPlan,
): Promise<VerificationView> {
  const now = s.clock.now();
  const flash = s.flashCalls;
  const settings = plan.settings ?? (await brandAndDomain(s, ctx.app));
  const v = newVerification(s, ctx, input, plan, input.code?.length ?? settings.codeLength, now);
  const code = input.code ?? generateCode(v.codeLength);
  const delivery = newDelivery(s, v.id, 'sms', code, now, plan.transaction);
  // The fallback is persisted before the verification: a crash in between leaves a row the
  // scheduler voids, never a verification without its fallback.
  const fallbackAfterMs = s.fallbackAfterMs ?? 0;
  const fallsBack = flash !== undefined && input.channel === 'auto' && input.code === undefined;
  if (fallsBack)
    await flash.schedule(v.id, fallbackAfterMs > 0 ? now + fallbackAfterMs : v.expiresAt);
  // The verification, its first delivery and its 'started' event: one atomic write.
  const started = startedEvent(ctx, v, input, s.sms.name, plan.phone);
  await s.store.create(v, delivery, started);
  s.events.counted?.(started);
  const sent = await deliver(s, ctx, v, delivery, code, settings, input);
  if (
    sent.result.status === 'failed' &&
    fallsBack &&
    (await flash.fallBack(v.id, 'provider_failed'))
  )
    return currentView(s, ctx, v);
  // Its one delivery is the one just written: nothing to read back.
  return view(s, v, [sent.delivery]);
}

/** start() once the number is parsed (startOrResend parses it once for both paths). */
async function startParsed(
  s: Service,
  ctx: CallerContext,
  input: StartInput,
  phone: PhoneNumber,
): Promise<VerificationView> {
  const plan = await planStart(s, ctx, input, phone);
  await guardStart(s, ctx, input, plan);
  return s.flashCalls && plan.byCall
    ? startByCall(s, ctx, input, plan, s.flashCalls)
    : startBySms(s, ctx, input, plan);
}

async function start(s: Service, ctx: CallerContext, input: StartInput): Promise<VerificationView> {
  return startParsed(
    s,
    ctx,
    input,
    await parsedOrFail(s, ctx, input.to, input.country, input.signals),
  );
}

async function startOrResend(
  s: Service,
  ctx: CallerContext,
  input: StartInput,
): Promise<VerificationView> {
  const phone = await parsedOrFail(s, ctx, input.to, input.country, input.signals);
  const now = s.clock.now();
  const pending =
    input.code === undefined
      ? await s.store.findNewestPending(ctx.app, phone.e164, now)
      : undefined;
  if (!pending || !sameTransaction(pending.transaction, input.transaction))
    return startParsed(s, ctx, input, phone);
  const settings = await brandAndDomain(s, ctx.app);
  // An app that chooses its codes checks them itself: a generated code sent on one of its
  // verifications would be a code it cannot know. Its every start is a new verification.
  if (settings.customCodes) return startParsed(s, ctx, input, phone);
  if (pending.sends >= pending.maxSends) {
    // Twilio's rule: no more sends until this verification expires; then the number may start again.
    const retryAfterSeconds = Math.max(1, Math.ceil((pending.expiresAt - now) / 1000));
    return s.fail('max_sends_exceeded', eventFacts(ctx, pending), {
      retryAfterSeconds,
      details: { retryAfterSeconds },
    });
  }
  return resendRecord(
    s,
    ctx,
    pending,
    input.channel === 'auto' ? undefined : input.channel,
    input,
    settings,
  );
}

async function check(
  s: Service,
  ctx: CallerContext,
  id: string,
  code: string,
  signals?: EndUserSignals,
  options?: CheckOptions,
): Promise<CheckResult> {
  const found = await s.store.findWithDeliveries(ctx.app, id);
  if (!found) return notFound(s, ctx, signals);
  return checkRecord(s, ctx, found.verification, found.deliveries, code, signals, options);
}

async function checkByNumber(
  s: Service,
  ctx: CallerContext,
  to: string,
  code: string,
  signals?: EndUserSignals,
  options?: CheckOptions,
): Promise<CheckResult> {
  const phone = await parsedOrFail(s, ctx, to, undefined, signals);
  const v = await s.store.findNewestPending(ctx.app, phone.e164, s.clock.now());
  if (!v)
    return s.fail('not_found', {
      app: ctx.app,
      ip: signals?.ip ?? ctx.clientIp,
      userAgent: signals?.userAgent ?? ctx.userAgent,
      number: phone.e164,
      country: phone.country,
    });
  return checkRecord(s, ctx, v, await s.store.listDeliveries(v.id), code, signals, options);
}

async function cancel(s: Service, ctx: CallerContext, id: string): Promise<VerificationView> {
  const v = await findOrFail(s, ctx, id);
  const now = s.clock.now();
  const blocked = blockedReason(v, now);
  if (blocked) return s.fail(blocked, eventFacts(ctx, v));
  // The 'canceled' event is appended by the cancel itself (and with it its webhook): written iff this call canceled.
  const canceled: EventRecord = {
    ...eventFacts(ctx, v),
    at: now,
    kind: 'success',
    reason: 'canceled',
  };
  if (!(await s.store.cancelPending(ctx.app, id, now, canceled))) {
    const current = (await s.store.findById(ctx.app, id)) ?? v;
    return s.fail(blockedReason(current, now) ?? 'canceled', eventFacts(ctx, v));
  }
  s.events.counted?.(canceled);
  return currentView(s, ctx, v);
}

async function approve(s: Service, ctx: CallerContext, id: string): Promise<VerificationView> {
  const v = await findOrFail(s, ctx, id);
  const facts = eventFacts(ctx, v);
  if (!(await brandAndDomain(s, v.app)).customCodes) {
    return s.fail('invalid_request', facts, {
      details: {
        errors: [
          { path: 'status', message: 'only an app using custom codes approves without a code' },
        ],
      },
      rule: 'custom_code',
    });
  }
  const blocked = blockedReason(v, s.clock.now());
  if (blocked) return s.fail(blocked, facts);
  const now = s.clock.now();
  const approved: EventRecord = {
    ...lifecycleFacts(ctx, v),
    at: now,
    kind: 'success',
    reason: 'approved',
    channel: v.channel,
  };
  if ((await s.store.takeAttempt(v.id, now, { channel: v.channel, event: approved })) === undefined)
    return refusedNow(s, ctx, v, 'already_used', facts);
  s.events.counted?.(approved);
  await s.guard.afterCheck(checkAttempt(ctx, v), 'approved');
  return currentView(s, ctx, v);
}

export function createVerificationService(deps: VerificationServiceDeps): VerificationService {
  const s: Service = {
    ...deps,
    guard: deps.guard ?? OPEN_GUARD,
    ...createFailureRecorder(deps.events, deps.clock),
  };
  return {
    defaults: deps.defaults,
    start: (ctx, input) => start(s, ctx, input),
    startOrResend: (ctx, input) => startOrResend(s, ctx, input),
    check: (ctx, id, code, signals, options) => check(s, ctx, id, code, signals, options),
    checkByNumber: (ctx, to, code, signals, options) =>
      checkByNumber(s, ctx, to, code, signals, options),
    get: async (ctx, id) => view(s, await findOrFail(s, ctx, id)),
    cancel: (ctx, id) => cancel(s, ctx, id),
    resend: async (ctx, id, channel) => resendRecord(s, ctx, await findOrFail(s, ctx, id), channel),
    approve: (ctx, id) => approve(s, ctx, id),
  };
}
