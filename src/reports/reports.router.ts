import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AppEnv } from '../http/app-env.js';
import { getClientAddress } from '../http/client-address.js';
import { toCsv } from './csv.js';
import {
  abuseRoute,
  conversionCsvRoute,
  conversionRoute,
  eventsRoute,
  failuresCsvRoute,
  failuresRoute,
} from './reports.routes.js';
import type { ConversionReport, FailureReport, ReportsService, Viewer } from './reports.service.js';

export interface ReportsRouterDeps {
  reports: ReportsService;
  /** Keys of this app read every app's records; other keys only their own app's. */
  adminApp: string;
}

const ms = (iso: string | undefined): number | undefined =>
  iso === undefined ? undefined : Date.parse(iso);

function viewerOf(c: Context<AppEnv>, adminApp: string): Viewer {
  const principal = c.get('principal');
  return {
    app: principal.app,
    allApps: principal.app === adminApp,
    keyId: principal.keyId,
    ip: getClientAddress(c),
    userAgent: c.req.header('user-agent'),
  };
}

const wantsCsv = (c: Context<AppEnv>): boolean =>
  /\btext\/csv\b/i.test(c.req.header('accept') ?? '');

function csvResponse(c: Context<AppEnv>, name: string, body: string): Response {
  return c.body(body, 200, {
    'content-type': 'text/csv; charset=utf-8',
    'content-disposition': `attachment; filename="${name}.csv"`,
  });
}

function failuresCsv(report: FailureReport): string {
  const columns = report.stackBy
    ? [report.groupBy, report.stackBy, 'count']
    : [report.groupBy, 'count'];
  return toCsv(
    columns,
    report.groups.map((g) =>
      report.stackBy
        ? { [report.groupBy]: g.key, [report.stackBy]: g.stack, count: g.count }
        : { [report.groupBy]: g.key, count: g.count },
    ),
  );
}

function conversionCsv(report: ConversionReport): string {
  const columns = [
    report.groupBy,
    'started',
    'sent',
    'delivered',
    'deliveryFailed',
    'approved',
    'sendRate',
    'deliveryRate',
    'conversionRate',
  ];
  return toCsv(
    columns,
    report.groups.map((g) => ({ ...g, [report.groupBy]: g.key })),
  );
}

export function createReportsRouter(
  deps: ReportsRouterDeps,
  base: () => OpenAPIHono<AppEnv>,
): OpenAPIHono<AppEnv> {
  const router = base();
  const { reports, adminApp } = deps;

  router.openapi(failuresRoute, async (c) => {
    const q = c.req.valid('query');
    const report = await reports.failures(viewerOf(c, adminApp), {
      ...q,
      from: ms(q.from),
      to: ms(q.to),
      groupBy: q.groupBy,
      stackBy: q.stackBy,
    });
    return wantsCsv(c) ? csvResponse(c, 'failures', failuresCsv(report)) : c.json(report, 200);
  });

  router.openapi(failuresCsvRoute, async (c) => {
    const q = c.req.valid('query');
    const report = await reports.failures(viewerOf(c, adminApp), {
      ...q,
      from: ms(q.from),
      to: ms(q.to),
      groupBy: q.groupBy,
      stackBy: q.stackBy,
    });
    return csvResponse(c, 'failures', failuresCsv(report));
  });

  router.openapi(conversionRoute, async (c) => {
    const q = c.req.valid('query');
    const report = await reports.conversion(viewerOf(c, adminApp), {
      ...q,
      from: ms(q.from),
      to: ms(q.to),
      groupBy: q.groupBy,
    });
    return wantsCsv(c) ? csvResponse(c, 'conversion', conversionCsv(report)) : c.json(report, 200);
  });

  router.openapi(conversionCsvRoute, async (c) => {
    const q = c.req.valid('query');
    const report = await reports.conversion(viewerOf(c, adminApp), {
      ...q,
      from: ms(q.from),
      to: ms(q.to),
      groupBy: q.groupBy,
    });
    return csvResponse(c, 'conversion', conversionCsv(report));
  });

  router.openapi(abuseRoute, async (c) => {
    const q = c.req.valid('query');
    return c.json(
      await reports.abuse(viewerOf(c, adminApp), {
        ...q,
        from: ms(q.from),
        to: ms(q.to),
        limit: q.limit,
      }),
      200,
    );
  });

  router.openapi(eventsRoute, async (c) => {
    const q = c.req.valid('query');
    const page = await reports.events(viewerOf(c, adminApp), {
      ...q,
      from: ms(q.from),
      to: ms(q.to),
      reveal: q.reveal === 'true',
    });
    c.header('cache-control', 'no-store');
    return c.json(page, 200);
  });

  return router;
}
