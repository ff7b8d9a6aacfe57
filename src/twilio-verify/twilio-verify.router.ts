import { OpenAPIHono, type Hook } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { AdminService, Scope } from '../admin/admin.service.js';
import type { AppSettings } from '../admin/admin.store.js';
import type { EventRecorder } from '../events/events.js';
import type { AppEnv } from '../http/app-env.js';
import { declaredBodyLimit } from '../http/body-limit.js';
import { getClientAddress } from '../http/client-address.js';
import type { Clock } from '../platform/clock.js';
import { DomainError, isDomainError } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import { parsePhone } from '../platform/phone.js';
import type {
  CallerContext,
  CheckedVerification,
  CheckResult,
  VerificationService,
} from '../verification/verification.service.js';
import { hasScope, mayUseApp, twilioAuthenticate } from './twilio-verify.auth.js';
import {
  invalidParameter,
  isTwilioError,
  renderTwilioError,
  TwilioError,
  twilioError,
  twilioErrorOf,
  type Operation,
} from './twilio-verify.errors.js';
import {
  checkRoute,
  createServiceRoute,
  deleteServiceRoute,
  fetchServiceRoute,
  fetchVerificationRoute,
  listServicesRoute,
  startRoute,
  updateServiceRoute,
  updateVerificationRoute,
} from './twilio-verify.routes.js';
import { verificationIdOf } from '../platform/twilio-sids.js';
import {
  appNameFor,
  appSettingsOf,
  checkView,
  pageMeta,
  serviceView,
  startInputOf,
  transactionOf,
  verificationView,
  type ViewContext,
} from './twilio-verify.views.js';

export interface TwilioVerifyDeps {
  admin: AdminService;
  verification: VerificationService;
  events: EventRecorder;
  clock: Clock;
  logger: Logger;
  /** True for an error meaning the database cannot be reached right now (503 with Retry-After). */
  storageUnavailable: (error: unknown) => boolean;
  /** PUBLIC_BASE_URL: the base of the `url`s in answers; the request's own origin when absent. */
  publicBaseUrl: string | undefined;
}

type ServiceApp = AppSettings & { twilioServiceSid: string };

const STORAGE_RETRY_AFTER_SECONDS = 5;
const DEFAULT_PAGE_SIZE = 50;

/** A refused request body as Twilio's 60200, for the body limit mounted ahead of /v1's (app.ts). */
export function twilioBodyLimit(maxSize: number): MiddlewareHandler {
  return declaredBodyLimit({
    maxSize,
    onError: (c) =>
      renderTwilioError(
        c,
        new TwilioError(413, 60200, `Invalid parameter: the body is larger than ${maxSize} bytes`),
      ),
  });
}

const URLENCODED = /^application\/x-www-form-urlencoded(?:\s*;|\s*$)/i;

/**
 * Parses a form-encoded body with URLSearchParams and leaves it where hono's form validator looks
 * first (`bodyCache.formData`). The validator would otherwise parse it through a web Response
 * (`Response.formData()`): measured 21 us per request against 1 us, on every /v2 POST. Same result:
 * both decode UTF-8 and `+`, and keep repeated fields. Should a later hono stop reading that cache,
 * it parses the body itself as before.
 */
const parseFormOnce: MiddlewareHandler<AppEnv> = async function parseFormOnceMiddleware(c, next) {
  if (c.req.method === 'POST' && URLENCODED.test(c.req.header('content-type') ?? '')) {
    const form = new FormData();
    for (const [name, value] of new URLSearchParams(await c.req.text())) form.append(name, value);
    (c.req.bodyCache as { formData?: FormData }).formData = form;
  }
  await next();
};

/** Maps a DomainError to Twilio's error for this operation; anything else goes on to onError. */
async function as<T>(operation: Operation, promise: Promise<T>): Promise<T> {
  try {
    return await promise;
  } catch (error) {
    throw isDomainError(error) ? twilioErrorOf(error, operation) : error;
  }
}

function httpExceptionError(error: HTTPException): TwilioError {
  switch (error.status) {
    case 401:
      return twilioError(20003);
    case 404:
      return twilioError(20404);
    case 413:
      return new TwilioError(413, 60200, 'Invalid parameter: the body is too large');
    case 415:
      return new TwilioError(
        415,
        60200,
        'Invalid parameter: the body must be application/x-www-form-urlencoded',
      );
    default:
      return invalidParameter('Body');
  }
}

/**
 * Twilio Verify v2 on the service's own model: a Service is an app, a Verification a verification.
 * Handlers only translate: form in, one call to the admin or verification service, Twilio's JSON
 * out. This router renders every error of its own (validation, authentication, not found, the
 * domain's, unexpected ones) in Twilio's shape; /v1 keeps its RFC 9457 problems.
 */
export function createTwilioVerifyRouter(deps: TwilioVerifyDeps): OpenAPIHono<AppEnv> {
  const { admin, verification, events, clock } = deps;

  const onInvalid: Hook<unknown, AppEnv, string, unknown> = async function onInvalidInput(
    result,
    c,
  ) {
    if (result.success) return undefined;
    // A malformed sid in the path names nothing that exists.
    if (result.target === 'param') return renderTwilioError(c, twilioError(20404));
    const issue = result.error.issues[0];
    const name =
      issue?.code === 'unrecognized_keys'
        ? (issue.keys[0] ?? 'Body')
        : String(issue?.path[0] ?? 'Body');
    if (name === 'To') {
      const principal = c.get('principal') as AppEnv['Variables']['principal'] | undefined;
      await events.record({
        at: clock.now(),
        kind: 'failure',
        reason: 'invalid_phone',
        rule: 'schema',
        app: principal?.app,
        ip: getClientAddress(c),
        userAgent: c.req.header('user-agent'),
      });
    }
    return renderTwilioError(c, invalidParameter(name));
  };

  const router = new OpenAPIHono<AppEnv>({ defaultHook: onInvalid });

  router.openAPIRegistry.registerComponent('securitySchemes', 'twilioBasicAuth', {
    type: 'http',
    scheme: 'basic',
    description:
      "Twilio's SDK credentials: user name the Account sid (`twilio.accountSid` of a created key) or the key's `twilio.apiKeySid`; password the API key (with an `SK…` user name, its secret part alone also works)",
  });

  const context = (c: Context<AppEnv>): ViewContext => ({
    accountSid: admin.accountSid,
    baseUrl: deps.publicBaseUrl ?? new URL(c.req.url).origin,
  });

  const caller = (c: Context<AppEnv>, app: ServiceApp): CallerContext => ({
    app: app.name,
    clientIp: getClientAddress(c),
    userAgent: c.req.header('user-agent'),
  });

  async function refuse(
    c: Context<AppEnv>,
    reason: 'forbidden' | 'not_found',
    rule: string,
  ): Promise<never> {
    await events.record({
      at: clock.now(),
      kind: 'failure',
      reason,
      rule,
      app: c.get('principal').app,
      ip: getClientAddress(c),
      userAgent: c.req.header('user-agent'),
    });
    throw twilioError(reason === 'forbidden' ? 20403 : 20404);
  }

  async function requireScope(c: Context<AppEnv>, scope: Scope): Promise<void> {
    if (!hasScope(c.get('principal'), scope)) await refuse(c, 'forbidden', `scope:${scope}`);
  }

  /** The app a Service sid names, if the caller may use it: one indexed read. Another app's is 404, never 403. */
  async function serviceFor(c: Context<AppEnv>, sid: string): Promise<ServiceApp> {
    const app = await admin.findAppByServiceSid(`VA${sid.slice(2).toLowerCase()}`);
    if (!app?.twilioServiceSid || !mayUseApp(c.get('principal'), app.name))
      return refuse(c, 'not_found', 'service_sid');
    return { ...app, twilioServiceSid: app.twilioServiceSid };
  }

  const verificationId = (sid: string): string => verificationIdOf(sid) ?? '';

  router.use('/v2/*', twilioAuthenticate(admin, events, clock));
  router.use('/v2/*', parseFormOnce);

  router.openapi(createServiceRoute, async (c) => {
    await requireScope(c, 'admin');
    const fields = c.req.valid('form');
    const app = await as(
      'service',
      admin.createApp(appNameFor(fields.FriendlyName), appSettingsOf(fields)),
    );
    if (!app.twilioServiceSid) throw twilioError(20500);
    return c.json(
      serviceView(
        { ...app, twilioServiceSid: app.twilioServiceSid },
        context(c),
        verification.defaults.codeLength,
      ),
      201,
    );
  });

  router.openapi(listServicesRoute, async (c) => {
    const { PageSize = DEFAULT_PAGE_SIZE, Page = 0 } = c.req.valid('query');
    const principal = c.get('principal');
    let apps: AppSettings[] = [];
    let hasNext = false;
    if (hasScope(principal, 'admin')) {
      apps = await admin.listApps({ offset: Page * PageSize, limit: PageSize + 1 });
      hasNext = apps.length > PageSize;
      apps = apps.slice(0, PageSize);
    } else if (Page === 0) {
      // Any other key sees its own app's Service only.
      const own = await admin.getApp(principal.app).catch((error: unknown) => {
        if (isDomainError(error) && error.reason === 'not_found') return undefined;
        throw error;
      });
      if (own) apps = [own];
    }
    const ctx = context(c);
    const services = apps.flatMap((app) =>
      app.twilioServiceSid
        ? [
            serviceView(
              { ...app, twilioServiceSid: app.twilioServiceSid },
              ctx,
              verification.defaults.codeLength,
            ),
          ]
        : [],
    );
    return c.json({ services, meta: pageMeta(ctx, Page, PageSize, hasNext) }, 200);
  });

  router.openapi(fetchServiceRoute, async (c) => {
    const app = await serviceFor(c, c.req.valid('param').Sid);
    return c.json(serviceView(app, context(c), verification.defaults.codeLength), 200);
  });

  router.openapi(updateServiceRoute, async (c) => {
    await requireScope(c, 'admin');
    const app = await serviceFor(c, c.req.valid('param').Sid);
    const updated = await as(
      'service',
      admin.updateApp(app.name, appSettingsOf(c.req.valid('form'))),
    );
    return c.json(
      serviceView(
        { ...updated, twilioServiceSid: app.twilioServiceSid },
        context(c),
        verification.defaults.codeLength,
      ),
      200,
    );
  });

  router.openapi(deleteServiceRoute, async (c) => {
    await requireScope(c, 'admin');
    const app = await serviceFor(c, c.req.valid('param').Sid);
    await as('service', admin.deleteApp(app.name));
    return c.body(null, 204);
  });

  router.openapi(startRoute, async (c) => {
    await requireScope(c, 'verify');
    const app = await serviceFor(c, c.req.valid('param').ServiceSid);
    const view = await as(
      'start',
      verification.startOrResend(caller(c, app), startInputOf(c.req.valid('form'))),
    );
    return c.json(verificationView(view, app.twilioServiceSid, context(c)), 201);
  });

  router.openapi(fetchVerificationRoute, async (c) => {
    await requireScope(c, 'verify');
    const { ServiceSid, Sid } = c.req.valid('param');
    const app = await serviceFor(c, ServiceSid);
    const view = await as('read', verification.get(caller(c, app), verificationId(Sid)));
    // Twilio deletes a verification once approved or expired.
    if (view.status === 'approved' || view.status === 'expired') throw twilioError(20404);
    return c.json(verificationView(view, app.twilioServiceSid, context(c)), 200);
  });

  router.openapi(updateVerificationRoute, async (c) => {
    await requireScope(c, 'verify');
    const { ServiceSid, Sid } = c.req.valid('param');
    const app = await serviceFor(c, ServiceSid);
    const ctx = caller(c, app);
    const id = verificationId(Sid);
    const { Status } = c.req.valid('form');
    const view = await as(
      'update',
      Status === 'canceled' ? verification.cancel(ctx, id) : verification.approve(ctx, id),
    );
    return c.json(verificationView(view, app.twilioServiceSid, context(c)), 200);
  });

  router.openapi(checkRoute, async (c) => {
    await requireScope(c, 'verify');
    const app = await serviceFor(c, c.req.valid('param').ServiceSid);
    const fields = c.req.valid('form');
    if (fields.To === undefined && fields.VerificationSid === undefined) throw twilioError(60221);
    const ctx = caller(c, app);
    // Filled by the service once it has found the verification: a wrong code is answered from it.
    const seen: { verification?: CheckedVerification } = {};
    const options = {
      transaction: transactionOf(fields),
      onVerification: (v: CheckedVerification) => (seen.verification = v),
    };
    let result: CheckResult;
    try {
      if (fields.VerificationSid !== undefined) {
        const id = verificationId(fields.VerificationSid);
        if (fields.To !== undefined) await numberMatches(ctx, id, fields.To);
        result = await verification.check(ctx, id, fields.Code, undefined, options);
      } else {
        result = await verification.checkByNumber(
          ctx,
          fields.To ?? '',
          fields.Code,
          undefined,
          options,
        );
      }
    } catch (error) {
      const found = seen.verification;
      if (error instanceof DomainError && error.reason === 'incorrect_code' && found) {
        const status = error.details.attemptsRemaining === 0 ? 'max_attempts_reached' : 'pending';
        return c.json(
          checkView(
            found,
            { status, channel: found.channel, at: clock.now() },
            app.twilioServiceSid,
            context(c),
          ),
          200,
        );
      }
      throw isDomainError(error) ? twilioErrorOf(error, 'check') : error;
    }
    const found = seen.verification;
    if (!found) throw twilioError(20500);
    return c.json(
      checkView(
        found,
        { status: 'approved', channel: result.channel, at: clock.now() },
        app.twilioServiceSid,
        context(c),
      ),
      200,
    );
  });

  /** With both `To` and `VerificationSid`, the verification must be that number's (else 20404). */
  async function numberMatches(ctx: CallerContext, id: string, to: string): Promise<void> {
    let e164: string;
    try {
      e164 = parsePhone(to).e164;
    } catch {
      throw invalidParameter('To');
    }
    const view = await as('check', verification.get(ctx, id));
    if (view.to !== e164) throw twilioError(20404);
  }

  // Any other /v2 path or method: Twilio's 404, not /v1's problem.
  router.all('/v2/*', () => {
    throw twilioError(20404);
  });

  router.onError((error, c) => {
    if (isTwilioError(error)) return renderTwilioError(c, error);
    if (isDomainError(error)) return renderTwilioError(c, twilioErrorOf(error, 'read'));
    if (error instanceof HTTPException && error.status < 500)
      return renderTwilioError(c, httpExceptionError(error));
    if (deps.storageUnavailable(error)) {
      deps.logger.warn(
        {
          err: error instanceof Error ? error.message : String(error),
          requestId: c.get('requestId'),
        },
        'database unavailable',
      );
      return renderTwilioError(
        c,
        twilioError(20503, { 'Retry-After': String(STORAGE_RETRY_AFTER_SECONDS) }),
      );
    }
    deps.logger.error({ err: error, requestId: c.get('requestId') }, 'unhandled error');
    return renderTwilioError(c, twilioError(20500));
  });

  return router;
}
