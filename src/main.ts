import { setFlagsFromString } from 'node:v8';
import { serve, type ServerType } from '@hono/node-server';
import { createApp } from './app.js';
import { configOrExit } from './config.process.js';
import { createDeps } from './deps.js';
import { systemClock } from './platform/clock.js';
import { createLogger } from './platform/logger.js';
import { createMetrics } from './platform/metrics.js';
import { describeDatabase, openDatabase } from './storage/database.js';
import { startWalCheckpointer } from './storage/sqlite/checkpointer.js';
import { readPublishedSpec } from './wiring/openapi-file.js';
import { resolveSecrets } from './wiring/secrets.js';

/**
 * V8 lets the old generation grow to about four times what survived the last full collection
 * before collecting again. Under load most of what reaches the old generation is request garbage
 * promoted by a scavenge while its request was in flight, so the server idled at 130 MB and peaked
 * at 240–270 MB RSS. With the growth capped at 1.5× it peaks at 165–190 MB for the same req/s and
 * CPU per request (bench/tools/load-server.ts, docs/performance.md). No hard heap limit is set: a large
 * live set (a big report) still gets the room it needs. A flag given on the command line wins.
 */
const HEAP_GROWING_PERCENT = 50;
if (
  !process.execArgv.some(
    (flag) =>
      flag.startsWith('--heap-growing-percent') || flag.startsWith('--heap_growing_percent'),
  )
) {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}

/** The only place that touches the process: config → database → deps → app → serve → graceful shutdown. */
async function main(): Promise<void> {
  const config = configOrExit();
  const logger = createLogger({ level: config.logLevel });
  // A PostgreSQL connection dropped while idle is replaced by the pool; say so, without a stack.
  const database = await openDatabase(config.database, {
    onIdleError: (error) =>
      logger.warn({ err: error.message }, 'database connection lost; the pool reconnects'),
  });
  // SQLite: WAL checkpoints run in a worker thread, off the event loop (PostgreSQL checkpoints itself).
  const checkpointer =
    database.kind === 'sqlite'
      ? startWalCheckpointer(database, {
          intervalMs: 100,
          onError: (message) => logger.warn({ message }, 'WAL checkpoint worker'),
        })
      : undefined;
  const deps = await createDeps({
    config,
    database,
    clock: systemClock,
    logger,
    secrets: resolveSecrets(config),
    openapiYaml: readPublishedSpec(),
    metrics: createMetrics({ collectDefault: true }),
  });
  const app = createApp(deps);
  // Jobs start here, never from createApp: building an app has no side effects.
  deps.jobs.start();

  // Slow-client attacks (slowloris, a body trickled a byte at a time): a request that has not sent
  // its headers within HEADERS_TIMEOUT_MS, or all of itself within REQUEST_TIMEOUT_MS, gets 408 and
  // its socket closed. Node checks these every connectionsCheckingInterval, so that is kept short.
  // Requests whose handler is still running. A client that hangs up does not stop its handler, so
  // "no connection left" is not "no request left": shutdown waits for this to reach zero before it
  // closes the database under a handler's feet.
  let inFlight = 0;
  let drained: (() => void) | undefined;
  const tracked = async (request: Request, env: unknown): Promise<Response> => {
    inFlight += 1;
    try {
      return await app.fetch(request, env);
    } finally {
      inFlight -= 1;
      if (inFlight === 0) drained?.();
    }
  };
  const handlersDone = (): Promise<void> =>
    inFlight === 0 ? Promise.resolve() : new Promise((resolve) => (drained = resolve));

  const { headersTimeoutMs, requestTimeoutMs } = config.http;
  const serverOptions = {
    headersTimeout: headersTimeoutMs,
    requestTimeout: requestTimeoutMs,
    connectionsCheckingInterval: Math.min(1000, headersTimeoutMs),
  };
  const server: ServerType = serve(
    { fetch: tracked, port: config.port, hostname: config.host, serverOptions },
    (info) => {
      logger.info(
        {
          port: info.port,
          host: config.host,
          database: `${config.database.kind}:${describeDatabase(config.database)}`,
          sms: config.sms.provider,
          voice: config.flashCall ? config.voice.provider : 'off',
        },
        'listening',
      );
    },
  );

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: no new connections, finishing requests in flight');
    const force = setTimeout(() => {
      logger.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown timed out; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    force.unref();
    const jobsStopped = deps.jobs.stop();
    server.close(() => {
      void Promise.all([jobsStopped, handlersDone()])
        .then(() => deps.close())
        .then(() => checkpointer?.stop())
        .catch((error: unknown) => logger.error({ err: error }, 'closing dependencies failed'))
        .then(() => database.close())
        .catch((error: unknown) => logger.error({ err: error }, 'closing the database failed'))
        .finally(() => {
          logger.info('stopped');
          logger.flush();
          process.exit(0);
        });
    });
    // Keep-alive sockets that finish their request after the signal become idle later: close those
    // too, or server.close() waits for the clients to hang up and the exit becomes the forced one.
    if ('closeIdleConnections' in server) {
      server.closeIdleConnections();
      setInterval(() => server.closeIdleConnections(), 50).unref();
    }
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(
    `fatal: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
