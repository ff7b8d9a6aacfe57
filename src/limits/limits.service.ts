import type { Clock } from '../platform/clock.js';
import { DomainError } from '../platform/errors.js';
import { newId } from '../platform/ids.js';
import type {
  CheckAttempt,
  CheckOutcome,
  LimitState,
  StartAttempt,
  VerificationGuard,
} from './guard.js';
import { matchBlocklist } from './blocklist.match.js';
import { counterKeys } from './limits.counters.js';
import { SIGNAL_SCORES, type LimitsConfig } from './limits.config.js';
import {
  RATE_RULE_NAMES,
  RATE_RULES,
  REJECTED_NUMBER_TYPES,
  type RateRuleName,
  type RateSubject,
} from './limits.rules.js';
import type {
  AppLimitOverrides,
  AppLimitsStore,
  BlocklistStore,
  CounterHit,
  CounterState,
  CounterStore,
} from './limits.store.js';
import { canonicalIp, subnetOf } from '../platform/ip.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** An app's limits after its overrides are applied to the environment's defaults. */
export interface EffectiveLimits {
  rates: Record<RateRuleName, number>;
  blockVoip: boolean;
  allowCountries: string[] | null;
  denyCountries: string[];
}

export function effectiveLimits(
  config: LimitsConfig,
  overrides: AppLimitOverrides | undefined,
): EffectiveLimits {
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

function rateLimited(
  rule: string,
  resetInMs: number,
  figures: Record<string, unknown>,
): DomainError {
  const retryAfterSeconds = Math.max(1, Math.ceil(resetInMs / 1000));
  return new DomainError('rate_limited', {
    details: { limit: rule, retryAfterSeconds },
    retryAfterSeconds,
    rule: `limit:${rule}`,
    figures,
  });
}

/**
 * The limits and abuse rules around the verification flow (the VerificationGuard seam). Refuses with
 * rate_limited (Retry-After, the limit's name), blocked, unsupported_number_type or abuse_suspected;
 * every refusal carries the rule that fired and its figures, which the service records. Counters are
 * atomic in their store, so concurrent requests never let more than a limit through.
 */
export function createLimitsGuard(deps: LimitsGuardDeps): VerificationGuard {
  return {
    beforeStart: (attempt) => beforeStart(deps, attempt),
    beforeCheck: (attempt) => beforeCheck(deps, attempt),
    afterCheck: (attempt, outcome) => afterCheck(deps, attempt, outcome),
  };
}

function refuse(deps: LimitsGuardDeps, error: DomainError): never {
  deps.onRefusal?.(error.reason, error.rule ?? '');
  throw error;
}

async function settingsFor(deps: LimitsGuardDeps, app: string): Promise<EffectiveLimits> {
  return effectiveLimits(deps.config, (await deps.appLimits.get(app))?.overrides);
}

function checkHold(deps: LimitsGuardDeps, hold: CounterState): void {
  if (hold.points > 0)
    refuse(deps, rateLimited('number:hold', hold.resetInMs, { heldForMs: hold.resetInMs }));
}

/** Runs one batch over named items (absent entries skipped) and gives each result its item's name. */
async function named<K extends string, T>(
  counters: CounterStore,
  items: Partial<Record<K, T>>,
  run: (counters: CounterStore, batch: T[]) => Promise<CounterState[]>,
): Promise<Partial<Record<K, CounterState>>> {
  const names = Object.keys(items) as K[];
  const results = await run(
    counters,
    names.map((name) => items[name] as T),
  );
  return Object.fromEntries(names.map((name, i) => [name, results[i]])) as Partial<
    Record<K, CounterState>
  >;
}

// The batches `named` runs, as module functions: a closure over the store would be allocated on every start.
const peekAll = (counters: CounterStore, keys: string[]): Promise<CounterState[]> =>
  counters.peekMany(keys);
const hitAll = (counters: CounterStore, hits: CounterHit[]): Promise<CounterState[]> =>
  counters.hitMany(hits);

function subjectValue(
  subject: RateSubject,
  app: string,
  number: string,
  callingCode: string,
  ip: string | undefined,
): string | undefined {
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
 * Takes one point from every rule of this phase, in catalogue order (narrowest first), in one
 * batch (CounterStore.hitUntil); the first rule over its limit refuses, and the rules after it
 * are not counted: a flood one number's limit refuses does not spend its IP's, country's or
 * app's budget. Reports the tightest rule (fewest remaining) for the RateLimit-* headers,
 * whether allowed or refused.
 */
async function consume(
  deps: LimitsGuardDeps,
  phase: 'start' | 'check',
  app: string,
  limits: Record<RateRuleName, number>,
  subject: { number: string; callingCode: string; ip: string | undefined },
  report: ((state: LimitState) => void) | undefined,
): Promise<Map<RateRuleName, number>> {
  const rules: { name: RateRuleName; key: string; windowSeconds: number }[] = [];
  for (const name of RATE_RULE_NAMES) {
    const rule = RATE_RULES[name];
    if (rule.on !== phase) continue;
    const value = subjectValue(rule.subject, app, subject.number, subject.callingCode, subject.ip);
    if (value !== undefined)
      rules.push({
        name,
        key: counterKeys.rate(name, app, value),
        windowSeconds: rule.windowSeconds,
      });
  }
  const results = await deps.counters.hitUntil(
    rules.map((r) => ({ key: r.key, windowMs: r.windowSeconds * 1000, limit: limits[r.name] })),
  );
  let tightest: LimitState | undefined;
  const totals = new Map<RateRuleName, number>();
  for (const [i, counter] of results.entries()) {
    const { name, windowSeconds } = rules[i] as (typeof rules)[number];
    const limit = limits[name];
    totals.set(name, counter.points);
    const state: LimitState = {
      policy: name,
      limit,
      remaining: Math.max(0, limit - counter.points),
      windowSeconds,
      resetSeconds: Math.max(1, Math.ceil(counter.resetInMs / 1000)),
    };
    if (!tightest || state.remaining < tightest.remaining) tightest = state;
    if (counter.points > limit) {
      report?.(state);
      refuse(
        deps,
        rateLimited(name, counter.resetInMs, {
          count: counter.points,
          limit,
          windowSeconds,
          subject: RATE_RULES[name].subject,
        }),
      );
    }
  }
  if (tightest) report?.(tightest);
  return totals;
}

function checkNumberType(
  deps: LimitsGuardDeps,
  attempt: StartAttempt,
  settings: EffectiveLimits,
): void {
  const type = attempt.phone.type as string | undefined;
  if (type === undefined || REJECTED_NUMBER_TYPES.has(type)) {
    refuse(
      deps,
      new DomainError('unsupported_number_type', {
        rule: 'number_type',
        figures: { numberType: type ?? 'UNKNOWN' },
      }),
    );
  }
  // A landline cannot receive an SMS; it could take a flash call.
  if (type === 'FIXED_LINE' && attempt.channel !== 'flashcall') {
    refuse(
      deps,
      new DomainError('unsupported_number_type', {
        rule: 'number_type:landline',
        figures: { numberType: type, channel: attempt.channel },
      }),
    );
  }
  if (type === 'VOIP' && settings.blockVoip) {
    refuse(
      deps,
      new DomainError('unsupported_number_type', {
        rule: 'number_type:voip',
        figures: { numberType: type },
      }),
    );
  }
}

function checkGeo(deps: LimitsGuardDeps, attempt: StartAttempt, settings: EffectiveLimits): void {
  const country = attempt.phone.country;
  if (country === undefined) {
    if (deps.config.geo.denyNonGeographic)
      refuse(
        deps,
        new DomainError('blocked', {
          rule: 'geo:non_geographic',
          figures: { callingCode: attempt.phone.callingCode },
        }),
      );
    return;
  }
  if (settings.allowCountries && !settings.allowCountries.includes(country)) {
    refuse(
      deps,
      new DomainError('blocked', {
        rule: 'geo:not_allowed',
        figures: { country, allowCountries: settings.allowCountries },
      }),
    );
  }
  if (settings.denyCountries.includes(country))
    refuse(deps, new DomainError('blocked', { rule: 'geo:denied', figures: { country } }));
}

/** The counters a new start's rules read, looked up in one batch before anything is counted. */
type Mark =
  'hold' | 'decided' | 'fanout' | 'convApprovals' | 'countryApprovals' | `started${number}`;
const NEIGHBOURS = [-2n, -1n, 1n, 2n];

function markKeys(
  attempt: StartAttempt,
  prefix: string,
  scored: boolean,
): Partial<Record<Mark, string>> {
  const { app } = attempt;
  const number = attempt.phone.e164;
  const keys: Partial<Record<Mark, string>> = { hold: counterKeys.hold(app, number) };
  if (!scored) return keys;
  // Sequential numbers: a start on a number within ±2 of one started in the last hour is sequential.
  // Each start marks its own number and looks its neighbours up, where marking the four
  // neighbours instead would write four rows per start.
  const digits = BigInt(number.slice(1));
  NEIGHBOURS.forEach(
    (delta, i) =>
      (keys[`started${i}`] = counterKeys.started(app, `+${(digits + delta).toString()}`)),
  );
  keys.decided = counterKeys.decided(prefix);
  keys.convApprovals = counterKeys.prefixApprovals(app, prefix);
  if (attempt.ip !== undefined) keys.fanout = counterKeys.fanout(app, attempt.ip);
  if (attempt.phone.country !== undefined)
    keys.countryApprovals = counterKeys.countryApprovals(app, attempt.phone.country);
  return keys;
}

type SignalHit = Partial<
  Record<'velocity' | 'seen' | 'sequential' | 'countryStarts', CounterState>
>;

/** Moves a start's signal counters in one batch, and marks its number as started (for the sequence signal). */
async function signalCounters(
  deps: LimitsGuardDeps,
  attempt: StartAttempt,
  prefix: string,
  adjacent: boolean,
): Promise<SignalHit> {
  const { counters } = deps;
  const { app } = attempt;
  const number = attempt.phone.e164;
  const country = attempt.phone.country;
  const [hit] = await Promise.all([
    named<'velocity' | 'seen' | 'sequential' | 'countryStarts', CounterHit>(
      counters,
      {
        velocity: { key: `sig:prefix:${app}:${prefix}`, windowMs: 600_000 },
        ...(attempt.ip === undefined
          ? {}
          : { seen: { key: `sig:seen:${app}:${attempt.ip}:${number}`, windowMs: HOUR_MS } }),
        sequential: { key: `sig:seq:${app}:${prefix}`, windowMs: HOUR_MS, cost: adjacent ? 1 : 0 },
        ...(country === undefined
          ? {}
          : { countryStarts: { key: `conv:country:starts:${app}:${country}`, windowMs: HOUR_MS } }),
      },
      hitAll,
    ),
    counters.hold(counterKeys.started(app, number), HOUR_MS),
  ]);

  return hit;
}

/**
 * Scores the pumping signatures of a new start; refuses when they add up to the block score.
 * Its counters move in one batch (the fan-out counter in a second, on a number's first start
 * from an IP); what it compares with was read in the marks.
 */
async function scoreSignals(
  deps: LimitsGuardDeps,
  attempt: StartAttempt,
  prefix: string,
  marks: Partial<Record<Mark, CounterState>>,
): Promise<void> {
  const { counters } = deps;
  const abuse = deps.config.abuse;
  const { app } = attempt;
  const country = attempt.phone.country;
  const fired: Record<string, unknown>[] = [];
  let score = 0;
  const adjacent = NEIGHBOURS.some((_, i) => (marks[`started${i}`]?.points ?? 0) > 0);

  const hit = await signalCounters(deps, attempt, prefix, adjacent);

  const velocity = hit.velocity as CounterState;
  if (velocity.points > abuse.prefixStartsPer10m) {
    score += SIGNAL_SCORES.prefixVelocity;
    fired.push({
      signal: 'prefix_velocity',
      prefix,
      starts10m: velocity.points,
      threshold: abuse.prefixStartsPer10m,
      score: SIGNAL_SCORES.prefixVelocity,
    });
  }

  if (attempt.ip !== undefined) {
    // Distinct numbers per IP: the fan-out counter moves only on a number's first start from that IP.
    const fanout =
      hit.seen?.points === 1
        ? await counters.hit(counterKeys.fanout(app, attempt.ip), HOUR_MS)
        : (marks.fanout ?? { points: 0, resetInMs: 0 });
    if (fanout.points > abuse.ipFanoutPerHour) {
      score += SIGNAL_SCORES.ipFanout;
      fired.push({
        signal: 'ip_fanout',
        numbersPerHour: fanout.points,
        threshold: abuse.ipFanoutPerHour,
        score: SIGNAL_SCORES.ipFanout,
      });
    }
  }

  const sequential = hit.sequential as CounterState;
  if (sequential.points >= abuse.sequentialPerHour) {
    score += SIGNAL_SCORES.sequential;
    fired.push({
      signal: 'sequential',
      sequentialPerHour: sequential.points,
      threshold: abuse.sequentialPerHour,
      score: SIGNAL_SCORES.sequential,
    });
  }

  // Conversion per country: a destination whose starts are rarely approved is being pumped somewhere.
  const starts = hit.countryStarts;
  if (
    country !== undefined &&
    starts !== undefined &&
    starts.points >= abuse.countryConversionMinStarts
  ) {
    const approvals = marks.countryApprovals?.points ?? 0;
    if (approvals * 100 < abuse.conversionMinPercent * starts.points) {
      score += SIGNAL_SCORES.countryConversion;
      fired.push({
        signal: 'country_conversion',
        country,
        startsPerHour: starts.points,
        approvedPerHour: approvals,
        minPercent: abuse.conversionMinPercent,
        score: SIGNAL_SCORES.countryConversion,
      });
    }
  }

  if (score >= abuse.blockScore)
    refuse(
      deps,
      new DomainError('abuse_suspected', {
        rule: 'abuse:score',
        figures: { score, blockScore: abuse.blockScore, signals: fired },
      }),
    );
}

/**
 * Conversion collapse: many starts to one prefix that are almost never approved is the SMS
 * pumping signature. The prefix is then blocked for a period, visibly (GET /v1/blocklist,
 * createdBy "auto") and reversibly (DELETE it). Starts and approvals are counted in fixed
 * one-hour windows per app; a start refused by an earlier rule is not counted.
 */
async function checkConversion(
  deps: LimitsGuardDeps,
  app: string,
  prefix: string,
  marks: Partial<Record<Mark, CounterState>>,
): Promise<void> {
  const { counters } = deps;
  const abuse = deps.config.abuse;
  // Once decided, the prefix is not judged again for the block's duration: a block the security
  // team removes stays removed instead of being re-created by the next start.
  if ((marks.decided?.points ?? 0) > 0) return;
  const starts = await counters.hit(`conv:starts:${app}:${prefix}`, HOUR_MS);
  if (starts.points < abuse.conversionMinStarts) return;
  const approvals = marks.convApprovals?.points ?? 0;
  if (approvals * 100 >= abuse.conversionMinPercent * starts.points) return;
  const now = deps.clock.now();
  const figures = {
    prefix,
    startsPerHour: starts.points,
    approvedPerHour: approvals,
    minPercent: abuse.conversionMinPercent,
    minStarts: abuse.conversionMinStarts,
  };
  const entry = await deps.blocklist.insertAutoPrefixBlock(
    {
      id: newId('blk', now),
      kind: 'prefix',
      value: prefix,
      action: 'block',
      reason: `conversion collapse: ${approvals} of ${starts.points} starts approved within an hour (app ${app})`,
      createdBy: 'auto',
      createdAt: now,
      expiresAt: now + abuse.autoBlockSeconds * 1000,
    },
    now,
  );
  await counters.hold(counterKeys.decided(prefix), abuse.autoBlockSeconds * 1000);
  refuse(
    deps,
    new DomainError('blocked', {
      rule: 'auto:conversion_collapse',
      figures: { ...figures, blockId: entry?.id ?? null },
    }),
  );
}

async function beforeStart(deps: LimitsGuardDeps, original: StartAttempt): Promise<void> {
  const attempt: StartAttempt = {
    ...original,
    ip: original.ip === undefined ? undefined : canonicalIp(original.ip),
  };
  const { app } = attempt;
  const number = attempt.phone.e164;
  const prefix = prefixOf(number, deps.config.abuse.prefixSuffixDigits);
  // A resend is counted by the rate limits but not scored again.
  const scored = attempt.verificationId === undefined;
  const subject = { number, country: attempt.phone.country, ip: attempt.ip };
  // Everything the rules read, read at once (side-effect free: the order of refusals below is the rules' order).
  const [settings, marks, candidates] = await Promise.all([
    settingsFor(deps, app),
    named(deps.counters, markKeys(attempt, prefix, scored), peekAll),
    deps.blocklist.candidates(subject, deps.clock.now()),
  ]);
  checkHold(deps, marks.hold as CounterState);
  checkNumberType(deps, attempt, settings);

  const matched = matchBlocklist(candidates, subject);
  // An allow entry exempts from the blocklist, geo and abuse rules, never from rate limits.
  const allowed = matched?.action === 'allow';
  if (matched?.action === 'block') {
    refuse(
      deps,
      new DomainError('blocked', {
        rule: `blocklist:${matched.kind}`,
        figures: { entryId: matched.id, kind: matched.kind, createdBy: matched.createdBy },
      }),
    );
  }
  if (!allowed) checkGeo(deps, attempt, settings);

  await consume(
    deps,
    'start',
    app,
    settings.rates,
    { number, callingCode: attempt.phone.callingCode, ip: attempt.ip },
    attempt.onLimitState,
  );

  if (allowed || !scored) return;
  await scoreSignals(deps, attempt, prefix, marks);
  await checkConversion(deps, app, prefix, marks);
}

async function beforeCheck(deps: LimitsGuardDeps, original: CheckAttempt): Promise<void> {
  const { counters } = deps;
  const attempt: CheckAttempt = {
    ...original,
    ip: original.ip === undefined ? undefined : canonicalIp(original.ip),
  };
  const [settings, hold] = await Promise.all([
    settingsFor(deps, attempt.app),
    counters.peek(counterKeys.hold(attempt.app, attempt.to)),
  ]);
  checkHold(deps, hold);
  const totals = await consume(
    deps,
    'check',
    attempt.app,
    settings.rates,
    { number: attempt.to, callingCode: '', ip: attempt.ip },
    attempt.onLimitState,
  );
  // The check that spends the last of the number's daily guess budget holds the number for a
  // full day from now: guesses in any 24 h then stay within the budget, even across windows.
  if (totals.get('number-checks:day') === settings.rates['number-checks:day'])
    await counters.hold(counterKeys.hold(attempt.app, attempt.to), DAY_MS);
}

async function afterCheck(
  deps: LimitsGuardDeps,
  attempt: CheckAttempt,
  outcome: CheckOutcome,
): Promise<void> {
  const { counters, config } = deps;
  if (outcome === 'approved') {
    const prefixApprovals = {
      key: counterKeys.prefixApprovals(
        attempt.app,
        prefixOf(attempt.to, config.abuse.prefixSuffixDigits),
      ),
      windowMs: HOUR_MS,
    };
    await counters.hitMany(
      attempt.country === null
        ? [prefixApprovals]
        : [
            prefixApprovals,
            { key: counterKeys.countryApprovals(attempt.app, attempt.country), windowMs: HOUR_MS },
          ],
    );
    return;
  }
  if (outcome !== 'locked') return;
  // Repeated lock-outs hold the number for an escalating time (NIST SP 800-63B §5.2.2: limit
  // failed attempts per subscriber, not per session): the 2nd lock-out in a day holds it for
  // LOCKOUT_BASE_SECONDS, each further one doubles it, up to LOCKOUT_MAX_SECONDS.
  const lockouts = await counters.hit(counterKeys.lockouts(attempt.app, attempt.to), DAY_MS);
  if (lockouts.points < 2) return;
  const seconds = Math.min(
    config.lockout.maxSeconds,
    config.lockout.baseSeconds * 2 ** (lockouts.points - 2),
  );
  await counters.hold(counterKeys.hold(attempt.app, attempt.to), seconds * 1000);
}
