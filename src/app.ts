import { OpenAPIHono } from '@hono/zod-openapi';
import type { Hook } from '@hono/zod-openapi';
import { HTTPException } from 'hono/http-exception';
import { except } from 'hono/combine';
import { requestId } from 'hono/request-id';
import type { MiddlewareHandler } from 'hono';
import { createAdminRouter } from './admin/admin.router.js';
import { createFactorsRouter } from './factors/factors.router.js';
import { createInboundRouter } from './optin/optin-inbound.router.js';
import { createOptinRouter } from './optin/optin.router.js';
import { createWebhookRouter } from './delivery/webhooks.router.js';
import type { AppEnv } from './http/app-env.js';
import { authenticate, requireScope } from './http/auth.js';
import { declaredBodyLimit } from './http/body-limit.js';
import { clientAddress, getClientAddress } from './http/client-address.js';
import { rateLimitHeaders } from './http/rate-limit-headers.js';
import { declaredScopes } from './http/scopes.js';
import { corsPolicy, htmlPolicy, securityHeaders } from './http/security-headers.js';
import { createAppLimitsRouter } from './limits/app-limits.router.js';
import { createBlocklistRouter } from './limits/blocklist.router.js';
import { createWebhooksRouter } from './webhooks/webhooks.router.js';
import { problem } from './http/problem.js';
import { createSystemRouter } from './http/system.router.js';
import { isDomainError, type Reason } from './platform/errors.js';
import { createVerificationRouter } from './verification/verification.router.js';
import { createDashboardRouter } from './reports/dashboard.router.js';
import { createReportsRouter } from './reports/reports.router.js';
import { TAG as TWILIO_VERIFY_TAG } from './twilio-verify/twilio-verify.routes.js';
import { createTwilioVerifyRouter, twilioBodyLimit } from './twilio-verify/twilio-verify.router.js';
import type { AppDeps } from './app-deps.js';

export type App = OpenAPIHono<AppEnv>;

/** How long a client should wait before retrying when the database is unreachable (the pool reconnects by itself). */
const STORAGE_RETRY_AFTER_SECONDS = 5;

/** Fields whose invalid shape has a reason of their own (a malformed `to` is an invalid phone number). */
const FIELD_REASONS: Record<string, Reason> = { to: 'invalid_phone' };

function validationHook(deps: AppDeps): Hook<unknown, AppEnv, string, unknown> {
  return async function onInvalidInput(result, c) {
    if (result.success) return undefined;
    const issues = result.error.issues;
    const fields = new Set(issues.map((i) => String(i.path[0] ?? '')));
    const only = fields.size === 1 ? FIELD_REASONS[[...fields][0] ?? ''] : undefined;
    const reason: Reason = only ?? 'invalid_request';
    if (reason === 'invalid_phone') {
      const principal = c.get('principal') as AppEnv['Variables']['principal'] | undefined;
      await deps.events.record({
        at: deps.clock.now(),
        kind: 'failure',
        reason,
        rule: 'schema',
        app: principal?.app,
        ip: getClientAddress(c),
        userAgent: c.req.header('user-agent'),
      });
    }
    const status = result.target === 'param' && reason === 'invalid_request' ? 'not_found' : reason;
    return problem(c, status, {
      details:
        status === 'not_found'
          ? undefined
          : { errors: issues.map((i) => ({ path: i.path.join('.'), message: i.message })) },
    });
  };
}

function httpExceptionReason(error: HTTPException): Reason {
  switch (error.status) {
    case 400:
      return /json/i.test(error.message) ? 'malformed_json' : 'invalid_request';
    case 401:
      return 'unauthorized';
    case 404:
      return 'not_found';
    case 413:
      return 'payload_too_large';
    case 415:
      return 'unsupported_media_type';
    default:
      return error.status >= 500 ? 'internal_error' : 'invalid_request';
  }
}

function observe(deps: AppDeps): MiddlewareHandler<AppEnv> {
  return async function observeMiddleware(c, next) {
    const started = performance.now();
    await next();
    const route = c.req.routePath || 'unmatched';
    const seconds = (performance.now() - started) / 1000;
    deps.metrics.httpRequests.inc({ method: c.req.method, route, status: String(c.res.status) });
    deps.metrics.httpDuration.observe({ method: c.req.method, route }, seconds);
    if (deps.logger.isLevelEnabled('debug')) {
      deps.logger.debug(
        {
          requestId: c.get('requestId'),
          method: c.req.method,
          route,
          status: c.res.status,
          ms: Math.round(seconds * 1e4) / 10,
        },
        'request',
      );
    }
  };
}

/** Answers only once the request's writes are durable (deps.settled): nothing acknowledged can be lost. */
function commitBeforeAnswer(settled: () => Promise<void>): MiddlewareHandler<AppEnv> {
  return async function commitBeforeAnswerMiddleware(_c, next) {
    await next();
    await settled();
  };
}

/**
 * Builds the whole HTTP application from its dependencies. No side effects: nothing listens,
 * nothing is read from the environment. Tests call it with an in-memory database and a fake clock.
 */
export function createApp(deps: AppDeps): App {
  const base = (): App => new OpenAPIHono<AppEnv>({ defaultHook: validationHook(deps) });
  const app = base();

  app.use('*', requestId());
  app.use('*', clientAddress(deps.trustProxy));
  app.use('*', observe(deps));
  if (deps.settled) app.use('*', commitBeforeAnswer(deps.settled));
  app.use('/docs', htmlPolicy());
  app.use('*', securityHeaders());
  app.use('/v1/*', corsPolicy(deps.corsOrigins ?? []));
  app.use('/v2/*', twilioBodyLimit(deps.bodyLimitBytes));
  app.use(
    '*',
    declaredBodyLimit({
      maxSize: deps.bodyLimitBytes,
      onError: (c) => problem(c, 'payload_too_large'),
    }),
  );
  // Provider callbacks carry no API key: their routes check the provider's signature instead.
  app.use('/v1/*', except('/v1/webhooks/*', authenticate(deps.admin, deps.events, deps.clock)));
  app.use('/v1/verifications/*', rateLimitHeaders());
  app.use('/v1/lists/*', rateLimitHeaders());

  const routers = [
    createSystemRouter(deps, base),
    createVerificationRouter(deps.verification, base),
    createFactorsRouter(deps.factors, base),
    createAdminRouter(deps.admin, deps.rotateSigningKey, base),
    createAppLimitsRouter(deps.appLimits, base),
    createWebhooksRouter(deps.webhooks, base),
    createBlocklistRouter(deps.blocklist, base),
    createOptinRouter(deps.optin.service, base),
    createInboundRouter(
      {
        optin: deps.optin.service,
        secrets: deps.delivery.webhooks,
        logInbound: deps.optin.logInbound,
        events: deps.events,
        clock: deps.clock,
      },
      base,
    ),
    createWebhookRouter(
      {
        statuses: deps.delivery.statuses,
        secrets: deps.delivery.webhooks,
        events: deps.events,
        clock: deps.clock,
      },
      base,
    ),
    createReportsRouter({ reports: deps.reports, adminApp: deps.adminApp }, base),
    createDashboardRouter(base),
    createTwilioVerifyRouter({ ...deps, publicBaseUrl: deps.delivery.webhooks.publicBaseUrl }),
  ];
  // Each route's scope is the one its definition declares (apiKeyScope in its *.routes.ts, also what
  // openapi.yaml publishes), enforced before its body is read; registered ahead of the routes so it runs first.
  for (const router of routers) {
    for (const { method, path, scope } of declaredScopes(router))
      app.on(method, path, requireScope(scope, deps.events, deps.clock));
  }
  for (const router of routers) app.route('/', router);

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    description:
      'An API key made by POST /v1/admin/api-keys or `npm run cli -- keys create`, or ADMIN_API_KEY',
  });

  app.notFound((c) => problem(c, 'not_found'));
  app.onError((error, c) => {
    if (isDomainError(error)) {
      return problem(c, error.reason, {
        details: error.details,
        retryAfterSeconds: error.retryAfterSeconds,
      });
    }
    if (error instanceof HTTPException && error.status < 500)
      return problem(c, httpExceptionReason(error));
    if (deps.storageUnavailable(error)) {
      // The database is down or unreachable: transient, so 503 with Retry-After (RFC 9110 §10.2.3), and no stack in the log.
      deps.logger.warn(
        {
          err: error instanceof Error ? error.message : String(error),
          requestId: c.get('requestId'),
        },
        'database unavailable',
      );
      return problem(c, 'storage_unavailable', { retryAfterSeconds: STORAGE_RETRY_AFTER_SECONDS });
    }
    deps.logger.error({ err: error, requestId: c.get('requestId') }, 'unhandled error');
    return problem(c, 'internal_error');
  });
  return app;
}

/** Every tag the routes use, in the order the documentation lists them. */
const API_TAGS = [
  {
    name: 'Verifications',
    description:
      'One-time codes by SMS or flash call, checked once, with a signed result token. API key scope `verify`.',
  },
  {
    name: 'Factors',
    description:
      'Authenticator-app (TOTP) factors, recovery codes and transaction-bound challenges. API key scope `factors`.',
  },
  {
    name: 'Marketing lists',
    description: 'Double opt-in sign-ups with a consent ledger. API key scope `optin`.',
  },
  {
    name: 'Reports',
    description:
      'Failure, conversion and abuse reports, the event record (scope `reports`), and the dashboard page that reads them.',
  },
  {
    name: 'Blocklist',
    description:
      'Block or allow numbers, prefixes, IPs, CIDRs and countries, at once on every instance. API key scope `security`.',
  },
  {
    name: 'Admin',
    description:
      'API keys, app settings, per-app limits and the signing key. API key scope `admin`.',
  },
  {
    name: TWILIO_VERIFY_TAG,
    description:
      'Twilio Verify v2 as its SDKs call it (form in, snake_case JSON out, Twilio error codes), on the same apps and verifications: a Service is an app, a Verification a verification. HTTP Basic. See docs/twilio-verify.md.',
  },
  {
    name: 'Webhooks',
    description:
      'Delivery status and inbound messages from the SMS and voice gateways: no API key, each checks its gateway signature.',
  },
  {
    name: 'Service',
    description:
      'Health, readiness, metrics, the public keys of result tokens, and this document with its interactive page. No API key.',
  },
];

/**
 * SPDX identifier, as OpenAPI 3.1 has it. A variable, not a literal in place: @hono/zod-openapi types
 * getOpenAPI31Document's argument as a 3.0 document, whose License has no `identifier`; the
 * generator copies `info` through as given.
 */
const LICENSE = { name: 'Apache-2.0', identifier: 'Apache-2.0' };

/** The OpenAPI document of an app, as `npm run openapi` writes it to openapi.yaml. */
export function openApiDocument(app: App): ReturnType<App['getOpenAPI31Document']> {
  return app.getOpenAPI31Document({
    openapi: '3.1.0',
    info: {
      title: 'OTP Verify',
      version: '1.0.0',
      description:
        'Self-hosted phone verification: hashed, expiring one-time codes sent by SMS, checked once, with a signed JWT as the result. Every error is an RFC 9457 problem (application/problem+json) with a stable `reason`.',
      license: LICENSE,
    },
    // Relative (OpenAPI 3.1 §4.8.5): resolved against where this document is served, so "Try it out"
    // and generated clients call the service that served it, whatever its host, port or path prefix.
    // "." and not "/": the document is served at the service's root, and "/" would drop a proxy's prefix.
    servers: [{ url: '.', description: 'The service that serves this document' }],
    tags: API_TAGS,
  });
}
