import type { Clock } from '../platform/clock.js';
import { DomainError, type DomainErrorOptions, type Reason } from '../platform/errors.js';
import { newId } from '../platform/ids.js';
import type { AppStore } from '../admin/admin.store.js';
import type { SmsProvider } from '../delivery/provider.js';
import type { EventRecord, EventRecorder } from '../events/events.js';
import { generateCode, hashCode, matchCode } from './codes.js';
import { OPEN_GUARD, type CheckAttempt, type StartAttempt, type VerificationGuard } from './guard.js';
import { renderVerificationMessage, resolveLocale } from './messages.js';
import { parsePhone, type PhoneNumber } from './phone.js';
import type { TokenIssuer } from './tokens.js';
import type { Channel, DeliveryRecord, DeliveryStatus, VerificationRecord, VerificationStore } from './verification.store.js';

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
}

export interface StartInput {
  to: string;
  country?: string | undefined;
  channel: 'sms' | 'flashcall' | 'auto';
  locale?: string | undefined;
  purpose?: string | undefined;
  ttlSeconds?: number | undefined;
  signals?: EndUserSignals | undefined;
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
  deliveries: DeliveryView[];
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
  onDelivery?: (channel: Channel, provider: string, status: string) => void;
}

export interface VerificationService {
  /** Creates a pending verification and sends its code. Throws invalid_phone, channel_unavailable. */
  start(ctx: CallerContext, input: StartInput): Promise<VerificationView>;
  /**
   * Checks a code. Approves at most once, counts every attempt atomically, and records every
   * failure. Throws not_found, expired, already_used, canceled, max_attempts_exceeded, incorrect_code.
   */
  check(ctx: CallerContext, id: string, code: string, signals?: EndUserSignals): Promise<CheckResult>;
  /** Checks a code against the newest pending verification of a number for the calling app. */
  checkByNumber(ctx: CallerContext, to: string, code: string, signals?: EndUserSignals): Promise<CheckResult>;
  get(ctx: CallerContext, id: string): Promise<VerificationView>;
  cancel(ctx: CallerContext, id: string): Promise<VerificationView>;
  /** Sends a new code after the cooldown. Throws resend_too_soon (with retry time), max_sends_exceeded. */
  resend(ctx: CallerContext, id: string, channel?: 'sms' | 'flashcall'): Promise<VerificationView>;
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

  async function fail(reason: Reason, event: Omit<EventRecord, 'at' | 'kind' | 'reason'>, options?: DomainErrorOptions): Promise<never> {
    const details = options?.figures || options?.details ? { ...options.details, ...options.figures } : undefined;
    await deps.events.record({ ...event, at: clock.now(), kind: 'failure', reason, rule: options?.rule, details });
    throw new DomainError(reason, options);
  }

  /** Runs a guard step; a refusal is recorded as a failure with its rule and figures, then rethrown. */
  async function guarded(step: () => Promise<void>, event: Omit<EventRecord, 'at' | 'kind' | 'reason'>): Promise<void> {
    try {
      await step();
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      await fail(error.reason, event, { details: error.details, retryAfterSeconds: error.retryAfterSeconds, rule: error.rule, figures: error.figures });
    }
  }

  function checkAttempt(ctx: CallerContext, v: VerificationRecord, signals?: EndUserSignals): CheckAttempt {
    return { app: ctx.app, verificationId: v.id, to: v.to, country: v.country, ip: signals?.ip ?? ctx.clientIp, userAgent: signals?.userAgent ?? ctx.userAgent };
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

  async function view(v: VerificationRecord): Promise<VerificationView> {
    const deliveries = await store.listDeliveries(v.id);
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
      deliveries: deliveries.map((d) => ({
        id: d.id,
        channel: d.channel,
        provider: d.provider,
        status: d.status,
        createdAt: iso(d.createdAt),
        updatedAt: iso(d.updatedAt),
        error: d.errorCode === null ? null : { code: d.errorCode, message: d.errorMessage ?? '' },
      })),
    };
  }

  async function brandAndDomain(app: string): Promise<{ brand: string; webOtpDomain: string | undefined; codeLength: number }> {
    const settings = await deps.apps.get(app);
    return {
      brand: settings?.brand ?? app,
      webOtpDomain: settings?.webOtpDomain ?? undefined,
      codeLength: settings?.codeLength ?? defaults.codeLength,
    };
  }

  /** Sends a fresh code for an already persisted delivery row and records the provider's answer. */
  async function deliver(ctx: CallerContext, v: VerificationRecord, delivery: DeliveryRecord, code: string, signals?: EndUserSignals): Promise<void> {
    const { brand, webOtpDomain } = await brandAndDomain(v.app);
    const body = renderVerificationMessage({
      locale: resolveLocale(v.locale),
      brand,
      code,
      ttlSeconds: Math.round((v.expiresAt - v.createdAt) / 1000),
      webOtpDomain,
    });
    const result = await deps.sms.send({ to: v.to, body, verificationId: v.id });
    const now = clock.now();
    if (result.status === 'sent') {
      await store.completeDelivery(delivery.id, { status: 'sent', providerMessageId: result.providerMessageId ?? null, errorCode: null, errorMessage: null, updatedAt: now });
      // The provider accepted the message: the denominator of delivery and conversion rates in reports.
      await deps.events.record({ ...eventFacts(ctx, v, signals), at: now, kind: 'success', reason: 'sent', channel: delivery.channel, provider: deps.sms.name });
    } else {
      await store.completeDelivery(delivery.id, { status: 'failed', providerMessageId: null, errorCode: result.errorCode, errorMessage: result.errorMessage, updatedAt: now });
      await deps.events.record({
        ...eventFacts(ctx, v, signals),
        at: now,
        kind: 'failure',
        reason: 'delivery_failed',
        provider: deps.sms.name,
        providerError: `${result.errorCode}: ${result.errorMessage}`.slice(0, 300),
      });
    }
    deps.onDelivery?.(delivery.channel, deps.sms.name, result.status);
  }

  function newDelivery(verificationId: string, channel: Channel, code: string, now: number): DeliveryRecord {
    return {
      id: newId('dlv'),
      verificationId,
      channel,
      provider: deps.sms.name,
      status: 'queued',
      codeHash: hashCode(pepper, verificationId, code),
      providerMessageId: null,
      errorCode: null,
      errorMessage: null,
      createdAt: now,
      updatedAt: now,
    };
  }

  async function findOrFail(ctx: CallerContext, id: string, signals?: EndUserSignals): Promise<VerificationRecord> {
    const v = await store.findById(ctx.app, id);
    if (!v) {
      return fail('not_found', { app: ctx.app, ip: signals?.ip ?? ctx.clientIp, userAgent: signals?.userAgent ?? ctx.userAgent });
    }
    return v;
  }

  async function checkRecord(ctx: CallerContext, v: VerificationRecord, code: string, signals?: EndUserSignals): Promise<CheckResult> {
    const facts = eventFacts(ctx, v, signals);
    const blocked = blockedReason(v, clock.now());
    if (blocked) return fail(blocked, facts);
    const attempt = checkAttempt(ctx, v, signals);
    await guarded(() => guard.beforeCheck(attempt), facts);

    const attempts = await store.reserveAttempt(v.id, clock.now());
    if (attempts === undefined) {
      // Lost a race or crossed a boundary since the read: explain from the current state.
      const current = (await store.findById(ctx.app, v.id)) ?? v;
      return fail(blockedReason(current, clock.now()) ?? 'max_attempts_exceeded', facts);
    }

    const deliveries = await store.listDeliveries(v.id);
    const matched = matchCode(pepper, v.id, code, deliveries.map((d) => d.codeHash));
    if (matched < 0) {
      const locked = attempts >= v.maxAttempts;
      if (locked) await store.lockIfExhausted(v.id);
      await guard.afterCheck(attempt, locked ? 'locked' : 'incorrect');
      const attemptsRemaining = Math.max(0, v.maxAttempts - attempts);
      return fail('incorrect_code', facts, { details: { attemptsRemaining } });
    }

    const channel = deliveries[matched]?.channel ?? v.channel;
    if (!(await store.approvePending(v.id, clock.now(), channel))) {
      const current = (await store.findById(ctx.app, v.id)) ?? v;
      return fail(blockedReason(current, clock.now()) ?? 'already_used', facts);
    }
    await guard.afterCheck(attempt, 'approved');
    const token = await deps.tokens.sign({ subject: v.to, audience: v.app, id: v.id, amr: [channel], purpose: v.purpose ?? undefined });
    await deps.events.record({ ...facts, at: clock.now(), kind: 'success', reason: 'approved', channel });
    return { id: v.id, to: v.to, status: 'approved', channel, token };
  }

  return {
    async start(ctx, input) {
      const ip = input.signals?.ip ?? ctx.clientIp;
      const userAgent = input.signals?.userAgent ?? ctx.userAgent;
      let phone: PhoneNumber;
      try {
        phone = parsePhone(input.to, input.country);
      } catch (error) {
        if (error instanceof DomainError) return fail(error.reason, { app: ctx.app, ip, userAgent });
        throw error;
      }
      if (input.channel === 'flashcall') {
        return fail('channel_unavailable', { app: ctx.app, ip, userAgent, number: phone.e164, country: phone.country, channel: 'flashcall' }, {
          details: { channel: 'flashcall' },
        });
      }
      const startAttempt: StartAttempt = {
        app: ctx.app,
        phone,
        channel: input.channel,
        ip,
        clientIp: ctx.clientIp,
        userAgent,
        deviceId: input.signals?.deviceId,
        purpose: input.purpose,
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
      const channel: Channel = 'sms';
      const now = clock.now();
      const { codeLength } = await brandAndDomain(ctx.app);
      const ttlSeconds = input.ttlSeconds ?? defaults.ttlSeconds;
      const id = newId('ver');
      const code = generateCode(codeLength);
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
        maxAttempts: defaults.maxCheckAttempts,
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
      };
      const delivery = newDelivery(id, channel, code, now);
      await store.create(v, delivery);
      await deps.events.record({ ...eventFacts(ctx, v, input.signals), at: now, kind: 'success', reason: 'started', provider: deps.sms.name, numberType: phone.type });
      await deliver(ctx, v, delivery, code, input.signals);
      return view(v);
    },

    async check(ctx, id, code, signals) {
      return checkRecord(ctx, await findOrFail(ctx, id, signals), code, signals);
    },

    async checkByNumber(ctx, to, code, signals) {
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
      return checkRecord(ctx, v, code, signals);
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
      const v = await findOrFail(ctx, id);
      const facts = eventFacts(ctx, v);
      const now = clock.now();
      const blocked = blockedReason(v, now);
      if (blocked) return fail(blocked, facts);
      if (channel === 'flashcall') return fail('channel_unavailable', { ...facts, channel: 'flashcall' }, { details: { channel: 'flashcall' } });
      const phone = parsePhone(v.to);
      await guarded(
        () =>
          guard.beforeStart({
            app: ctx.app,
            phone,
            channel: channel ?? v.channel,
            ip: v.endUserIp ?? ctx.clientIp,
            clientIp: ctx.clientIp,
            userAgent: v.endUserAgent ?? ctx.userAgent,
            deviceId: v.endUserDeviceId ?? undefined,
            purpose: v.purpose ?? undefined,
            verificationId: v.id,
          }),
        facts,
      );
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
      const code = generateCode(v.codeLength);
      const delivery = newDelivery(id, v.channel, code, now);
      await store.addDelivery(delivery);
      await deliver(ctx, v, delivery, code);
      return view((await store.findById(ctx.app, id)) ?? v);
    },
  };
}
