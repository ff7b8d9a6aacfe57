import { writeFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { stringify } from 'yaml';
import { createAdminService, SCOPES, type Scope } from './admin/admin.service.js';
import { appSettingsView, createdKeyView, keySummaryView } from './admin/admin.views.js';
import { createApp, openApiDocument } from './app.js';
import { loadConfig, type Config } from './config.js';
import { configurationMarkdown } from './config.docs.js';
import { configOrExit } from './config.process.js';
import { createDeps } from './deps.js';
import { createNumberProtector } from './events/number-protection.js';
import { createRetentionJob } from './jobs/retention.js';
import { systemClock } from './platform/clock.js';
import { createLogger } from './platform/logger.js';
import { describeDatabase, openDatabase, type Database } from './storage/database.js';
import { openSqlite } from './storage/sqlite/db.js';
import { createStores, type Stores } from './storage/index.js';
import { rotateSigningKey } from './tokens/tokens.js';
import { accountSidFor } from './platform/twilio-sids.js';
import { resolvePepper, resolveReportsSecret, resolveSecrets } from './wiring/secrets.js';

/** Offline commands on the same services and database the server uses. */

const config = (): Config => configOrExit();

/** Opens the configured database (SQLite, or PostgreSQL when DATABASE_URL is set), applying pending migrations. */
async function withDatabase<T>(
  run: (database: Database, cfg: Config, stores: () => Stores) => Promise<T>,
): Promise<T> {
  const cfg = config();
  const database = await openDatabase(cfg.database);
  try {
    return await run(database, cfg, () =>
      createStores(database, {
        clock: systemClock,
        protector: createNumberProtector(resolveReportsSecret(cfg)),
      }),
    );
  } finally {
    await database.close();
  }
}

function adminService(stores: Stores, cfg: Config) {
  return createAdminService({
    keys: stores.apiKeys,
    apps: stores.apps,
    clock: systemClock,
    adminApp: cfg.adminApp,
    accountSid: accountSidFor(resolvePepper(cfg)),
  });
}

function parseScopes(value: string): Scope[] {
  const scopes = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
  if (scopes.length === 0 || unknown.length > 0)
    throw new InvalidArgumentError(
      `scopes must be a comma-separated list of: ${SCOPES.join(', ')}`,
    );
  return scopes as Scope[];
}

function parseCodeLength(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 4 || n > 10)
    throw new InvalidArgumentError('code length must be an integer from 4 to 10');
  return n;
}

const print = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
};

const program = new Command()
  .name('otp-verify')
  .description('Offline administration of the OTP verification service');

const keys = program.command('keys').description('API keys');
keys
  .command('create')
  .description('create an API key for an app (the key is printed once)')
  .requiredOption('--app <name>', 'app name (brand in messages, JWT audience)')
  .requiredOption('--scopes <list>', `comma-separated: ${SCOPES.join(', ')}`, parseScopes)
  .action(async (opts: { app: string; scopes: Scope[] }) => {
    if (!/^[a-z0-9][a-z0-9_-]{0,62}$/.test(opts.app))
      throw new InvalidArgumentError('app must be lower-case letters, digits, _ or -');
    await withDatabase(async (_d, cfg, stores) =>
      print(
        createdKeyView(
          await adminService(stores(), cfg).createKey({ app: opts.app, scopes: opts.scopes }),
        ),
      ),
    );
  });
keys
  .command('list')
  .description('list API keys (never their secrets)')
  .action(async () =>
    withDatabase(async (_d, cfg, stores) =>
      print((await adminService(stores(), cfg).listKeys()).map(keySummaryView)),
    ),
  );
keys
  .command('revoke <id>')
  .description('revoke an API key')
  .action(async (id: string) =>
    withDatabase(async (_d, cfg, stores) => {
      await adminService(stores(), cfg).revokeKey(id);
      print({ revoked: id });
    }),
  );

program
  .command('apps')
  .description('app settings')
  .command('set <name>')
  .option('--brand <text>', 'name shown in messages')
  .option('--code-length <n>', 'code length (4-10)', parseCodeLength)
  .option('--webotp-domain <domain>', 'WebOTP origin for the last message line')
  .action(
    async (name: string, opts: { brand?: string; codeLength?: number; webotpDomain?: string }) =>
      withDatabase(async (_d, cfg, stores) =>
        print(
          appSettingsView(
            await adminService(stores(), cfg).updateApp(name, {
              brand: opts.brand,
              codeLength: opts.codeLength,
              webOtpDomain: opts.webotpDomain,
            }),
          ),
        ),
      ),
  );

program
  .command('signing-keys')
  .description('JWT signing keys')
  .command('rotate')
  .description(
    'generate a new signing key; old public keys stay published until their tokens expire',
  )
  .action(async () =>
    withDatabase(async (_d, _cfg, stores) =>
      print({ kid: await rotateSigningKey(stores().signingKeys, Date.now()) }),
    ),
  );

program
  .command('factors')
  .description('authenticator-app factors')
  .command('reseal')
  .description(
    're-encrypt every factor secret under the first key of FACTOR_ENCRYPTION_KEYS (run after putting a new key first)',
  )
  .action(async () =>
    withDatabase(async (database, cfg) => {
      const deps = await createDeps({
        config: cfg,
        database,
        clock: systemClock,
        logger: createLogger({ level: 'silent' }),
        secrets: resolveSecrets(cfg),
      });
      let total = 0;
      for (
        let batch = await deps.factors.reseal(500);
        batch > 0;
        batch = await deps.factors.reseal(500)
      )
        total += batch;
      print({ resealed: total });
    }),
  );

program
  .command('migrate')
  .description('apply database migrations (the server also does this on start)')
  .action(async () =>
    withDatabase((database, cfg) =>
      Promise.resolve(print({ migrated: describeDatabase(cfg.database), dialect: database.kind })),
    ),
  );

program
  .command('purge')
  .description(
    'delete event records older than RETENTION_DAYS now (the server also does this every RETENTION_INTERVAL_MINUTES)',
  )
  .action(async () =>
    withDatabase(async (_d, cfg, stores) => {
      const job = createRetentionJob({
        store: stores().eventRetention,
        clock: systemClock,
        logger: createLogger({ level: 'silent' }),
        retentionDays: cfg.reports.retentionDays,
        batchSize: cfg.reports.retentionBatchSize,
      });
      print({ deleted: await job.runOnce(), retentionDays: cfg.reports.retentionDays });
    }),
  );

program
  .command('openapi')
  .description('print the OpenAPI document generated from the route definitions')
  .option('--write <file>', 'write it to a file instead')
  .action(async (opts: { write?: string }) => {
    const yaml = await generateOpenApiYaml();
    if (opts.write) writeFileSync(opts.write, yaml);
    else process.stdout.write(yaml);
  });

program
  .command('config-docs')
  .description(
    'print docs/configuration.md: every environment variable, generated from the config schema',
  )
  .option('--write <file>', 'write it to a file instead')
  .action((opts: { write?: string }) => {
    const markdown = configurationMarkdown();
    if (opts.write) writeFileSync(opts.write, markdown);
    else process.stdout.write(markdown);
  });

/** The OpenAPI YAML exactly as committed: generated from a throw-away in-memory app. */
export async function generateOpenApiYaml(): Promise<string> {
  const cfg = loadConfig({
    NODE_ENV: 'test',
    OTP_PEPPER: 'x'.repeat(32),
    FACTOR_ENCRYPTION_KEYS: `openapi:${Buffer.alloc(32).toString('base64')}`,
  });
  const database = openSqlite(':memory:');
  try {
    const deps = await createDeps({
      config: cfg,
      database,
      clock: systemClock,
      logger: createLogger({ level: 'silent' }),
      secrets: {
        pepper: Buffer.alloc(32),
        reportsSecret: Buffer.alloc(32),
        factorKeys: cfg.factors.encryptionKeys ?? [],
      },
    });
    return `# Generated by \`npm run openapi\` from the route definitions in src/. Do not edit by hand.\n${stringify(openApiDocument(createApp(deps)), { lineWidth: 0 })}`;
  } finally {
    database.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  program.parseAsync(process.argv).catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
