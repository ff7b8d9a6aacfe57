/**
 * The catalogue of rate limits. Each is a fixed-window counter keyed by its subject within an app;
 * defaults come from the environment (limits.config.ts) and an app may override the points
 * (PUT /v1/admin/apps/{name}/limits). docs/limits-and-abuse.md lists it.
 */
export const RATE_RULES = {
  'number:10m': {
    env: 'LIMIT_NUMBER_STARTS_10M',
    points: 5,
    windowSeconds: 600,
    on: 'start',
    subject: 'number',
    what: 'starts and resends per number',
  },
  'number:day': {
    env: 'LIMIT_NUMBER_STARTS_DAY',
    points: 10,
    windowSeconds: 86_400,
    on: 'start',
    subject: 'number',
    what: 'starts and resends per number',
  },
  'ip:10m': {
    env: 'LIMIT_IP_STARTS_10M',
    points: 20,
    windowSeconds: 600,
    on: 'start',
    subject: 'ip',
    what: "starts per end-user IP (signals.ip, else the connection's address)",
  },
  'subnet:10m': {
    env: 'LIMIT_SUBNET_STARTS_10M',
    points: 60,
    windowSeconds: 600,
    on: 'start',
    subject: 'subnet',
    what: 'starts per IPv4 /24 or IPv6 /64 of the end-user IP',
  },
  'country:hour': {
    env: 'LIMIT_COUNTRY_STARTS_HOUR',
    points: 1000,
    windowSeconds: 3600,
    on: 'start',
    subject: 'callingCode',
    what: 'starts per country calling code',
  },
  'app:hour': {
    env: 'LIMIT_APP_STARTS_HOUR',
    points: 10_000,
    windowSeconds: 3600,
    on: 'start',
    subject: 'app',
    what: "starts per app (the app's global budget)",
  },
  'number-checks:day': {
    env: 'LIMIT_NUMBER_CHECKS_DAY',
    points: 20,
    windowSeconds: 86_400,
    on: 'check',
    subject: 'number',
    what: 'code checks per number across all its verifications (the daily guess budget)',
  },
  'ip-checks:hour': {
    env: 'LIMIT_IP_CHECKS_HOUR',
    points: 100,
    windowSeconds: 3600,
    on: 'check',
    subject: 'ip',
    what: 'code checks per end-user IP',
  },
} as const;

export type RateRuleName = keyof typeof RATE_RULES;
export type RateSubject = (typeof RATE_RULES)[RateRuleName]['subject'];
export const RATE_RULE_NAMES = Object.keys(RATE_RULES) as RateRuleName[];

/**
 * Number types that never get a code. Premium-rate, shared-cost, UAN and personal numbers are
 * where International Revenue Share Fraud terminates (the caller is paid per message); pagers
 * and voicemail cannot show a code; an unknown type is a range the metadata cannot vouch for.
 */
export const REJECTED_NUMBER_TYPES: ReadonlySet<string> = new Set([
  'PREMIUM_RATE',
  'SHARED_COST',
  'UAN',
  'PAGER',
  'PERSONAL_NUMBER',
  'VOICEMAIL',
]);

/**
 * The shipped high-risk destinations, denied unless an app's own lists say otherwise (override with
 * GEO_DENY_COUNTRIES or per app). A starting point, not an authority: small Pacific and Atlantic
 * territories whose ranges are commonly used for SMS pumping / IRSF termination, plus CU and KP.
 */
export const DEFAULT_DENY_COUNTRIES = [
  'CU',
  'KP',
  'SO',
  'TK',
  'NU',
  'NR',
  'TV',
  'KI',
  'WF',
  'SH',
  'GW',
  'ST',
  'SB',
  'TO',
  'VU',
] as const;
