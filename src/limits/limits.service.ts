import type { Clock } from '../platform/clock.js';
import { DomainError } from '../platform/errors.js';
import { newId } from '../platform/ids.js';
import type { CheckAttempt, CheckOutcome, LimitState, StartAttempt, VerificationGuard } from '../verification/guard.js';
import { matchBlocklist } from './blocklist.match.js';
import { counterKeys } from './limits.counters.js';
import { SIGNAL_SCORES, type LimitsConfig } from './limits.config.js';
import { RATE_RULE_NAMES, RATE_RULES, REJECTED_NUMBER_TYPES, type RateRuleName, type RateSubject } from './limits.rules.js';
import type { AppLimitOverrides, AppLimitsStore, BlocklistStore, CounterStore } from './limits.store.js';
import { canonicalIp, subnetOf } from './ip.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** An app's limits after its overrides are applied to the environment's defaults. */
export interface EffectiveLimits {
  rates: Record<RateRuleName, number>;
  blockVoip: boolean;
  allowCountries: string[] | null;
  denyCountries: string[];
}

export function effectiveLimits(config: LimitsConfig, overrides: AppLimitOverrides | undefined): EffectiveLimits {
  return {
    rates: { ...config.rates, ...overrides?.rates },
    blockVoip: overrides?.blockVoip ?? config.blockVoip,
    allowCountries: overrides?.allowCountries ?? null,
    denyCountries: overrides?.denyCountries ?? config.geo.denyCountries,
  };
}

export interface LimitsGuardDeps {
  counters: CounterStore;
  blocklist: BlocklistStore;
  appLimits: AppLimitsStore;
  clock: Clock;
  config: LimitsConfig;
  /** Told every refusal (for metrics). */
  onRefusal?: (reason: string, rule: string) => void;
}

/** The E.164 number without its last digits: the block a pumping range usually shares. */
export function prefixOf(e164: string, suffixDigits: number): string {
  return e164.slice(0, Math.max(2, e164.length - suffixDigits));
}

function rateLimited(rule: string, resetInMs: number, figures: Record<string, unknown>): DomainError {
  const retryAfterSeconds = Math.max(1, Math.ceil(resetInMs / 1000));
  return new DomainError('rate_limited', { details: { limit: rule, retryAfterSeconds }, retryAfterSeconds, rule: `limit:${rule}`, figures });
}

/**
 * The limits and abuse rules around the verification flow (the VerificationGuard seam). Refuses with
 * rate_limited (Retry-After, the limit's name), blocked, unsupported_number_type or abuse_suspected;
 * every refusal carries the rule that fired and its figures, which the service records. Counters are
 * atomic in their store, so concurrent requests never let more than a limit through.
 */
export function createLimitsGuard(deps: LimitsGuardDeps): VerificationGuard {
  const { counters, clock, config } = deps;
  const abuse = config.abuse;

  const refuse = (error: DomainError): never => {
    deps.onRefusal?.(error.reason, error.rule ?? '');
    throw error;
  };

  async function settingsFor(app: string): Promise<EffectiveLimits> {
    return effectiveLimits(config, (await deps.appLimits.get(app))?.overrides);
  }

  async function checkHold(app: string, number: string): Promise<void> {
    const hold = await counters.peek(counterKeys.hold(app, number));
    if (hold.points > 0) refuse(rateLimited('number:hold', hold.resetInMs, { heldForMs: hold.resetInMs }));
  }

  function subjectValue(subject: RateSubject, app: string, number: string, callingCode: string, ip: string | undefined): string | undefined {
    switch (subject) {
      case 'number':
        return number;
      case 'ip':
        return ip;
      case 'subnet':
        return ip === undefined ? undefined : subnetOf(ip);
      case 'callingCode':
        return callingCode;
      case 'app':
        return app;
    }
  }

  /**
   * Takes one point from every rule of this phase; the first rule over its limit refuses. Reports
   * the tightest rule (fewest remaining) for the RateLimit-* headers, whether allowed or refused.
   */
  async function consume(
    phase: 'start' | 'check',
    app: string,
    limits: Record<RateRuleName, number>,
    subject: { number: string; callingCode: string; ip: string | undefined },
    report: ((state: LimitState) => void) | undefined,
  ): Promise<Map<RateRuleName, number>> {
    let tightest: LimitState | undefined;
    const totals = new Map<RateRuleName, number>();
    for (const name of RATE_RULE_NAMES) {
      const rule = RATE_RULES[name];
      if (rule.on !== phase) continue;
      const value = subjectValue(rule.subject, app, subject.number, subject.callingCode, subject.ip);
      if (value === undefined) continue;
      const limit = limits[name];
      const counter = await counters.hit(counterKeys.rate(name, app, value), rule.windowSeconds * 1000);
      totals.set(name, counter.points);
      const state: LimitState = {
        policy: name,
        limit,
        remaining: Math.max(0, limit - counter.points),
        windowSeconds: rule.windowSeconds,
        resetSeconds: Math.max(1, Math.ceil(counter.resetInMs / 1000)),
      };
      if (!tightest || state.remaining < tightest.remaining) tightest = state;
      if (counter.points > limit) {
        report?.(state);
        refuse(rateLimited(name, counter.resetInMs, { count: counter.points, limit, windowSeconds: rule.windowSeconds, subject: rule.subject }));
      }
    }
    if (tightest) report?.(tightest);
    return totals;
  }

  function checkNumberType(attempt: StartAttempt, settings: EffectiveLimits): void {
    const type = attempt.phone.type as string | undefined;
    if (type === undefined || REJECTED_NUMBER_TYPES.has(type)) {
      refuse(new DomainError('unsupported_number_type', { rule: 'number_type', figures: { numberType: type ?? 'UNKNOWN' } }));
    }
    // A landline cannot receive an SMS; it could take a flash call.
    if (type === 'FIXED_LINE' && attempt.channel !== 'flashcall') {
      refuse(new DomainError('unsupported_number_type', { rule: 'number_type:landline', figures: { numberType: type, channel: attempt.channel } }));
    }
    if (type === 'VOIP' && settings.blockVoip) {
      refuse(new DomainError('unsupported_number_type', { rule: 'number_type:voip', figures: { numberType: type } }));
    }
  }

  function checkGeo(attempt: StartAttempt, settings: EffectiveLimits): void {
    const country = attempt.phone.country;
    if (country === undefined) {
      if (config.geo.denyNonGeographic) refuse(new DomainError('blocked', { rule: 'geo:non_geographic', figures: { callingCode: attempt.phone.callingCode } }));
      return;
    }
    if (settings.allowCountries && !settings.allowCountries.includes(country)) {
      refuse(new DomainError('blocked', { rule: 'geo:not_allowed', figures: { country, allowCountries: settings.allowCountries } }));
    }
    if (settings.denyCountries.includes(country)) refuse(new DomainError('blocked', { rule: 'geo:denied', figures: { country } }));
  }

  /** Scores the pumping signatures of a new start; refuses when they add up to the block score. */
  async function scoreSignals(attempt: StartAttempt, prefix: string): Promise<void> {
    const { app } = attempt;
    const number = attempt.phone.e164;
    const fired: Record<string, unknown>[] = [];
    let score = 0;

    const velocity = await counters.hit(`sig:prefix:${app}:${prefix}`, 600_000);
    if (velocity.points > abuse.prefixStartsPer10m) {
      score += SIGNAL_SCORES.prefixVelocity;
      fired.push({ signal: 'prefix_velocity', prefix, starts10m: velocity.points, threshold: abuse.prefixStartsPer10m, score: SIGNAL_SCORES.prefixVelocity });
    }

    if (attempt.ip !== undefined) {
      // Distinct numbers per IP: the fan-out counter moves only on a number's first start from that IP.
      const seen = await counters.hit(`sig:seen:${app}:${attempt.ip}:${number}`, HOUR_MS);
      const fanout = await counters.hit(`sig:fanout:${app}:${attempt.ip}`, HOUR_MS, seen.points === 1 ? 1 : 0);
      if (fanout.points > abuse.ipFanoutPerHour) {
        score += SIGNAL_SCORES.ipFanout;
        fired.push({ signal: 'ip_fanout', numbersPerHour: fanout.points, threshold: abuse.ipFanoutPerHour, score: SIGNAL_SCORES.ipFanout });
      }
    }

    // Sequential numbers: a start on a number within ±2 of one started in the last hour is sequential.
    // Each start marks its own number and looks its neighbours up: four reads and one write, where
    // marking the four neighbours instead would write four rows per start.
    const digits = BigInt(number.slice(1));
    let adjacent = false;
    for (const delta of [-2n, -1n, 1n, 2n]) {
      if ((await counters.peek(`sig:started:${app}:+${(digits + delta).toString()}`)).points > 0) {
        adjacent = true;
        break;
      }
    }
    await counters.hold(`sig:started:${app}:${number}`, HOUR_MS);
    const sequential = await counters.hit(`sig:seq:${app}:${prefix}`, HOUR_MS, adjacent ? 1 : 0);
    if (sequential.points >= abuse.sequentialPerHour) {
      score += SIGNAL_SCORES.sequential;
      fired.push({ signal: 'sequential', sequentialPerHour: sequential.points, threshold: abuse.sequentialPerHour, score: SIGNAL_SCORES.sequential });
    }

    // Conversion per country: a destination whose starts are rarely approved is being pumped somewhere.
    const country = attempt.phone.country;
    if (country !== undefined) {
      const starts = await counters.hit(`conv:country:starts:${app}:${country}`, HOUR_MS);
      if (starts.points >= abuse.countryConversionMinStarts) {
        const approvals = await counters.hit(`conv:country:approved:${app}:${country}`, HOUR_MS, 0);
        if (approvals.points * 100 < abuse.conversionMinPercent * starts.points) {
          score += SIGNAL_SCORES.countryConversion;
          fired.push({ signal: 'country_conversion', country, startsPerHour: starts.points, approvedPerHour: approvals.points, minPercent: abuse.conversionMinPercent, score: SIGNAL_SCORES.countryConversion });
        }
      }
    }

    if (score >= abuse.blockScore) refuse(new DomainError('abuse_suspected', { rule: 'abuse:score', figures: { score, blockScore: abuse.blockScore, signals: fired } }));
  }

  /**
   * Conversion collapse: many starts to one prefix that are almost never approved is the SMS
   * pumping signature. The prefix is then blocked for a period, visibly (GET /v1/blocklist,
   * createdBy "auto") and reversibly (DELETE it). Starts and approvals are counted in fixed
   * one-hour windows per app; a start refused by an earlier rule is not counted.
   */
  async function checkConversion(app: string, prefix: string): Promise<void> {
    // Once decided, the prefix is not judged again for the block's duration: a block the security
    // team removes stays removed instead of being re-created by the next start.
    const decidedKey = counterKeys.decided(prefix);
    if ((await counters.peek(decidedKey)).points > 0) return;
    const starts = await counters.hit(`conv:starts:${app}:${prefix}`, HOUR_MS);
    if (starts.points < abuse.conversionMinStarts) return;
    const approvals = await counters.hit(`conv:approved:${app}:${prefix}`, HOUR_MS, 0);
    if (approvals.points * 100 >= abuse.conversionMinPercent * starts.points) return;
    const now = clock.now();
    const figures = { prefix, startsPerHour: starts.points, approvedPerHour: approvals.points, minPercent: abuse.conversionMinPercent, minStarts: abuse.conversionMinStarts };
    const entry = await deps.blocklist.insertAutoPrefixBlock(
      {
        id: newId('blk'),
        kind: 'prefix',
        value: prefix,
        action: 'block',
        reason: `conversion collapse: ${approvals.points} of ${starts.points} starts approved within an hour (app ${app})`,
        createdBy: 'auto',
        createdAt: now,
        expiresAt: now + abuse.autoBlockSeconds * 1000,
      },
      now,
    );
    await counters.hold(decidedKey, abuse.autoBlockSeconds * 1000);
    refuse(new DomainError('blocked', { rule: 'auto:conversion_collapse', figures: { ...figures, blockId: entry?.id ?? null } }));
  }

  return {
    async beforeStart(original) {
      const attempt: StartAttempt = { ...original, ip: original.ip === undefined ? undefined : canonicalIp(original.ip) };
      const { app } = attempt;
      const number = attempt.phone.e164;
      const settings = await settingsFor(app);
      await checkHold(app, number);
      checkNumberType(attempt, settings);

      const matched = matchBlocklist(await deps.blocklist.candidates({ number, country: attempt.phone.country, ip: attempt.ip }, clock.now()), {
        number,
        country: attempt.phone.country,
        ip: attempt.ip,
      });
      // An allow entry exempts from the blocklist, geo and abuse rules, never from rate limits.
      const allowed = matched?.action === 'allow';
      if (matched?.action === 'block') {
        refuse(new DomainError('blocked', { rule: `blocklist:${matched.kind}`, figures: { entryId: matched.id, kind: matched.kind, createdBy: matched.createdBy } }));
      }
      if (!allowed) checkGeo(attempt, settings);

      await consume('start', app, settings.rates, { number, callingCode: attempt.phone.callingCode, ip: attempt.ip }, attempt.onLimitState);

      if (allowed || attempt.verificationId !== undefined) return;
      const prefix = prefixOf(number, abuse.prefixSuffixDigits);
      await scoreSignals(attempt, prefix);
      await checkConversion(app, prefix);
    },

    async beforeCheck(original: CheckAttempt) {
      const attempt: CheckAttempt = { ...original, ip: original.ip === undefined ? undefined : canonicalIp(original.ip) };
      const settings = await settingsFor(attempt.app);
      await checkHold(attempt.app, attempt.to);
      const totals = await consume('check', attempt.app, settings.rates, { number: attempt.to, callingCode: '', ip: attempt.ip }, attempt.onLimitState);
      // The check that spends the last of the number's daily guess budget holds the number for a
      // full day from now: guesses in any 24 h then stay within the budget, even across windows.
      if (totals.get('number-checks:day') === settings.rates['number-checks:day']) await counters.hold(counterKeys.hold(attempt.app, attempt.to), DAY_MS);
    },

    async afterCheck(attempt: CheckAttempt, outcome: CheckOutcome) {
      if (outcome === 'approved') {
        await counters.hit(`conv:approved:${attempt.app}:${prefixOf(attempt.to, abuse.prefixSuffixDigits)}`, HOUR_MS);
        if (attempt.country !== null) await counters.hit(`conv:country:approved:${attempt.app}:${attempt.country}`, HOUR_MS);
        return;
      }
      if (outcome !== 'locked') return;
      // Repeated lock-outs hold the number for an escalating time (NIST SP 800-63B §5.2.2: limit
      // failed attempts per subscriber, not per session): the 2nd lock-out in a day holds it for
      // LOCKOUT_BASE_SECONDS, each further one doubles it, up to LOCKOUT_MAX_SECONDS.
      const lockouts = await counters.hit(counterKeys.lockouts(attempt.app, attempt.to), DAY_MS);
      if (lockouts.points < 2) return;
      const seconds = Math.min(config.lockout.maxSeconds, config.lockout.baseSeconds * 2 ** (lockouts.points - 2));
      await counters.hold(counterKeys.hold(attempt.app, attempt.to), seconds * 1000);
    },
  };
}
