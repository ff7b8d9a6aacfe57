import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { expect } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createDeps, type AppDeps } from '../../src/deps.js';
import type { SmsProvider, VoiceProvider } from '../../src/delivery/provider.js';
import type { BlockStatusReader } from '../../src/reports/block-status.js';
import { createNumberProtector } from '../../src/events/number-protection.js';
import { createLogger } from '../../src/platform/logger.js';
import type { Database } from '../../src/storage/database.js';
import { openPostgres } from '../../src/storage/postgres/db.js';
import pg from 'pg';
import { openSqlite, type SqliteHandle } from '../../src/storage/sqlite/db.js';
import { createFakeClock, type FakeClock } from './fake-clock.js';
import {
  dropLeasedDatabases,
  leaseTestDatabase,
  POSTGRES_SKIP_REASON,
  type LeasedDatabase,
} from './postgres.js';
import { readPublishedSpec } from '../../src/wiring/openapi-file.js';
import { resolveSecrets } from '../../src/wiring/secrets.js';

/**
 * Limits and abuse thresholds raised out of the way, for tests whose subject is not the limits
 * (they start many verifications to neighbouring numbers from one address).
 */
export const RELAXED_LIMITS: Record<string, string> = {
  LIMIT_NUMBER_STARTS_10M: '1000',
  LIMIT_NUMBER_STARTS_DAY: '1000',
  LIMIT_IP_STARTS_10M: '100000',
  LIMIT_SUBNET_STARTS_10M: '100000',
  LIMIT_NUMBER_CHECKS_DAY: '100000',
  LIMIT_IP_CHECKS_HOUR: '100000',
  ABUSE_PREFIX_STARTS_10M: '1000000',
  ABUSE_IP_FANOUT_HOUR: '1000000',
  ABUSE_SEQUENTIAL_HOUR: '1000000',
  ABUSE_CONVERSION_MIN_STARTS: '1000000',
  ABUSE_COUNTRY_CONVERSION_MIN_STARTS: '10000000',
};

export const ADMIN_KEY = 'test-admin-key-0123456789abcdefghijklmnop';
export const REPORTS_KEY = 'test-reports-key-0123456789abcdefghijklmnop';
const numbers = createNumberProtector(Buffer.from(REPORTS_KEY, 'utf8'));

/** The phone number of an event row (`number_enc`), decrypted as the reports scope would. */
export function revealNumber(encrypted: string | null): string | null {
  return encrypted === null ? null : (numbers.reveal(encrypted) ?? null);
}

export const PEPPER = 'test-pepper-0123456789abcdefghijklmnopqrstuvwxyz';

export interface OutboxLine {
  time: string;
  channel: string;
  to: string;
  body: string;
  verificationId: string;
  from?: string;
}

export interface TestApp {
  app: App;
  deps: AppDeps;
  config: Config;
  clock: FakeClock;
  /** The SQLite database, for tests that read its rows directly; throws when the app runs on PostgreSQL. */
  database: SqliteHandle;
  /** The database the app runs on, whichever its dialect. */
  storage: Database;
  /** The rows of one SQL statement with `?` placeholders, on either dialect (PostgreSQL bigints read as numbers). */
  rows<T = Record<string, unknown>>(text: string, ...params: unknown[]): Promise<T[]>;
  outboxPath: string;
  /** Every line of the log provider's outbox. */
  outbox(): OutboxLine[];
  /** The code in the newest message for a verification, read from the outbox like a person would. */
  codeFor(verificationId: string): string;
  /** A JSON request with a bearer key (the admin key unless told), as from `clientIp`. */
  call(
    method: string,
    path: string,
    options?: {
      body?: unknown;
      key?: string | null;
      clientIp?: string;
      headers?: Record<string, string>;
    },
  ): Promise<Response>;
  /** Creates an API key through the admin API and returns the bearer secret. */
  createKey(app: string, scopes: string[]): Promise<string>;
  verifyToken(token: string, audience: string): Promise<JWTPayload>;
  /** Releases the app; on PostgreSQL its database is emptied for the next app in the background (see settleTestApps). */
  close(): void;
}

export type TestStorage = 'sqlite' | 'postgres';

/** The storage test apps use unless told: TEST_STORAGE=postgres (the PostgreSQL vitest project) or SQLite. */
export const TEST_STORAGE: TestStorage =
  process.env.TEST_STORAGE === 'postgres' ? 'postgres' : 'sqlite';

const teardowns = new Set<Promise<void>>();
const sharedUrls = new WeakMap<Database, string>();

/**
 * Waits until every closed PostgreSQL test app has released its database, then drops them all
 * (the PostgreSQL project's setup file calls it after each file; call it in afterAll otherwise).
 */
export async function settleTestApps(): Promise<void> {
  while (teardowns.size > 0) await Promise.all([...teardowns]);
  await dropLeasedDatabases();
}

export interface TestAppOptions {
  env?: Record<string, string>;
  sms?: SmsProvider;
  voice?: VoiceProvider;
  /** A database file path to reuse (restart tests); in-memory otherwise. SQLite only. */
  sqlitePath?: string;
  /** SQLite (in memory) or PostgreSQL (a fresh database on DATABASE_URL's server); TEST_STORAGE when absent. */
  storage?: TestStorage;
  /** PostgreSQL: the URL the app connects to, from its test database's (e.g. through a proxy the test controls). */
  postgresVia?: (url: string) => string;
  /** Another instance on that app's database (its SQLite file, or its PostgreSQL database through a pool of its own). */
  sameDatabaseAs?: TestApp;
  clock?: FakeClock;
  /** The blocklist's view for the abuse report (tests of the report pass a fake). */
  blockStatus?: BlockStatusReader;
}

/**
 * Builds the whole service on a fresh database (in-memory SQLite, or with `storage: 'postgres'` /
 * TEST_STORAGE=postgres a new PostgreSQL database), a fake clock and the log provider.
 */
export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const shared = options.sameDatabaseAs?.storage;
  const storageKind =
    shared?.kind ??
    (options.sqlitePath !== undefined ? 'sqlite' : (options.storage ?? TEST_STORAGE));
  if (storageKind === 'postgres' && POSTGRES_SKIP_REASON)
    throw new Error(`createTestApp({ storage: 'postgres' }): ${POSTGRES_SKIP_REASON}`);
  const dir = mkdtempSync(join(tmpdir(), 'otp-test-'));
  const outboxPath = join(dir, 'outbox.jsonl');
  const config = loadConfig({
    NODE_ENV: 'test',
    OTP_PEPPER: PEPPER,
    REPORTS_ENCRYPTION_KEY: REPORTS_KEY,
    ADMIN_API_KEY: ADMIN_KEY,
    DATA_DIR: dir,
    OUTBOX_PATH: outboxPath,
    LOG_PROVIDER_STDOUT: 'false',
    JWT_ISSUER: 'http://verify.test',
    // The PostgreSQL project runs with Redis too when REDIS_URL is set (CI): PostgreSQL + Redis, as
    // scaled-out deployments run. Each app gets its own key prefix on the shared Redis.
    ...(storageKind === 'postgres' && process.env.REDIS_URL
      ? {
          REDIS_URL: process.env.REDIS_URL,
          REDIS_KEY_PREFIX: `test-${randomBytes(6).toString('hex')}`,
        }
      : {}),
    ...options.env,
  });
  const clock = options.clock ?? createFakeClock();
  let testDatabase: LeasedDatabase | undefined;
  let database: Database;
  if (shared?.kind === 'sqlite') {
    if (shared.raw.memory)
      throw new Error(
        'sameDatabaseAs: that app runs on an in-memory database; give it a sqlitePath',
      );
    database = openSqlite(shared.raw.name);
  } else if (shared?.kind === 'postgres') {
    // The owner releases the database when it closes; this instance only has a pool on it.
    database = await openPostgres(sharedUrls.get(shared)!, { poolSize: 4 });
  } else if (storageKind === 'postgres') {
    testDatabase = await leaseTestDatabase();
    database = await openPostgres(options.postgresVia?.(testDatabase.url) ?? testDatabase.url, {
      poolSize: 4,
    });
    sharedUrls.set(database, testDatabase.url);
  } else {
    database = openSqlite(options.sqlitePath ?? ':memory:');
  }
  const deps = await createDeps({
    config,
    database,
    clock,
    logger: createLogger({ level: 'silent' }),
    secrets: resolveSecrets(config),
    openapiYaml: readPublishedSpec(),
    sms: options.sms,
    voice: options.voice,
    blockStatus: options.blockStatus,
  });
  const app = createApp(deps);

  const outbox = (): OutboxLine[] =>
    existsSync(outboxPath)
      ? readFileSync(outboxPath, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as OutboxLine)
      : [];

  const call: TestApp['call'] = (method, path, callOptions = {}) => {
    const headers: Record<string, string> = { ...callOptions.headers };
    const key = callOptions.key === undefined ? ADMIN_KEY : callOptions.key;
    if (key !== null) headers.authorization = `Bearer ${key}`;
    let body: string | undefined;
    if (callOptions.body !== undefined) {
      body =
        typeof callOptions.body === 'string' ? callOptions.body : JSON.stringify(callOptions.body);
      headers['content-type'] ??= 'application/json';
    }
    return Promise.resolve(
      app.request(
        path,
        { method, headers, body },
        { incoming: { socket: { remoteAddress: callOptions.clientIp ?? '198.51.100.10' } } },
      ),
    );
  };

  return {
    app,
    deps,
    config,
    clock,
    get database(): SqliteHandle {
      if (database.kind !== 'sqlite')
        throw new Error(
          'this test reads SQLite rows (t.database): it cannot run on PostgreSQL; use t.storage or the HTTP API',
        );
      return database;
    },
    storage: database,
    rows: (text, ...params) => queryRows(database, text, params),
    outboxPath,
    outbox,
    codeFor(verificationId) {
      const message = outbox()
        .filter((line) => line.verificationId === verificationId)
        .at(-1);
      const code = message?.body.match(/\b(\d{4,10})\b/)?.[1];
      if (!code) throw new Error(`no code in the outbox for ${verificationId}`);
      return code;
    },
    call,
    async createKey(appName, scopes) {
      const response = await call('POST', '/v1/admin/api-keys', { body: { app: appName, scopes } });
      expect(response.status).toBe(201);
      return ((await response.json()) as { key: string }).key;
    },
    async verifyToken(token, audience) {
      const jwks = createLocalJWKSet(await deps.tokens.jwks());
      const { payload } = await jwtVerify(token, jwks, {
        issuer: 'http://verify.test',
        audience,
        currentDate: new Date(clock.now()),
      });
      return payload;
    },
    close() {
      const closing = deps.close();
      if (database.kind === 'sqlite') {
        database.close();
        void closing;
        return;
      }
      const pg = database;
      const teardown = closing
        .then(() => pg.close())
        .then(() => testDatabase?.release())
        .finally(() => teardowns.delete(teardown));
      teardown.catch(() => undefined); // reported by settleTestApps, not as an unhandled rejection
      teardowns.add(teardown);
    },
  };
}

const INT8_OID = 20;
/** count(*) and epoch-ms columns are int8: numbers here, as SQLite gives them. */
const parseDefault = pg.types.getTypeParser as (
  oid: number,
  format?: 'text',
) => (value: string) => unknown;
const readInt8AsNumber = (oid: number, format?: 'text'): ((value: string) => unknown) =>
  oid === INT8_OID ? Number : parseDefault(oid, format);

async function queryRows<T>(database: Database, text: string, params: unknown[]): Promise<T[]> {
  if (database.kind === 'sqlite') return database.raw.prepare(text).all(...params) as T[];
  let n = 0;
  const result = await database.pool.query({
    text: text.replace(/\?/g, () => `$${++n}`),
    values: params,
    types: { getTypeParser: readInt8AsNumber as typeof pg.types.getTypeParser },
  });
  return result.rows as T[];
}

/** Asserts an RFC 9457 problem with this status and reason, and returns its body. */
export async function expectProblem(
  response: Response,
  status: number,
  reason: string,
): Promise<Record<string, unknown>> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  expect(response.headers.get('content-type')).toBe('application/problem+json');
  const body = JSON.parse(text) as Record<string, unknown>;
  expect(body.reason).toBe(reason);
  expect(body.status).toBe(status);
  expect(typeof body.title).toBe('string');
  expect(text).not.toMatch(/\n\s+at /); // never a stack trace
  return body;
}

export interface StartedVerification {
  id: string;
  to: string;
  status: string;
  channel: string;
  expiresAt: string;
  deliveries: {
    status: string;
    error: { code: string; message: string } | null;
    provider: string;
    channel: string;
  }[];
  attempts: number;
  attemptsRemaining: number;
}

export async function startVerification(
  t: TestApp,
  body: Record<string, unknown> = { to: '+14155550123' },
  key?: string,
): Promise<StartedVerification> {
  const response = await t.call('POST', '/v1/verifications', { body, key });
  const text = await response.text();
  expect(response.status, text).toBe(201);
  return JSON.parse(text) as StartedVerification;
}
