import type { Clock } from '../platform/clock.js';
import { DomainError, type Reason } from '../platform/errors.js';
import { newId } from '../platform/ids.js';
import type { AppStore } from '../admin/admin.store.js';
import { codeFromCallingNumber } from '../delivery/flashcall.js';
import type { FallbackView, FlashCalls } from './fallback.service.js';
import { redactCode, type SendResult, type SmsProvider } from '../delivery/provider.js';
import type { EventRecord, EventRecorder } from '../events/events.js';
import { createFailureRecorder } from '../events/failures.js';
import { generateCode, hashCode, matchCode } from './codes.js';
import { OPEN_GUARD, type CheckAttempt, type LimitStateSink, type StartAttempt, type VerificationGuard } from '../limits/guard.js';
import { renderVerificationMessage, resolveLocale } from './messages.js';
import { parsePhone, type PhoneNumber } from '../platform/phone.js';
import type { TokenIssuer } from '../tokens/tokens.js';
import { canonicalTransaction, parseTransaction, serializeTransaction, transactionHash, type Transaction, type TransactionInput } from './transaction.js';
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
  check(ctx: CallerContext, id: string, code: string, signals?: EndUserSignals, options?: CheckOptions): Promise<CheckResult>;
  /** Checks a code against the newest pending verification of a number for the calling app. */
  checkByNumber(ctx: CallerContext, to: string, code: string, signals?: EndUserSignals, options?: CheckOptions): Promise<CheckResult>;
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

export function createVerificationService(deps: VerificationServiceDeps): VerificationService {
  const { store, clock, pepper, defaults } = deps;
  const guard = deps.guard ?? OPEN_GUARD;

  const { fail, guarded } = createFailureRecorder(deps.events, clock);

  function bindingOf(transaction: string | null): { transactionHash?: string } {
    return transaction === null ? {} : { transactionHash: transactionHash(parseTransaction(transaction)) };
  }

  /** The canonical transaction, or a recorded invalid_request failure. */
  async function canonicalOrFail(input: TransactionInput, event: Omit<EventRecord, 'at' | 'kind' | 'reason'>): Promise<Transaction> {
    try {
      return canonicalTransaction(input);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      return fail(error.reason, event, { details: error.details, rule: 'transaction' });
    }
  }

  function checkAttempt(ctx: CallerContext, v: VerificationRecord, signals?: EndUserSignals): CheckAttempt {
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

  function eventFacts(ctx: CallerContext, v: VerificationRecord, signals?: EndUserSignals): Omit<EventRecord, 'at' | 'kind' | 'reason'> {
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
  function lifecycleFacts(ctx: CallerContext, v: VerificationRecord): Omit<EventRecord, 'at' | 'kind' | 'reason'> {
    return { ...eventFacts(ctx, v), ip: v.endUserIp ?? v.clientIp ?? undefined, userAgent: v.endUserAgent ?? ctx.userAgent };
  }

  /** `deliveries`: the verification's deliveries when the caller has just written them all (not read again). */
  async function view(v: VerificationRecord, known?: DeliveryRecord[]): Promise<VerificationView> {
    const deliveries = known ?? (await store.listDeliveries(v.id));
    const lastCall = deliveries.filter((d) => d.channel === 'flashcall').at(-1);
    return {
      id: v.id,
      to: v.to,
      channel: v.channel,
      status: statusOf(v, clock.now()),
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
      deliveries: deliveries.map((d) => ({
        id: d.id,
        channel: d.channel,
        provider: d.provider,
        status: d.status,
        createdAt: iso(d.createdAt),
        updatedAt: iso(d.updatedAt),
        error: d.errorCode === null ? null : { code: d.errorCode, message: d.errorMessage ?? '' },
      })),
      callerIdPrefix: v.channel === 'flashcall' ? (lastCall?.callerIdPrefix ?? null) : null,
      fallback: (await deps.flashCalls?.describe(v.id)) ?? null,
    };
  }

  /** The app's message settings, read once per request and handed to what needs them. */
  async function brandAndDomain(app: string): Promise<AppMessageSettings> {
    const settings = await deps.apps.get(app);
    return {
      brand: settings?.brand ?? app,
      webOtpDomain: settings?.webOtpDomain ?? undefined,
      codeLength: settings?.codeLength ?? defaults.codeLength,
      customCodes: settings?.customCodes ?? false,
    };
  }

  /**
   * Sends a fresh code for an already persisted delivery row and records the provider's answer (the
   * delivery's new state and its event, in one write). Returns the delivery as it now is.
   */
  async function deliver(
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
    const result = await deps.sms.send({ to: v.to, body, verificationId: v.id });
    const now = clock.now();
    let patch: Pick<DeliveryRecord, 'status' | 'providerMessageId' | 'errorCode' | 'errorMessage' | 'updatedAt'>;
    let event: EventRecord;
    if (result.status === 'sent') {
      patch = { status: 'sent', providerMessageId: result.providerMessageId ?? null, errorCode: null, errorMessage: null, updatedAt: now };
      // The provider accepted the message: the denominator of delivery and conversion rates in reports.
      event = { ...lifecycleFacts(ctx, v), at: now, kind: 'success', reason: 'sent', channel: delivery.channel, provider: deps.sms.name };
    } else {
      const errorMessage = redactCode(result.errorMessage, code);
      patch = { status: 'failed', providerMessageId: null, errorCode: result.errorCode, errorMessage, updatedAt: now };
      event = {
        ...lifecycleFacts(ctx, v),
        at: now,
        kind: 'failure',
        reason: 'delivery_failed',
        provider: deps.sms.name,
        providerError: `${result.errorCode}: ${errorMessage}`.slice(0, 300),
      };
    }
    await store.completeDelivery(delivery.id, patch, event);
    deps.events.counted?.(event);
    deps.onDelivery?.(delivery.channel, deps.sms.name, result.status);
    return { result, delivery: { ...delivery, ...patch } };
  }

  function newDelivery(verificationId: string, channel: Channel, code: string, now: number, transaction: string | null): DeliveryRecord {
    return {
      id: newId('dlv', now),
      verificationId,
      channel,
      provider: deps.sms.name,
      status: 'queued',
      codeHash: hashCode(pepper, verificationId, code, bindingOf(transaction)),
      providerMessageId: null,
      errorCode: null,
      errorMessage: null,
      callerIdPrefix: null,
      createdAt: now,
      updatedAt: now,
    };
  }

  function notFound(ctx: CallerContext, signals?: EndUserSignals): Promise<never> {
    return fail('not_found', { app: ctx.app, ip: signals?.ip ?? ctx.clientIp, userAgent: signals?.userAgent ?? ctx.userAgent });
  }

  async function findOrFail(ctx: CallerContext, id: string, signals?: EndUserSignals): Promise<VerificationRecord> {
    return (await store.findById(ctx.app, id)) ?? notFound(ctx, signals);
  }

  /**
   * Checks a code against a verification and the deliveries read with it. The code is matched first,
   * then ONE guarded write takes the attempt and settles it (approves, or locks after the last
   * wrong one): a check is one read and one write. The deliveries read are every one whose code could
   * have reached the person, since each is committed before its message or call leaves.
   */
  async function checkRecord(
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
    const presented = options?.transaction ? serializeTransaction(await canonicalOrFail(options.transaction, facts)) : null;
    const blocked = blockedReason(v, clock.now());
    if (blocked) return fail(blocked, facts);
    const attempt = checkAttempt(ctx, v, signals);
    await guarded(() => guard.beforeCheck(attempt), facts);

    // A flash call's code may also come as the full calling number (an app reading the call log):
    // then only flash-call deliveries whose caller-ID prefix it carries can match.
    const calls = all.filter((d) => d.channel === 'flashcall' && d.callerIdPrefix !== null);
    const fromNumber =
      code.startsWith('+') && deps.flashCalls ? codeFromCallingNumber(code, calls.map((d) => d.callerIdPrefix ?? ''), deps.flashCalls.codeLength) : undefined;
    const deliveries = fromNumber === undefined ? all : calls;
    // The presented transaction is part of the hashed value: another amount or payee simply does not match.
    const matched = matchCode(pepper, v.id, fromNumber ?? code, deliveries.map((d) => d.codeHash), bindingOf(presented));
    const now = clock.now();

    if (matched < 0) {
      const taken = await store.takeAttempt(v.id, now);
      if (taken === undefined) {
        // Lost a race or crossed a boundary since the read: explain from the current state.
        const current = (await store.findById(ctx.app, v.id)) ?? v;
        return fail(blockedReason(current, clock.now()) ?? 'max_attempts_exceeded', facts);
      }
      await guard.afterCheck(attempt, taken.status === 'locked' ? 'locked' : 'incorrect');
      const attemptsRemaining = Math.max(0, v.maxAttempts - taken.attempts);
      return fail('incorrect_code', facts, { details: { attemptsRemaining } });
    }

    const channel = deliveries[matched]?.channel ?? v.channel;
    // The 'approved' event is appended by the approval itself: written iff this call approved.
    const approved: EventRecord = { ...lifecycleFacts(ctx, v), at: now, kind: 'success', reason: 'approved', channel };
    if ((await store.takeAttempt(v.id, now, { channel, event: approved })) === undefined) {
      const current = (await store.findById(ctx.app, v.id)) ?? v;
      return fail(blockedReason(current, clock.now()) ?? 'already_used', facts);
    }
    deps.events.counted?.(approved);
    await guard.afterCheck(attempt, 'approved');
    const binding = bindingOf(v.transaction);
    const extra = binding.transactionHash === undefined ? undefined : { txn_hash: binding.transactionHash };
    const token = await deps.tokens.sign({ subject: v.to, audience: v.app, id: v.id, amr: [channel], purpose: v.purpose ?? undefined, extra });
    return { id: v.id, to: v.to, status: 'approved', channel, token };
  }

  /**
   * Sends a new code for a verification already read (resend, and startOrResend's resend): the
   * cooldown, maxSends and the limits apply; asking for the flash call while on SMS is its fallback.
   */
  async function resendRecord(
    ctx: CallerContext,
    v: VerificationRecord,
    channel: Channel | undefined,
    overrides: MessageOverrides = {},
    known?: AppMessageSettings,
  ): Promise<VerificationView> {
    const id = v.id;
    const facts = eventFacts(ctx, v);
    const now = clock.now();
    const blocked = blockedReason(v, now);
    if (blocked) return fail(blocked, facts);
    const flash = deps.flashCalls;
    if (channel === 'flashcall' && !flash) return fail('channel_unavailable', { ...facts, channel: 'flashcall' }, { details: { channel: 'flashcall' } });
    const target: Channel = channel ?? v.channel;
    const phone = parsePhone(v.to);
    await guarded(
      () =>
        guard.beforeStart({
          app: ctx.app,
          phone,
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
    // Asking for the flash call while still on SMS is the verification's one fallback: it is
    // placed at once (no cooldown), and only once, whatever triggers race for it.
    if (flash && target === 'flashcall' && v.channel === 'sms' && (await flash.fallBack(id, 'requested'))) {
      return view((await store.findById(ctx.app, id)) ?? v);
    }
    const slot = await store.reserveSend(id, now, defaults.resendCooldownSeconds * 1000);
    if (!slot.ok) {
      if (slot.why === 'cooldown') {
        const retryAfterSeconds = Math.max(1, Math.ceil(((slot.retryAt ?? now) - now) / 1000));
        return fail('resend_too_soon', facts, { retryAfterSeconds, details: { retryAfterSeconds } });
      }
      if (slot.why === 'max_sends') return fail('max_sends_exceeded', facts);
      const current = (await store.findById(ctx.app, id)) ?? v;
      return fail(blockedReason(current, now) ?? 'expired', facts);
    }
    if (flash && target === 'flashcall') {
      const { delivery, from } = flash.prepare(id, now, bindingOf(v.transaction));
      await store.addDelivery(delivery);
      await flash.place(v, delivery, from);
      return view((await store.findById(ctx.app, id)) ?? v);
    }
    const settings = known ?? (await brandAndDomain(v.app));
    const code = generateCode(settings.codeLength);
    const delivery = newDelivery(id, 'sms', code, now, v.transaction);
    await store.addDelivery(delivery);
    await deliver(ctx, v, delivery, code, settings, overrides);
    return view((await store.findById(ctx.app, id)) ?? v);
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

  /** Whether the number parses; a failure is recorded as start records it. */
  async function parsedOrFail(ctx: CallerContext, input: StartInput): Promise<PhoneNumber> {
    try {
      return parsePhone(input.to, input.country);
    } catch (error) {
      if (error instanceof DomainError) return fail(error.reason, { app: ctx.app, ip: input.signals?.ip ?? ctx.clientIp, userAgent: input.signals?.userAgent ?? ctx.userAgent });
      throw error;
    }
  }

  /** start() once the number is parsed (startOrResend parses it once for both paths). */
  async function startParsed(ctx: CallerContext, input: StartInput, phone: PhoneNumber): Promise<VerificationView> {
    const ip = input.signals?.ip ?? ctx.clientIp;
    const userAgent = input.signals?.userAgent ?? ctx.userAgent;
    const flash = deps.flashCalls;
    if (input.channel === 'flashcall' && !flash) {
      return fail('channel_unavailable', { app: ctx.app, ip, userAgent, number: phone.e164, country: phone.country, channel: 'flashcall' }, {
        details: { channel: 'flashcall' },
      });
    }
    // A malformed transaction, or a custom code the app may not use, is refused before the limits count anything.
    const transaction = input.transaction
      ? serializeTransaction(await canonicalOrFail(input.transaction, { app: ctx.app, ip, userAgent, number: phone.e164, country: phone.country }))
      : null;
    const custom = input.code;
    let settings: AppMessageSettings | undefined;
    if (custom !== undefined) {
      settings = await brandAndDomain(ctx.app);
      const refusal = input.channel === 'flashcall' ? 'a flash call carries its own code' : settings.customCodes ? undefined : 'this app does not use custom codes';
      if (refusal) {
        return fail('invalid_request', { app: ctx.app, ip, userAgent, number: phone.e164, country: phone.country }, {
          details: { errors: [{ path: 'code', message: refusal }] },
          rule: 'custom_code',
        });
      }
    }
    // Landlines rarely take SMS: under `auto` they get the flash call straight away (not with a
    // custom code: the app checks that code itself and could not know a call's).
    const byCall = custom === undefined && flash !== undefined && (input.channel === 'flashcall' || (input.channel === 'auto' && phone.type === 'FIXED_LINE'));
    const channel: Channel = byCall ? 'flashcall' : 'sms';
    const startAttempt: StartAttempt = {
      app: ctx.app,
      phone,
      // The channel the code will actually go by, so the rules judge that (a landline may take a call).
      channel: byCall ? 'flashcall' : input.channel,
      ip,
      clientIp: ctx.clientIp,
      userAgent,
      deviceId: input.signals?.deviceId,
      purpose: input.purpose,
      onLimitState: ctx.onLimitState,
    };
    await guarded(() => guard.beforeStart(startAttempt), {
      app: ctx.app,
      ip,
      userAgent,
      number: phone.e164,
      country: phone.country,
      numberType: phone.type,
      channel: input.channel,
    });
    const now = clock.now();
    if (!settings && !(flash && byCall)) settings = await brandAndDomain(ctx.app);
    const codeLength = custom?.length ?? settings?.codeLength ?? flash?.codeLength ?? defaults.codeLength;
    const ttlSeconds = input.ttlSeconds ?? defaults.ttlSeconds;
    const id = newId('ver', now);
    const v: VerificationRecord = {
      id,
      app: ctx.app,
      to: phone.e164,
      country: phone.country ?? null,
      requestedChannel: input.channel,
      channel,
      status: 'pending',
      purpose: input.purpose ?? null,
      locale: resolveLocale(input.locale),
      codeLength,
      attempts: 0,
      maxAttempts: flash && byCall ? flash.maxAttempts : defaults.maxCheckAttempts,
      sends: 1,
      maxSends: defaults.maxSends,
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
      transaction,
    };
    if (flash && byCall) {
      const { delivery, from } = flash.prepare(id, now, bindingOf(transaction));
      const started: EventRecord = { ...eventFacts(ctx, v, input.signals), at: now, kind: 'success', reason: 'started', provider: delivery.provider, numberType: phone.type };
      await store.create(v, delivery, started);
      deps.events.counted?.(started);
      await flash.place(v, delivery, from);
      return view(v);
    }
    const code = custom ?? generateCode(codeLength);
    const delivery = newDelivery(id, channel, code, now, transaction);
    // The fallback is persisted before the verification: a crash in between leaves a row the
    // scheduler voids, never a verification without its fallback.
    const fallbackAfterMs = deps.fallbackAfterMs ?? 0;
    const fallsBack = flash !== undefined && input.channel === 'auto' && custom === undefined;
    if (fallsBack) await flash.schedule(id, fallbackAfterMs > 0 ? now + fallbackAfterMs : v.expiresAt);
    // The verification, its first delivery and its 'started' event: one atomic write.
    const started: EventRecord = { ...eventFacts(ctx, v, input.signals), at: now, kind: 'success', reason: 'started', provider: deps.sms.name, numberType: phone.type };
    await store.create(v, delivery, started);
    deps.events.counted?.(started);
    const sent = await deliver(ctx, v, delivery, code, settings ?? (await brandAndDomain(ctx.app)), input);
    if (sent.result.status === 'failed' && fallsBack && (await flash.fallBack(id, 'provider_failed'))) {
      return view((await store.findById(ctx.app, id)) ?? v);
    }
    // Its one delivery is the one just written: nothing to read back.
    return view(v, [sent.delivery]);
  }

  const service: VerificationService = {
    defaults,

    async start(ctx, input) {
      const phone = await parsedOrFail(ctx, input);
      return startParsed(ctx, input, phone);
    },

    async startOrResend(ctx, input) {
      const phone = await parsedOrFail(ctx, input);
      const now = clock.now();
      const pending = input.code === undefined ? await store.findNewestPending(ctx.app, phone.e164, now) : undefined;
      if (!pending || !sameTransaction(pending.transaction, input.transaction)) return startParsed(ctx, input, phone);
      const settings = await brandAndDomain(ctx.app);
      // An app that chooses its codes checks them itself: a generated code sent on one of its
      // verifications would be a code it cannot know. Its every start is a new verification.
      if (settings.customCodes) return startParsed(ctx, input, phone);
      if (pending.sends >= pending.maxSends) {
        // Twilio's rule: no more sends until this verification expires; then the number may start again.
        const retryAfterSeconds = Math.max(1, Math.ceil((pending.expiresAt - now) / 1000));
        return fail('max_sends_exceeded', eventFacts(ctx, pending), { retryAfterSeconds, details: { retryAfterSeconds } });
      }
      return resendRecord(ctx, pending, input.channel === 'auto' ? undefined : input.channel, input, settings);
    },

    async check(ctx, id, code, signals, options) {
      const found = await store.findWithDeliveries(ctx.app, id);
      if (!found) return notFound(ctx, signals);
      return checkRecord(ctx, found.verification, found.deliveries, code, signals, options);
    },

    async checkByNumber(ctx, to, code, signals, options) {
      const ip = signals?.ip ?? ctx.clientIp;
      const userAgent = signals?.userAgent ?? ctx.userAgent;
      let phone: PhoneNumber;
      try {
        phone = parsePhone(to);
      } catch (error) {
        if (error instanceof DomainError) return fail(error.reason, { app: ctx.app, ip, userAgent });
        throw error;
      }
      const v = await store.findNewestPending(ctx.app, phone.e164, clock.now());
      if (!v) return fail('not_found', { app: ctx.app, ip, userAgent, number: phone.e164, country: phone.country });
      return checkRecord(ctx, v, await store.listDeliveries(v.id), code, signals, options);
    },

    async get(ctx, id) {
      return view(await findOrFail(ctx, id));
    },

    async cancel(ctx, id) {
      const v = await findOrFail(ctx, id);
      const now = clock.now();
      const blocked = blockedReason(v, now);
      if (blocked) return fail(blocked, eventFacts(ctx, v));
      if (!(await store.cancelPending(ctx.app, id, now))) {
        const current = (await store.findById(ctx.app, id)) ?? v;
        return fail(blockedReason(current, now) ?? 'canceled', eventFacts(ctx, v));
      }
      await deps.events.record({ ...eventFacts(ctx, v), at: now, kind: 'success', reason: 'canceled' });
      return view((await store.findById(ctx.app, id)) ?? v);
    },

    async resend(ctx, id, channel) {
      return resendRecord(ctx, await findOrFail(ctx, id), channel);
    },

    async approve(ctx, id) {
      const v = await findOrFail(ctx, id);
      const facts = eventFacts(ctx, v);
      if (!(await brandAndDomain(v.app)).customCodes) {
        return fail('invalid_request', facts, { details: { errors: [{ path: 'status', message: 'only an app using custom codes approves without a code' }] }, rule: 'custom_code' });
      }
      const blocked = blockedReason(v, clock.now());
      if (blocked) return fail(blocked, facts);
      const now = clock.now();
      const approved: EventRecord = { ...lifecycleFacts(ctx, v), at: now, kind: 'success', reason: 'approved', channel: v.channel };
      if ((await store.takeAttempt(v.id, now, { channel: v.channel, event: approved })) === undefined) {
        const current = (await store.findById(ctx.app, v.id)) ?? v;
        return fail(blockedReason(current, clock.now()) ?? 'already_used', facts);
      }
      deps.events.counted?.(approved);
      await guard.afterCheck(checkAttempt(ctx, v), 'approved');
      return view((await store.findById(ctx.app, id)) ?? v);
    },
  };
  return service;
}
