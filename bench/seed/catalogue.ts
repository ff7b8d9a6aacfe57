/**
 * What seeded rows are made of: destinations, failure reasons with the rule and details the service
 * records for each (src/verification/verification.service.ts, src/limits/limits.service.ts,
 * src/http/auth.ts, src/app.ts), provider errors and user agents. Weights are relative shares.
 */

export interface Destination {
  country: string;
  weight: number;
  locale: string;
  /** A mobile number of the country: its fixed part, then as many random digits as `digits`. */
  prefixes: readonly string[];
  digits: number;
}

/** Where verifications go, mobile ranges only (what an OTP service mostly sees). */
export const DESTINATIONS: readonly Destination[] = [
  {
    country: 'FR',
    weight: 20,
    locale: 'fr',
    prefixes: [
      '+3361',
      '+3362',
      '+3364',
      '+3365',
      '+3366',
      '+3367',
      '+3368',
      '+3375',
      '+3376',
      '+3377',
      '+3378',
    ],
    digits: 7,
  },
  {
    country: 'US',
    weight: 18,
    locale: 'en',
    prefixes: ['+12125', '+13105', '+14155', '+16465', '+17025', '+19175'],
    digits: 6,
  },
  {
    country: 'GB',
    weight: 10,
    locale: 'en',
    prefixes: ['+4474', '+4475', '+4477', '+4478', '+4479'],
    digits: 8,
  },
  {
    country: 'IN',
    weight: 10,
    locale: 'en',
    prefixes: ['+9170', '+9190', '+9198', '+9199'],
    digits: 8,
  },
  {
    country: 'DE',
    weight: 8,
    locale: 'de',
    prefixes: ['+49151', '+49160', '+49170', '+49176'],
    digits: 8,
  },
  { country: 'BR', weight: 7, locale: 'en', prefixes: ['+55119', '+55219'], digits: 8 },
  {
    country: 'NG',
    weight: 5,
    locale: 'en',
    prefixes: ['+234803', '+234806', '+234813'],
    digits: 7,
  },
  { country: 'ID', weight: 5, locale: 'en', prefixes: ['+62812', '+62813', '+62857'], digits: 8 },
  { country: 'PH', weight: 4, locale: 'en', prefixes: ['+63917', '+63918', '+63927'], digits: 7 },
  { country: 'ES', weight: 4, locale: 'es', prefixes: ['+346'], digits: 8 },
  { country: 'UA', weight: 3, locale: 'uk', prefixes: ['+38050', '+38067'], digits: 7 },
  { country: 'IT', weight: 3, locale: 'en', prefixes: ['+3933'], digits: 8 },
  // Small territories whose ranges are used for SMS pumping: they show up in refusals, not approvals.
  { country: 'TK', weight: 1, locale: 'en', prefixes: ['+6907'], digits: 3 },
  { country: 'SO', weight: 1, locale: 'en', prefixes: ['+25261'], digits: 7 },
];

/** Where a failure of the start phase that looks like pumping goes instead of DESTINATIONS. */
export const PUMPED_COUNTRIES: readonly string[] = ['TK', 'SO', 'NG', 'ID'];

export const USER_AGENTS: readonly (string | null)[] = [
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.3 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 15; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/132.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/132.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.2 Safari/605.1.15',
  'okhttp/4.12.0',
  'MyApp/5.2.1 (iOS 18.3)',
  'python-requests/2.32.3',
  null,
];

export const PROVIDERS: readonly string[] = ['twilio', 'http'];

/** `<code>: <message>` as a provider answers a refused message (Twilio's error codes, a gateway's own). */
export const PROVIDER_ERRORS: readonly string[] = [
  '30003: Unreachable destination handset',
  '30005: Unknown destination handset',
  '30006: Landline or unreachable carrier',
  '30007: Message filtered by the carrier',
  '30008: Unknown error',
  '21610: Attempt to send to unsubscribed recipient',
  '21408: Permission to send an SMS has not been enabled for the region indicated by the "To" number',
  'timeout: the provider did not answer within 5000 ms',
  'http_503: Service Unavailable',
];

/** Which facts of a request a failure carries. */
export type FailurePhase =
  /** Before the number was parsed or the caller known: no number, no verification. */
  | 'request'
  /** A start refused by a rule: number, country, number type; no verification yet. */
  | 'start'
  /** A check or resend on an existing verification: number and verification id. */
  | 'verification';

export interface FailureKind {
  reason: string;
  weight: number;
  phase: FailurePhase;
  /** No API key behind it (an unauthenticated request): no app. */
  anonymous?: boolean;
  /** The rule (and details) the service records with this reason. */
  rule?: (
    pick: Picker,
    country: string | null,
  ) => { rule: string | null; details: Record<string, unknown> | null };
  channel?: string;
}

/** Random choices a rule can make (given by the seeder, so runs are reproducible). */
export interface Picker {
  int(min: number, max: number): number;
  one<T>(items: readonly T[]): T;
}

const RATE_LIMITS = [
  { limit: 'number:10m', windowSeconds: 600, subject: 'number', limitPoints: 5 },
  { limit: 'number:day', windowSeconds: 86_400, subject: 'number', limitPoints: 10 },
  { limit: 'ip:10m', windowSeconds: 600, subject: 'ip', limitPoints: 20 },
  { limit: 'subnet:10m', windowSeconds: 600, subject: 'subnet', limitPoints: 60 },
  { limit: 'country:hour', windowSeconds: 3600, subject: 'callingCode', limitPoints: 1000 },
  { limit: 'number-checks:day', windowSeconds: 86_400, subject: 'number', limitPoints: 20 },
  { limit: 'ip-checks:hour', windowSeconds: 3600, subject: 'ip', limitPoints: 100 },
] as const;

/** The failure reasons of the event record, in roughly the shares a public OTP endpoint sees. */
export const FAILURE_KINDS: readonly FailureKind[] = [
  {
    reason: 'incorrect_code',
    weight: 30,
    phase: 'verification',
    rule: (p) => ({ rule: null, details: { attemptsRemaining: p.int(0, 4) } }),
  },
  {
    reason: 'rate_limited',
    weight: 14,
    phase: 'start',
    rule: (p) => {
      const r = p.one(RATE_LIMITS);
      const retryAfterSeconds = p.int(1, r.windowSeconds);
      return {
        rule: `limit:${r.limit}`,
        details: {
          limit: r.limit,
          retryAfterSeconds,
          count: r.limitPoints + 1,
          windowSeconds: r.windowSeconds,
          subject: r.subject,
        },
      };
    },
  },
  {
    reason: 'invalid_phone',
    weight: 10,
    phase: 'request',
    rule: (p) => ({ rule: p.int(0, 1) === 0 ? 'schema' : null, details: null }),
  },
  { reason: 'expired', weight: 8, phase: 'verification' },
  { reason: 'delivery_failed', weight: 7, phase: 'verification', channel: 'sms' },
  {
    reason: 'blocked',
    weight: 5,
    phase: 'start',
    rule: (p, country) => {
      switch (p.int(0, 3)) {
        case 0:
          return { rule: 'geo:denied', details: { country } };
        case 1:
          return {
            rule: 'blocklist:prefix',
            details: {
              entryId: `blk_${p.int(100000, 999999)}`,
              kind: 'prefix',
              createdBy: 'admin',
            },
          };
        case 2:
          return {
            rule: 'auto:conversion_collapse',
            details: {
              startsPerHour: p.int(20, 400),
              approvedPerHour: p.int(0, 3),
              minPercent: 20,
              minStarts: 20,
            },
          };
        default:
          return { rule: 'geo:non_geographic', details: { callingCode: '882' } };
      }
    },
  },
  {
    reason: 'abuse_suspected',
    weight: 4,
    phase: 'start',
    rule: (p) => ({
      rule: 'abuse:score',
      details: {
        score: 110,
        blockScore: 100,
        signals: [
          { signal: 'prefix_velocity', starts10m: p.int(11, 300), threshold: 10, score: 60 },
          { signal: 'sequential', sequentialPerHour: p.int(3, 40), threshold: 3, score: 50 },
        ],
      },
    }),
  },
  {
    reason: 'unauthorized',
    weight: 4,
    phase: 'request',
    anonymous: true,
    rule: (p) => ({
      rule: p.one(['invalid_key', 'missing_key', 'invalid_key', 'duplicate_key']),
      details: null,
    }),
  },
  { reason: 'max_attempts_exceeded', weight: 3, phase: 'verification' },
  { reason: 'not_found', weight: 3, phase: 'request' },
  {
    reason: 'unsupported_number_type',
    weight: 3,
    phase: 'start',
    rule: (p) => {
      const [rule, numberType] = p.one([
        ['number_type', 'PREMIUM_RATE'],
        ['number_type', 'UNKNOWN'],
        ['number_type:landline', 'FIXED_LINE'],
        ['number_type:voip', 'VOIP'],
      ] as const);
      return { rule, details: { numberType } };
    },
  },
  {
    reason: 'resend_too_soon',
    weight: 3,
    phase: 'verification',
    rule: (p) => ({ rule: null, details: { retryAfterSeconds: p.int(1, 30) } }),
  },
  { reason: 'already_used', weight: 2, phase: 'verification' },
  { reason: 'max_sends_exceeded', weight: 1, phase: 'verification' },
  {
    reason: 'forbidden',
    weight: 1,
    phase: 'request',
    rule: () => ({ rule: 'scope:verify', details: null }),
  },
  { reason: 'canceled', weight: 1, phase: 'verification' },
  { reason: 'invalid_signature', weight: 0.5, phase: 'request', anonymous: true },
  {
    reason: 'channel_unavailable',
    weight: 0.5,
    phase: 'start',
    channel: 'flashcall',
    rule: () => ({ rule: null, details: { channel: 'flashcall' } }),
  },
];
