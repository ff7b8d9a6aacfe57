import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AppEnv } from '../http/app-env.js';
import { getClientAddress } from '../http/client-address.js';
import { CONSENT_CSP, renderConsentHtml } from './consent.html.js';
import type { OptinCaller, OptinService, SubscriberView } from './optin.service.js';
import {
  confirmRoute,
  consentRoute,
  createListRoute,
  getListRoute,
  listSubscribersRoute,
  subscribeRoute,
  unsubscribeRoute,
} from './optin.routes.js';

function caller(c: Context<AppEnv>): OptinCaller {
  return {
    app: c.get('principal').app,
    clientIp: getClientAddress(c),
    userAgent: c.req.header('user-agent'),
    onLimitState: (state) => c.set('limitState', state),
  };
}

/** Whether the client prefers `type` over JSON (explicit `format` wins). */
function wants(
  c: Context<AppEnv>,
  format: string | undefined,
  type: string,
  name: string,
): boolean {
  if (format !== undefined) return format === name;
  const accept = c.req.header('accept') ?? '';
  return accept.includes(type) && !accept.includes('application/json');
}

// CSV injection (OWASP): a cell starting with = + - @ is read as a formula by spreadsheets. An
// E.164 number (+ and digits only) cannot carry a formula and is kept as is for the importing tool.
const csvCell = (value: string | null): string => {
  const text = value ?? '';
  const safe = /^[=+\-@\t\r]/.test(text) && !/^\+[0-9]+$/.test(text) ? `'${text}` : text;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
};

function toCsv(items: SubscriberView[]): string {
  const header = 'to,status,locale,requested_at,expires_at,confirmed_at,unsubscribed_at';
  const lines = items.map((s) =>
    [s.to, s.status, s.locale, s.requestedAt, s.expiresAt, s.confirmedAt, s.unsubscribedAt]
      .map(csvCell)
      .join(','),
  );
  return `${[header, ...lines].join('\r\n')}\r\n`;
}

/** Thin handlers for /v1/lists. */
export function createOptinRouter(
  service: OptinService,
  base: () => OpenAPIHono<AppEnv>,
): OpenAPIHono<AppEnv> {
  const router = base();

  router.openapi(createListRoute, async (c) =>
    c.json(await service.createList(caller(c), c.req.valid('json')), 201),
  );

  router.openapi(getListRoute, async (c) =>
    c.json(await service.getList(caller(c), c.req.valid('param').listId), 200),
  );

  router.openapi(confirmRoute, async (c) => {
    const { to, code, signals } = c.req.valid('json');
    return c.json(
      await service.confirm(caller(c), c.req.valid('param').listId, to, code, signals),
      200,
    );
  });

  router.openapi(subscribeRoute, async (c) => {
    const view = await service.subscribe(
      caller(c),
      c.req.valid('param').listId,
      c.req.valid('json'),
    );
    return view.status === 'pending' ? c.json(view, 202) : c.json(view, 200);
  });

  router.openapi(listSubscribersRoute, async (c) => {
    const query = c.req.valid('query');
    const listId = c.req.valid('param').listId;
    const page = await service.listSubscribers(
      caller(c),
      listId,
      query.status,
      query.cursor,
      query.limit,
    );
    if (wants(c, query.format, 'text/csv', 'csv')) {
      const headers: Record<string, string> = { 'content-type': 'text/csv; charset=utf-8' };
      if (page.nextCursor) {
        const next = new URLSearchParams({
          ...(query.status ? { status: query.status } : {}),
          cursor: page.nextCursor,
          limit: String(query.limit),
          format: 'csv',
        });
        headers.link = `</v1/lists/${encodeURIComponent(listId)}/subscribers?${next.toString()}>; rel="next"`;
      }
      return c.body(toCsv(page.items), 200, headers);
    }
    return c.json(page, 200);
  });

  router.openapi(unsubscribeRoute, async (c) => {
    const { listId, number } = c.req.valid('param');
    return c.json(await service.unsubscribe(caller(c), listId, number), 200);
  });

  router.openapi(consentRoute, async (c) => {
    const { listId, number } = c.req.valid('param');
    const record = await service.consent(caller(c), listId, number);
    if (wants(c, c.req.valid('query').format, 'text/html', 'html')) {
      return c.html(renderConsentHtml(record), 200, {
        'content-security-policy': CONSENT_CSP,
        'cache-control': 'no-store',
      });
    }
    c.header('cache-control', 'no-store');
    return c.json(record, 200);
  });

  return router;
}
