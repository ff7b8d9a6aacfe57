import { z } from 'zod';
import { ENV_SCHEMA, type EnvName } from './config.js';
import { RATE_RULES, RATE_RULE_NAMES } from './limits/limits.rules.js';

/**
 * What every environment variable means, grouped as docs/configuration.md shows them. Defaults and
 * allowed values are read from ENV_SCHEMA itself; `satisfies` makes the compiler refuse a variable
 * the schema reads and this table does not explain (or one it explains that no longer exists).
 * `npm run docs:config` writes the page; test/config.docs.test.ts fails when it drifts.
 */
interface VariableDoc {
  group: Group;
  description: string;
  /** Shown instead of the schema's default when the default is computed (paths under DATA_DIR…). */
  defaultText?: string;
}

const GROUPS = [
  'Server',
  'Storage and secrets',
  'Codes and tokens',
  'SMS and voice providers',
  'Flash call and fallback',
  'Rate limits',
  'Abuse detection and destinations',
  'Counters in Redis',
  'Reports and retention',
  'Authenticator factors',
  'Double opt-in',
  'Webhooks',
  'HTTP hardening',
] as const;
type Group = (typeof GROUPS)[number];

const rateDocs = Object.fromEntries(
  RATE_RULE_NAMES.map((name) => {
    const rule = RATE_RULES[name];
    const window =
      rule.windowSeconds >= 86_400
        ? `${rule.windowSeconds / 86_400} day`
        : rule.windowSeconds >= 3600
          ? `${rule.windowSeconds / 3600} hour`
          : `${rule.windowSeconds / 60} minutes`;
    return [
      rule.env,
      {
        group: 'Rate limits',
        description: `Rule \`${name}\`: ${rule.what}, per ${window} (an app may override it: PUT /v1/admin/apps/{name}/limits).`,
      },
    ];
  }),
) as Record<(typeof RATE_RULES)[keyof typeof RATE_RULES]['env'], VariableDoc>;

const DOCS = {
  NODE_ENV: {
    group: 'Server',
    description:
      '`production` refuses to start with unsafe settings (a missing or weak secret, the `log` provider, plain-http callback URLs).',
  },
  HOST: { group: 'Server', description: 'Address to listen on.' },
  PORT: { group: 'Server', description: 'Port to listen on (`0`: any free port).' },
  LOG_LEVEL: { group: 'Server', description: 'pino log level; `debug` logs one line per request.' },
  SHUTDOWN_TIMEOUT_MS: {
    group: 'Server',
    description:
      'On SIGTERM, how long requests in flight may take before the process exits anyway.',
  },
  PUBLIC_BASE_URL: {
    group: 'Server',
    description:
      'Where providers reach this service: status callback URLs and the Twilio signature are built from it (https in production).',
  },
  DATA_DIR: {
    group: 'Storage and secrets',
    description:
      'The SQLite database, the log provider outbox and, in development, generated secrets.',
  },
  SQLITE_PATH: {
    group: 'Storage and secrets',
    description: 'SQLite database file, when DATABASE_URL is unset (not together with it).',
    defaultText: '`$DATA_DIR/verify.db`',
  },
  DATABASE_URL: {
    group: 'Storage and secrets',
    description:
      '`postgres://user:password@host:5432/db`: keep all state in PostgreSQL, shared by every instance, instead of SQLite.',
  },
  DATABASE_POOL_SIZE: {
    group: 'Storage and secrets',
    description: 'PostgreSQL connections per instance at most.',
  },
  OTP_PEPPER: {
    group: 'Storage and secrets',
    description:
      'Secret keying the code HMACs (32+ random characters). Required in production and with DATABASE_URL.',
    defaultText: 'development: generated in `$DATA_DIR/otp-pepper`',
  },
  ADMIN_API_KEY: {
    group: 'Storage and secrets',
    description:
      'A key with every scope (32+ characters), acting for ADMIN_APP. Unset: only keys made with the CLI or API exist.',
  },
  ADMIN_APP: {
    group: 'Storage and secrets',
    description: 'The app ADMIN_API_KEY acts for; its keys read every app’s reports.',
  },
  CODE_LENGTH: {
    group: 'Codes and tokens',
    description: 'Digits of an SMS code (an app may set its own).',
  },
  CODE_TTL_SECONDS: {
    group: 'Codes and tokens',
    description:
      'How long a verification’s codes stay valid (a start may ask for less or more within the range).',
  },
  MAX_CHECK_ATTEMPTS: {
    group: 'Codes and tokens',
    description:
      'Wrong codes before a verification locks (and a factor locks for FACTOR_LOCKOUT_SECONDS).',
  },
  RESEND_COOLDOWN_SECONDS: {
    group: 'Codes and tokens',
    description: 'Minimum time between two sends of one verification.',
  },
  MAX_SENDS: { group: 'Codes and tokens', description: 'Codes sent per verification at most.' },
  JWT_ISSUER: {
    group: 'Codes and tokens',
    description: '`iss` of the result tokens.',
    defaultText: '`http://localhost:$PORT`',
  },
  JWT_TTL_SECONDS: { group: 'Codes and tokens', description: 'Lifetime of a result token.' },
  JWT_PRIVATE_KEY: {
    group: 'Codes and tokens',
    description: 'A PKCS#8 PEM Ed25519 key to sign with; rotation through the API is then refused.',
    defaultText: 'generated and kept in the database',
  },
  SMS_PROVIDER: {
    group: 'SMS and voice providers',
    description: '`log` (a file, development only), `http` (your gateway) or `twilio`.',
  },
  OUTBOX_PATH: {
    group: 'SMS and voice providers',
    description: 'Where the log provider appends messages and calls (JSON lines).',
    defaultText: '`$DATA_DIR/outbox.jsonl`',
  },
  LOG_PROVIDER_STDOUT: {
    group: 'SMS and voice providers',
    description: 'The log provider also prints each message.',
  },
  SMS_HTTP_URL: {
    group: 'SMS and voice providers',
    description: '`http` provider: where messages are POSTed.',
  },
  SMS_HTTP_SECRET: {
    group: 'SMS and voice providers',
    description:
      '`http` provider: HMAC-SHA256 secret signing requests and callbacks (16+ characters).',
  },
  SMS_HTTP_TIMEOUT_MS: {
    group: 'SMS and voice providers',
    description: 'Timeout of one provider request (http and Twilio, SMS and voice).',
  },
  VOICE_PROVIDER: {
    group: 'SMS and voice providers',
    description: 'Flash calls: `log`, `http` or `twilio`.',
  },
  VOICE_HTTP_URL: {
    group: 'SMS and voice providers',
    description: '`http` voice gateway: where calls are POSTed.',
  },
  VOICE_HTTP_SECRET: {
    group: 'SMS and voice providers',
    description: '`http` voice gateway secret.',
    defaultText: 'SMS_HTTP_SECRET',
  },
  TWILIO_ACCOUNT_SID: {
    group: 'SMS and voice providers',
    description: 'Twilio Account SID (`AC` + 32 hex), for the `twilio` provider.',
  },
  TWILIO_AUTH_TOKEN: {
    group: 'SMS and voice providers',
    description:
      'Twilio Auth Token: authenticates requests and checks X-Twilio-Signature on callbacks.',
  },
  TWILIO_BASE_URL: {
    group: 'SMS and voice providers',
    description: 'Twilio’s REST API (https in production).',
  },
  TWILIO_FROM: {
    group: 'SMS and voice providers',
    description:
      'SMS sender: a Twilio number or alphanumeric sender ID (this or TWILIO_MESSAGING_SERVICE_SID).',
  },
  TWILIO_MESSAGING_SERVICE_SID: {
    group: 'SMS and voice providers',
    description: 'SMS sender: a Messaging Service (`MG` + 32 hex).',
  },
  PROVIDER_RETRIES: {
    group: 'SMS and voice providers',
    description: 'Retries of a transient provider failure (5xx, timeout, network).',
  },
  PROVIDER_RETRY_BASE_MS: {
    group: 'SMS and voice providers',
    description: 'First retry backoff, doubled per retry, ±50 % jitter.',
  },
  PROVIDER_BREAKER_THRESHOLD: {
    group: 'SMS and voice providers',
    description: 'Consecutive transient failures that open a provider’s circuit breaker.',
  },
  PROVIDER_BREAKER_COOLDOWN_SECONDS: {
    group: 'SMS and voice providers',
    description: 'How long an open breaker fails sends at once (so the fallback follows).',
  },
  FLASHCALL_RANGES: {
    group: 'Flash call and fallback',
    description:
      'Caller-ID ranges you own (`+33187000000-+33187999999,…`); the varying last digits are the code. Unset: no flash calls.',
  },
  FLASHCALL_WEAK_MAX_ATTEMPTS: {
    group: 'Flash call and fallback',
    description: 'Attempts of a flash-call verification when the ranges give fewer than 6 digits.',
  },
  FLASHCALL_RING_SECONDS: {
    group: 'Flash call and fallback',
    description: 'How long a Twilio flash call rings.',
  },
  FALLBACK_AFTER_SECONDS: {
    group: 'Flash call and fallback',
    description:
      'Under `channel: auto`, place the flash call when no check succeeded this long after the SMS; `0`: only on delivery failures.',
  },
  FALLBACK_POLL_MS: {
    group: 'Flash call and fallback',
    description: 'Fallback scheduler interval (the timed fallback’s worst-case lateness).',
  },
  ...rateDocs,
  TRUST_PROXY: {
    group: 'HTTP hardening',
    description:
      'Which peers may set the client address through X-Forwarded-For: unset (the socket’s address), a hop count, or CIDRs (see docs/limits-and-abuse.md).',
  },
  LOCKOUT_BASE_SECONDS: {
    group: 'Rate limits',
    description: 'A number’s second lock-out within 24 h holds it this long, doubling each time.',
  },
  LOCKOUT_MAX_SECONDS: { group: 'Rate limits', description: 'Longest hold of a number.' },
  GEO_DENY_COUNTRIES: {
    group: 'Abuse detection and destinations',
    description:
      'Countries refused (ISO codes, comma-separated, or `none`); an app may replace the list.',
  },
  GEO_DENY_NON_GEOGRAPHIC: {
    group: 'Abuse detection and destinations',
    description: 'Refuse non-geographic numbers (+800, +88x…).',
  },
  BLOCK_VOIP: {
    group: 'Abuse detection and destinations',
    description: 'Refuse VoIP numbers (an app may set its own).',
  },
  ABUSE_PREFIX_SUFFIX_DIGITS: {
    group: 'Abuse detection and destinations',
    description: 'A number’s prefix is the number without this many last digits.',
  },
  ABUSE_PREFIX_STARTS_10M: {
    group: 'Abuse detection and destinations',
    description:
      'Prefix velocity: starts to one prefix in 10 minutes above which the signal scores.',
  },
  ABUSE_IP_FANOUT_HOUR: {
    group: 'Abuse detection and destinations',
    description:
      'IP fan-out: distinct numbers one end-user IP may start in an hour before the signal scores.',
  },
  ABUSE_SEQUENTIAL_HOUR: {
    group: 'Abuse detection and destinations',
    description:
      'Sequential numbers: starts within an hour 1–2 apart in one prefix before the signal scores.',
  },
  ABUSE_BLOCK_SCORE: {
    group: 'Abuse detection and destinations',
    description: 'A start whose signal scores add up to this is refused (`abuse_suspected`).',
  },
  ABUSE_CONVERSION_MIN_STARTS: {
    group: 'Abuse detection and destinations',
    description:
      'Conversion collapse: starts to one prefix in an hour before its approval rate is judged.',
  },
  ABUSE_CONVERSION_MIN_PERCENT: {
    group: 'Abuse detection and destinations',
    description:
      'Approval rate (percent) under which a prefix is blocked automatically, and a country scores.',
  },
  ABUSE_COUNTRY_CONVERSION_MIN_STARTS: {
    group: 'Abuse detection and destinations',
    description:
      'Country conversion: starts to one country in an hour before its approval rate is judged.',
  },
  ABUSE_AUTO_BLOCK_SECONDS: {
    group: 'Abuse detection and destinations',
    description: 'How long an automatic prefix block lasts.',
  },
  REDIS_URL: {
    group: 'Counters in Redis',
    description:
      'Rate-limit counters in Redis, shared by every instance (`redis://` or `rediss://`). Unset: in the database.',
  },
  LIMITS_INSTANCES: {
    group: 'Counters in Redis',
    description:
      'Instances sharing REDIS_URL: while Redis is unreachable each allows 1/N of every budget.',
  },
  REDIS_COMMAND_TIMEOUT_MS: {
    group: 'Counters in Redis',
    description: 'A Redis command unanswered this long is answered by the in-memory insurance.',
  },
  REDIS_KEY_PREFIX: {
    group: 'Counters in Redis',
    description: 'Prefix of every key, so deployments sharing one Redis keep their counters apart.',
  },
  REPORTS_ENCRYPTION_KEY: {
    group: 'Reports and retention',
    description:
      'Secret protecting phone numbers in the event record (32+ characters). Required in production and with DATABASE_URL.',
    defaultText: 'development: generated in `$DATA_DIR/reports-key`',
  },
  REPORTS_SMS_COST: {
    group: 'Reports and retention',
    description: 'Price of one SMS, for the abuse report’s estimated cost of wasted sends.',
  },
  RETENTION_DAYS: {
    group: 'Reports and retention',
    description: 'Event records older than this are purged.',
  },
  RETENTION_BATCH_SIZE: {
    group: 'Reports and retention',
    description: 'Records the purge deletes per statement.',
  },
  RETENTION_INTERVAL_MINUTES: {
    group: 'Reports and retention',
    description: 'How often the purge runs.',
  },
  FACTOR_ENCRYPTION_KEYS: {
    group: 'Authenticator factors',
    description:
      '`kid:base64key[,…]` (32-byte keys): the first encrypts authenticator secrets, all decrypt. Required in production and with DATABASE_URL.',
    defaultText: 'development: generated in `$DATA_DIR/factor-encryption-keys`',
  },
  FACTOR_LOCKOUT_SECONDS: {
    group: 'Authenticator factors',
    description: 'How long a factor refuses every code after MAX_CHECK_ATTEMPTS failures.',
  },
  FACTORS_PER_USER: { group: 'Authenticator factors', description: 'Factors per user per app.' },
  FACTOR_ENROLMENT_TTL_SECONDS: {
    group: 'Authenticator factors',
    description: 'Time to enter the first code after enrolment.',
  },
  FACTOR_USER_CHECKS_HOUR: {
    group: 'Authenticator factors',
    description: 'Authenticator code checks per user per hour, all factors together.',
  },
  OPTIN_MAX_CONFIRM_ATTEMPTS: {
    group: 'Double opt-in',
    description: 'Wrong web codes before a sign-up locks.',
  },
  WEBHOOKS_ALLOW_PRIVATE: {
    group: 'Webhooks',
    description:
      'Allow webhook endpoints on loopback, private, link-local and metadata addresses, and plain `http://` (tests, closed networks). Refused when `NODE_ENV=production`. See [webhooks](webhooks.md).',
  },
  WEBHOOKS_TIMEOUT_MS: {
    group: 'Webhooks',
    description: 'How long one delivery attempt may take, connection to answer.',
  },
  WEBHOOKS_POLL_MS: {
    group: 'Webhooks',
    description: 'How often the delivery worker looks for due deliveries.',
  },
  WEBHOOKS_CONCURRENCY: {
    group: 'Webhooks',
    description: 'Delivery attempts in flight on one instance, all endpoints together.',
  },
  WEBHOOKS_PER_ENDPOINT: {
    group: 'Webhooks',
    description:
      'Delivery attempts in flight to one endpoint on one instance: a slow or dead endpoint holds no more.',
  },
  WEBHOOKS_RETRY_DELAYS: {
    group: 'Webhooks',
    description:
      'Seconds before each retry after a failed attempt (±10 % jitter); once spent, the delivery is marked failed.',
  },
  OPTIN_EXPIRY_POLL_MS: {
    group: 'Double opt-in',
    description: 'How often the sign-up expiry job runs.',
  },
  OPTIN_LEDGER_RETENTION_DAYS: {
    group: 'Double opt-in',
    description:
      '`0` keeps consent evidence forever; otherwise at least 1461 days (4 years: the TCPA limitation period).',
  },
  BODY_LIMIT_BYTES: {
    group: 'HTTP hardening',
    description: 'Largest request body accepted (413 above).',
  },
  HEADERS_TIMEOUT_MS: {
    group: 'HTTP hardening',
    description: 'A client must send its headers within this time (408 and closed otherwise).',
  },
  REQUEST_TIMEOUT_MS: {
    group: 'HTTP hardening',
    description: '…and its whole request, body included.',
  },
  CORS_ORIGINS: {
    group: 'HTTP hardening',
    description:
      'Comma-separated exact origins (`https://app.example`) allowed to call /v1 from a browser; no wildcard. Unset: CORS off.',
  },
} as const satisfies Record<EnvName, VariableDoc>;

interface JsonSchemaProperty {
  format?: string;
  enum?: unknown[];
  type?: string;
  minimum?: number;
  maximum?: number;
  pattern?: string;
}

const code = (value: unknown): string => `\`${String(value)}\``;

function allowed(property: JsonSchemaProperty): string {
  if (property.enum) return property.enum.map(code).join(', ');
  if (property.type === 'integer' || property.type === 'number') {
    const range = `${property.minimum ?? '…'}–${property.maximum ?? '…'}`;
    return property.type === 'integer' ? `integer ${range}` : `number ${range}`;
  }
  return property.format === 'uri' ? 'URL' : 'text';
}

/** docs/configuration.md: every variable ENV_SCHEMA reads, by group, with its default, allowed values and meaning. */
export function configurationMarkdown(): string {
  const schema = z.toJSONSchema(ENV_SCHEMA, { io: 'input', unrepresentable: 'any' }) as {
    properties: Record<string, JsonSchemaProperty>;
  };
  // The defaults as the service applies them: the schema's output for an empty environment.
  const defaults = ENV_SCHEMA.parse({}) as Record<string, unknown>;
  const entries = Object.entries(DOCS) as [EnvName, VariableDoc][];
  const lines = [
    '# Configuration',
    '',
    '<!-- Generated by `npm run docs:config` from src/config.ts and src/config.docs.ts. Do not edit by hand. -->',
    '',
    'Every setting is an environment variable, validated at start: an invalid value stops the service with one message naming every problem.',
    'With `NODE_ENV=production` the service also refuses to start with unsafe settings: a missing or weak `OTP_PEPPER`, `ADMIN_API_KEY`,',
    '`REPORTS_ENCRYPTION_KEY` or `FACTOR_ENCRYPTION_KEYS`, the `log` provider, or plain-http callback and Twilio URLs.',
    '',
    `${entries.length} variables.`,
  ];
  for (const group of GROUPS) {
    lines.push(
      '',
      `## ${group}`,
      '',
      '| Variable | Default | Allowed | Meaning |',
      '|---|---|---|---|',
    );
    for (const [name, doc] of entries.filter(([, d]) => d.group === group)) {
      const property = schema.properties[name] ?? {};
      const fallback = defaults[name] === undefined ? 'unset' : code(defaults[name]);
      lines.push(
        `| \`${name}\` | ${doc.defaultText ?? fallback} | ${allowed(property)} | ${doc.description.replace(/\|/g, '\\|')} |`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}
