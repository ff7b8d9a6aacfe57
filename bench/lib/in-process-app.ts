import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, type App } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createDeps, type AppDeps } from '../../src/deps.js';
import { systemClock, type Clock } from '../../src/platform/clock.js';
import { createLogger } from '../../src/platform/logger.js';
import { openDatabase, type Database } from '../../src/storage/database.js';
import { postgresBackend, type Backend } from './backend.js';
import { RAISED_LIMITS } from './raised-limits.js';
import { resolveSecrets } from '../../src/wiring/secrets.js';
import { readPublishedSpec } from '../../src/wiring/openapi-file.js';

/** The secrets of an in-process app: fixed, so a tool or test can hash codes and read protected numbers as the app does. */
export const IN_PROCESS_SECRETS = {
  adminKey: 'bench-admin-key-0123456789abcdefghijklmnop',
  pepper: 'bench-pepper-0123456789abcdefghijklmnopqrstuvwxyz',
  reportsKey: 'bench-reports-key-0123456789abcdefghijklmnop',
} as const;

/** One message the log provider appended to the outbox. */
export interface OutboxLine {
  verificationId: string;
  body: string;
  to: string;
}

export interface InProcessAppOptions {
  /** A SQLite database file to run on (kept afterwards); a fresh one in a temporary directory when absent. */
  sqlitePath?: string;
  /**
   * postgres://… of a server where databases may be created: the app runs on a database of its
   * own there (otp_bench_<random>, migrated), dropped on close. Takes precedence over sqlitePath.
   */
  databaseUrl?: string;
  /** redis://… for the rate-limit counters, under a key prefix of this app's own. */
  redisUrl?: string;
  /** More server environment, over RAISED_LIMITS and the defaults. */
  env?: Record<string, string>;
  /** systemClock unless told (a test seeding rows at a fixed time passes a fixed clock). */
  clock?: Clock;
  /** Where notices go (the PostgreSQL database it could not create, …); stderr unless told. */
  log?: (line: string) => void;
}

/**
 * The service built in this process as src/main.ts builds it (loadConfig → openDatabase →
 * createDeps → createApp), without a socket: for tools that count what a request costs in SQL,
 * and for tests of the seeder. Limits are RAISED_LIMITS, the SMS provider is the log provider
 * writing to an outbox file, the logger is silent.
 */
export interface InProcessApp {
  app: App;
  deps: AppDeps;
  config: Config;
  database: Database;
  outboxPath: string;
  /** A JSON request through app.request, with a bearer key (the admin key unless told), from `clientIp`. */
  call(
    method: string,
    path: string,
    options?: { body?: unknown; key?: string; clientIp?: string },
  ): Promise<Response>;
  /** Every message of the outbox, oldest first. */
  outbox(): OutboxLine[];
  /** The code of each verification's newest message, read from the outbox as a person reads it. */
  codes(): Map<string, string>;
  /** Creates an API key through the admin API and returns its bearer secret. */
  createKey(app: string, scopes: string[]): Promise<string>;
  /** Closes the app and its database; drops the PostgreSQL database and the temporary directory it made. */
  close(): Promise<void>;
}

const CODE = /(?<!\d)(\d{4,10})(?!\d)/;

export async function createInProcessApp(options: InProcessAppOptions = {}): Promise<InProcessApp> {
  const log = options.log ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const dir = mkdtempSync(join(tmpdir(), 'otp-bench-app-'));
  const outboxPath = join(dir, 'outbox.jsonl');
  let backend: Backend | undefined;
  if (options.databaseUrl)
    backend = await postgresBackend(
      options.databaseUrl,
      `app_${randomBytes(4).toString('hex')}`,
      log,
    );
  const config = loadConfig({
    NODE_ENV: 'development',
    OTP_PEPPER: IN_PROCESS_SECRETS.pepper,
    REPORTS_ENCRYPTION_KEY: IN_PROCESS_SECRETS.reportsKey,
    ADMIN_API_KEY: IN_PROCESS_SECRETS.adminKey,
    // Instances sharing PostgreSQL must share their secrets (config refuses DATABASE_URL without them).
    FACTOR_ENCRYPTION_KEYS: `bench:${randomBytes(32).toString('base64')}`,
    DATA_DIR: dir,
    OUTBOX_PATH: outboxPath,
    LOG_PROVIDER_STDOUT: 'false',
    ...(backend
      ? backend.serverEnv
      : { SQLITE_PATH: options.sqlitePath ?? join(dir, 'verify.db') }),
    ...(options.redisUrl
      ? { REDIS_URL: options.redisUrl, REDIS_KEY_PREFIX: `bench-${randomBytes(6).toString('hex')}` }
      : {}),
    ...RAISED_LIMITS,
    ...options.env,
  });
  const database = await openDatabase(config.database);
  const deps = await createDeps({
    config,
    database,
    clock: options.clock ?? systemClock,
    logger: createLogger({ level: 'silent' }),
    secrets: resolveSecrets(config),
    openapiYaml: readPublishedSpec(),
  });
  const app = createApp(deps);

  const call: InProcessApp['call'] = (method, path, callOptions = {}) => {
    const headers: Record<string, string> = {
      authorization: `Bearer ${callOptions.key ?? IN_PROCESS_SECRETS.adminKey}`,
    };
    let body: string | undefined;
    if (callOptions.body !== undefined) {
      body = JSON.stringify(callOptions.body);
      headers['content-type'] = 'application/json';
    }
    return Promise.resolve(
      app.request(
        path,
        { method, headers, body },
        { incoming: { socket: { remoteAddress: callOptions.clientIp ?? '198.51.100.10' } } },
      ),
    );
  };
  const outbox = (): OutboxLine[] =>
    existsSync(outboxPath)
      ? readFileSync(outboxPath, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as OutboxLine)
      : [];

  return {
    app,
    deps,
    config,
    database,
    outboxPath,
    call,
    outbox,
    codes: () =>
      new Map(
        outbox().flatMap((line) =>
          CODE.test(line.body) ? [[line.verificationId, CODE.exec(line.body)![1]!] as const] : [],
        ),
      ),
    async createKey(appName, scopes) {
      const response = await call('POST', '/v1/admin/api-keys', { body: { app: appName, scopes } });
      if (response.status !== 201)
        throw new Error(
          `creating an API key answered ${response.status}: ${await response.text()}`,
        );
      return ((await response.json()) as { key: string }).key;
    },
    async close() {
      try {
        await deps.close();
        await database.close();
      } finally {
        const cleaned = await backend?.cleanup({ keep: false, app: '' });
        if (cleaned) log(`bench: ${cleaned}`);
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
