/**
 * What users deploy is `node dist/main.js` in the Docker image, while every other test runs the
 * sources under tsx. tsc copies no HTML, CSS or JS, and the server reads files relative to its own
 * modules (the dashboard's pages, ../openapi.yaml, ../../../migrations), so the compiled build
 * answered 500 on /dashboard while every test passed. Here the build runs on the files the
 * Dockerfile's build stage copies, the server runs from a directory holding only what its runtime
 * stage copies, and every GET of the published spec must answer there as it does under tsx.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startServer as startGateway } from '../delivery/helpers.js';
import { buildDockerImage, type DockerImage } from '../helpers/docker-image.js';
import {
  createTestDatabase,
  POSTGRES_SKIP_REASON,
  type TestDatabase,
} from '../helpers/postgres.js';
import { PRODUCTION_ENV } from '../helpers/production-env.js';
import { startServer, type ServerProcess } from '../helpers/server-process.js';

// Random: production refuses a key that looks like a placeholder.
const ADMIN = randomBytes(32).toString('base64url');
const BUILD_TIMEOUT_MS = 240_000;

interface SpecParameter {
  name: string;
  in: string;
  required?: boolean;
  example?: string | number;
  schema?: { enum?: (string | number)[]; example?: string | number; default?: string | number };
}
interface Spec {
  paths: Record<string, { get?: { parameters?: SpecParameter[]; security?: unknown[] } }>;
}

/**
 * Every GET the spec publishes, as concrete requests: a path parameter with an enum gives one
 * request per value (each dashboard and docs asset), any other required parameter its example.
 * A route added to the spec is tried here without editing this file.
 */
function getRequests(spec: Spec): { template: string; path: string; authenticated: boolean }[] {
  const requests: { template: string; path: string; authenticated: boolean }[] = [];
  for (const [template, item] of Object.entries(spec.paths)) {
    if (!item.get) continue;
    const parameters = item.get.parameters ?? [];
    let paths = [template];
    for (const parameter of parameters.filter((p) => p.in === 'path')) {
      const values = parameter.schema?.enum ?? [
        parameter.schema?.example ?? parameter.example ?? 'x',
      ];
      paths = paths.flatMap((path) =>
        values.map((value) => path.replace(`{${parameter.name}}`, String(value))),
      );
    }
    const query = new URLSearchParams();
    for (const parameter of parameters.filter((p) => p.in === 'query' && p.required)) {
      query.set(
        parameter.name,
        String(
          parameter.schema?.enum?.[0] ??
            parameter.schema?.example ??
            parameter.schema?.default ??
            parameter.example ??
            'x',
        ),
      );
    }
    const suffix = query.size > 0 ? `?${query.toString()}` : '';
    for (const path of paths)
      requests.push({
        template,
        path: `${path}${suffix}`,
        authenticated: (item.get.security ?? []).length > 0,
      });
  }
  return requests;
}

interface Answer {
  status: number;
  type: string;
  digest: string;
}

async function answer(base: string, path: string): Promise<Answer> {
  const response = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${ADMIN}` } });
  const body = Buffer.from(await response.arrayBuffer());
  return {
    status: response.status,
    type: response.headers.get('content-type') ?? '',
    digest: createHash('sha256').update(body).digest('hex'),
  };
}

/** Files served as they are on disk or in a package: the compiled build must serve the same bytes. */
const STATIC_TYPE = /^(text\/html|text\/css|text\/javascript|application\/yaml)/;

function devEnv(): Record<string, string> {
  return {
    ADMIN_API_KEY: ADMIN,
    DATA_DIR: mkdtempSync(join(tmpdir(), 'otp-smoke-')),
    LOG_PROVIDER_STDOUT: 'false',
    JWT_ISSUER: 'https://verify.example',
  };
}

/** Log lines at error level or above (pino: 50 error, 60 fatal). */
function errorLines(output: string): string[] {
  return output.split('\n').filter((line) => /"level":(5|6)\d/.test(line));
}

describe('the compiled build, run from the files the Dockerfile puts in the image', () => {
  let image: DockerImage;
  let tsx: ServerProcess | undefined;
  let dist: ServerProcess | undefined;
  const started: ServerProcess[] = [];

  beforeAll(async () => {
    const built = performance.now();
    image = await buildDockerImage();
    console.info(
      `dist smoke: image directory ready in ${Math.round(performance.now() - built)} ms (${image.dir})`,
    );
    [tsx, dist] = await Promise.all([
      startServer(devEnv()),
      startServer(devEnv(), { compiledIn: image.dir }),
    ]);
    started.push(tsx, dist);
  }, BUILD_TIMEOUT_MS);

  afterAll(async () => {
    await Promise.all(started.map((server) => server.stop('SIGKILL')));
  });

  it('runs what the Dockerfile runs: CMD node dist/main.js, in production by its ENV', () => {
    expect(image.cmd).toEqual(['node', 'dist/main.js']);
    expect(image.env.NODE_ENV).toBe('production');
  });

  it('answers every GET of the spec as the tsx build does: same status and type, the same bytes for static files', async () => {
    const spec = parse(await (await fetch(`${tsx!.url}/openapi.yaml`)).text()) as Spec;
    const requests = getRequests(spec);
    const rows = await Promise.all(
      requests.map(async (request) => ({
        ...request,
        tsx: await answer(tsx!.url, request.path),
        dist: await answer(dist!.url, request.path),
      })),
    );
    console.info(
      `dist smoke: ${rows.length} GETs from ${Object.keys(spec.paths).length} spec paths\n${rows.map((r) => `  ${r.tsx.status} ${r.dist.status} ${r.path}`).join('\n')}`,
    );

    // The comparison means something only if the tsx build serves the public routes and the assets.
    const mustServe = rows.filter((r) => !r.authenticated);
    expect(mustServe.map((r) => r.path)).toEqual(
      expect.arrayContaining([
        '/healthz',
        '/readyz',
        '/metrics',
        '/.well-known/jwks.json',
        '/openapi.yaml',
        '/docs',
        '/dashboard',
      ]),
    );
    expect(mustServe.map((r) => r.path)).toEqual(
      expect.arrayContaining([
        '/dashboard/dashboard.js',
        '/dashboard/dashboard.css',
        '/dashboard/chart.umd.min.js',
        '/docs/swagger-ui-bundle.js',
      ]),
    );
    expect(
      mustServe.filter((r) => r.tsx.status !== 200).map((r) => `${r.tsx.status} ${r.path}`),
    ).toEqual([]);
    const v1Served = rows.filter((r) => r.authenticated && r.tsx.status === 200);
    expect(v1Served.map((r) => r.template)).toEqual(
      expect.arrayContaining([
        '/v1/reports/abuse',
        '/v1/blocklist',
        '/v1/events',
        '/v1/admin/api-keys',
      ]),
    );

    expect(
      rows
        .filter((r) => r.tsx.status >= 500 || r.dist.status >= 500)
        .map((r) => `${r.tsx.status}/${r.dist.status} ${r.path}`),
    ).toEqual([]);
    expect(rows.map((r) => `${r.path} ${r.dist.status} ${r.dist.type}`)).toEqual(
      rows.map((r) => `${r.path} ${r.tsx.status} ${r.tsx.type}`),
    );
    const staticRows = rows.filter((r) => r.tsx.status === 200 && STATIC_TYPE.test(r.tsx.type));
    expect(staticRows.length).toBeGreaterThanOrEqual(9);
    expect(staticRows.filter((r) => r.dist.digest !== r.tsx.digest).map((r) => r.path)).toEqual([]);
    expect(errorLines(dist!.output())).toEqual([]);
  });

  /** The image as an operator runs it (docs/operations.md, Docker): start → SMS at the gateway → check → token verified against the served JWKS. */
  async function productionFlow(postgres: boolean): Promise<void> {
    const sent: { to: string; body: string; verificationId: string }[] = [];
    const gateway = await startGateway((request, res) => {
      sent.push(JSON.parse(request.body) as { to: string; body: string; verificationId: string });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":"msg_1"}');
    });
    let database: TestDatabase | undefined;
    try {
      database = postgres ? await createTestDatabase() : undefined;
      // The runtime stage's ENV, then what an operator passes with -e (docs/operations.md, Docker); loopback and a free port for the test.
      const server = await startServer(
        {
          ...image.env,
          ...PRODUCTION_ENV,
          ...(database ? { DATABASE_URL: database.url } : {}),
          ADMIN_API_KEY: ADMIN,
          SMS_HTTP_URL: `${gateway.url}/send`,
          DATA_DIR: mkdtempSync(join(tmpdir(), 'otp-smoke-data-')),
          JWT_ISSUER: 'https://verify.example',
          HOST: '127.0.0.1',
          PORT: '0',
        },
        { compiledIn: image.dir },
      );
      started.push(server);
      expect(server.output()).toContain('"msg":"listening"');
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
      expect((await fetch(`${server.url}/dashboard`)).status).toBe(200);

      const headers = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
      const created = await fetch(`${server.url}/v1/admin/api-keys`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ app: 'acme', scopes: ['verify'] }),
      });
      expect(created.status).toBe(201);
      const { key } = (await created.json()) as { key: string };
      const appHeaders = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
      const start = await fetch(`${server.url}/v1/verifications`, {
        method: 'POST',
        headers: appHeaders,
        body: JSON.stringify({ to: '+33612345678' }),
      });
      expect(start.status).toBe(201);
      const { id } = (await start.json()) as { id: string };
      expect(sent).toEqual([expect.objectContaining({ to: '+33612345678', verificationId: id })]);
      const code = /(\d{6})/.exec(sent[0]!.body)?.[1] ?? '';
      expect(code).toMatch(/^\d{6}$/);

      const checked = await fetch(`${server.url}/v1/verifications/${id}/check`, {
        method: 'POST',
        headers: appHeaders,
        body: JSON.stringify({ code }),
      });
      expect(checked.status).toBe(200);
      const { token } = (await checked.json()) as { token: string };
      const { payload } = await jwtVerify(
        token,
        createRemoteJWKSet(new URL(`${server.url}/.well-known/jwks.json`)),
        { audience: 'acme', issuer: 'https://verify.example' },
      );
      expect(payload).toMatchObject({ sub: '+33612345678', jti: id });

      expect(await server.stop('SIGTERM')).toBe(0);
      expect(server.output()).toContain('"msg":"stopped"');
      expect(errorLines(server.output())).toEqual([]);
    } finally {
      await gateway.close();
      await database?.drop();
    }
  }

  it('with the production configuration on SQLite in DATA_DIR: start → SMS at the gateway → check → token verified against the served JWKS', () =>
    productionFlow(false));

  if (POSTGRES_SKIP_REASON)
    console.warn(`dist smoke on PostgreSQL skipped: ${POSTGRES_SKIP_REASON}`);
  it.skipIf(POSTGRES_SKIP_REASON !== undefined)(
    'with the production configuration on PostgreSQL (its migrations read from migrations/ beside dist/): the same flow',
    () => productionFlow(true),
  );
});
